"""The listener's voice reports, which hush the coach before any verdict (session.voice_began):
an onset, then — while a slow decode of the words is still running — "the words are over, the
verdict is not in" (verdict=False), then the end with its verdict. Real clips, real engines;
the slow decode is the gated Whisper of test_cascade_engine (timing cannot be caused on cue)."""

from __future__ import annotations

import time
from pathlib import Path

from coach.audio_format import read_wav
from coach.listener import VoiceActivity
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
    from coach.listener import make_listener

    lis = make_listener("phonemes")
    bird = read_wav(speech_dir / "_none" / "bird_2f813234_nohash_1.wav")
    assert _feed(lis, bird) == []
    assert kinds(lis.heard_voice()) == ["began", "ended"]
