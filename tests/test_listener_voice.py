"""The listener's voice reports, which hush the coach before any verdict (session.voice_began):
an onset, then — while a slow decode of the words is still running — "the words are over, the
verdict is not in" (verdict=False), then the end with its verdict. Real clips, real engines;
the slow decode is the gated Whisper of test_cascade_engine (timing cannot be caused on cue)."""

from __future__ import annotations

import time
from pathlib import Path

from coach.audio.format import read_wav
from coach.listening.detection import VoiceActivity
from tests.test_cascade_engine import HeldWhisper, _background, _feed


def kinds(reports: list[VoiceActivity]) -> list[str]:
    return ["began" if v.began else "ended" if v.verdict else "quiet" for v in reports]


def test_words_over_while_their_decode_runs_are_told_apart_from_the_verdict(
    speech_dir: Path,
) -> None:
    held = HeldWhisper()
    lis = _background(held)
    bird = read_wav(speech_dir / "_none" / "bird_2f813234_nohash_1.wav")
    assert _feed(lis, bird) == []
    assert held.busy.wait(10) and not held.gate.is_set()  # Whisper holds the bird's segment
    before = lis.heard_voice()
    assert kinds(before) == ["began", "quiet"]  # told once, however long the decode takes
    assert before[1].at > before[0].at
    held.gate.set()
    after: list[VoiceActivity] = []
    deadline = time.monotonic() + 60
    while not after and time.monotonic() < deadline:  # the stream goes on (a quiet room)
        assert _feed(lis) == []  # the bird is no command ...
        after = lis.heard_voice()
    assert kinds(after) == ["ended"]  # ... and that is the verdict


def test_without_a_pending_decode_the_end_is_the_verdict(speech_dir: Path) -> None:
    from coach.listening.factory import make_listener

    lis = make_listener("phonemes")
    bird = read_wav(speech_dir / "_none" / "bird_2f813234_nohash_1.wav")
    assert _feed(lis, bird) == []
    assert kinds(lis.heard_voice()) == ["began", "ended"]


def test_a_long_s_hushes_before_the_vowel(speech_dir: Path) -> None:
    """A real "stop" whose "s" lasts ~200 ms (6a27a9bf): the voice is reported at its "s"
    (vad.sibilance), not 200 ms later at its vowel (vad.voicing)."""
    import numpy as np

    from coach.audio.format import BLOCK, RATE
    from coach.listening.factory import make_listener
    from coach.listening.front import VOICED
    from coach.listening.vad import voicing

    lis = make_listener("phonemes")
    x = read_wav(speech_dir / "stop" / "stop_6a27a9bf_nohash_0.wav")
    x = (x * (0.5 / float(np.abs(x).max()))).astype(np.float32)
    lead = RATE // 2  # room before the clip
    hop = RATE // 100
    e = np.sqrt(np.mean(x[: len(x) // hop * hop].reshape(-1, hop) ** 2, axis=1))
    start = int(np.argmax(e > e.max() / 10)) * hop
    vowel = next(i for i in range(start, len(x) - 640, hop) if voicing(x[i : i + 640]) >= VOICED)
    assert vowel - start > 0.15 * RATE  # the clip is what this test is about: a long "s"
    room = (10 ** (-55 / 20) * np.random.default_rng(0).standard_normal(lead)).astype(np.float32)
    stream = np.concatenate([room, x, room])
    told = None  # the stream position at which the listener reported the voice
    for i in range(0, len(stream) // BLOCK * BLOCK, BLOCK):
        lis.feed(stream[i : i + BLOCK])
        if told is None and any(v.began for v in lis.heard_voice()):
            told = i + BLOCK - lead
    assert told is not None, "no voice reported"
    assert told <= start + 0.1 * RATE, (told - start) / RATE  # at the "s" ...
    assert told < vowel - 0.1 * RATE  # ... well before the vowel
