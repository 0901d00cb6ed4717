"""The listener on real audio: commands heard, expect() restricts, the coach never hears itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coach.audio.files import FileAudio
from coach.audio.format import BLOCK, RATE, read_wav
from coach.errors import CoachError
from coach.intents import Intent
from coach.listening.detection import Detection
from coach.listening.factory import make_listener
from coach.listening.listener import Listener

CUE = "Breathe out, and gently twist at the waist, letting your legs sink slightly to the right."


@pytest.fixture(scope="module")
def listener() -> Listener:
    return make_listener("pocketsphinx", "en")


def _feed(lis: Listener, x: np.ndarray, ref: np.ndarray | None = None) -> list[Detection]:
    noise = (np.random.default_rng(0).standard_normal(RATE // 2) * 1e-3).astype(np.float32)
    x = np.concatenate((noise, x, noise))
    x = np.pad(x, (0, -len(x) % BLOCK))
    out: list[Detection] = []
    for i in range(0, len(x), BLOCK):
        r = None if ref is None or i >= len(ref) else ref[i : i + BLOCK]
        out += lis.feed(x[i : i + BLOCK], ref=r)
    return out + lis.flush()


def test_detects_commands_with_times(listener: Listener, espeak, speech_dir: Path) -> None:
    listener.expect(set(Intent))
    listener.reset()
    dets = _feed(listener, read_wav(speech_dir / "stop" / "stop_1eddce1d_nohash_3.wav"))
    assert [d.intent for d in dets] == [Intent.STOP]
    assert 0.5 <= dets[0].start < dets[0].end <= 1.6  # 0.5 s of room noise first
    for text, intent in (("wait", Intent.PAUSE), ("resume", Intent.RESUME), ("sure", Intent.YES)):
        listener.reset()
        assert [d.intent for d in _feed(listener, read_wav(espeak(text)))] == [intent], text


def test_rejects_ordinary_words_and_sentences(listener: Listener, espeak, speech_dir: Path) -> None:
    listener.expect(set(Intent))
    files = sorted((speech_dir / "_none").glob("*.wav"))[5::13]  # 10 words
    false = []
    for f in files:
        listener.reset()
        false += [(f.name, d.phrase) for d in _feed(listener, read_wav(f))]
    for text in (
        "Breathe in. Knees to the ceiling.",
        "That was the last one. Rest with your feet flat.",
    ):
        listener.reset()
        false += [(text, d.phrase) for d in _feed(listener, read_wav(espeak(text)))]
    assert len(false) <= 1, false


def test_expect_restricts_but_safety_is_always_heard(listener: Listener, espeak) -> None:
    listener.expect({Intent.YES})
    try:
        assert Intent.STOP in listener.expected and Intent.PAUSE not in listener.expected
        listener.reset()
        assert all(d.intent is not Intent.PAUSE for d in _feed(listener, read_wav(espeak("wait"))))
        listener.reset()
        assert [d.intent for d in _feed(listener, read_wav(espeak("stop")))] == [Intent.STOP]
    finally:
        listener.expect(set(Intent))


def _through_room(
    lis: Listener,
    speaker: np.ndarray,
    user: np.ndarray | None,
    text: str | None,
    echo_gain: float = 0.5,
):
    io = FileAudio(None, None, echo_gain=echo_gain, echo_delay_s=0.05)
    io.open()
    lis.reset()
    lis.speaking(text)
    out = []
    speaker = np.pad(speaker, (0, -len(speaker) % BLOCK))
    for i in range(0, len(speaker), BLOCK):
        ref = speaker[i : i + BLOCK]
        mic = io.exchange(ref).copy()
        if user is not None:
            u = user[i : i + BLOCK]
            mic[: len(u)] += u
        out += lis.feed(mic, ref=ref)
    io.close()
    return out


def test_coach_does_not_hear_its_own_cue(listener: Listener, espeak) -> None:
    listener.expect(set(Intent))
    cue = read_wav(espeak(CUE))
    speaker = np.concatenate((cue, np.zeros(RATE, np.float32)))
    assert _through_room(listener, speaker, None, CUE) == []
    # the briefing says a command word on purpose: suppressed while the coach says it
    brief = "If anything hurts, say stop, or say pain, and I will stop at once."
    clip = np.concatenate((read_wav(espeak(brief)), np.zeros(RATE, np.float32)))
    assert _through_room(listener, clip, None, brief) == []


@pytest.mark.parametrize("echo_gain", [0.5, 0.0])  # 0: no echo path at all (virtual devices)
def test_stop_over_the_coach_speech_at_equal_level_is_heard(
    listener: Listener, speech_dir: Path, echo_gain: float
) -> None:
    listener.expect(set(Intent))
    from tests.conftest import espeak_wav

    cue = read_wav(espeak_wav(CUE))
    stop = read_wav(speech_dir / "stop" / "stop_563aa4e6_nohash_2.wav")
    speaker = np.concatenate((cue, np.zeros(RATE, np.float32)))
    loud = np.abs(stop) > 0.1 * np.abs(stop).max()
    echo_rms = np.sqrt(np.mean(np.square(0.5 * cue[np.abs(cue) > 0.01])))  # level of a 0.5 echo
    user = np.zeros(len(speaker), np.float32)
    at = int(1.2 * RATE)
    user[at : at + len(stop)] = stop * echo_rms / np.sqrt(np.mean(np.square(stop[loud])))
    dets = _through_room(listener, speaker, user, CUE, echo_gain)
    assert [d.intent for d in dets] == [Intent.STOP]
    assert 1.2 <= dets[0].start < dets[0].end <= 1.2 + len(stop) / RATE + 0.1


def test_make_listener_auto_picks_the_phoneme_cascade_without_an_english_vosk_model() -> None:
    lis = make_listener("auto", "en")
    assert lis.engine_name == "phonemes+whisper"
    assert make_listener("auto", "ko").engine_name != "phonemes+whisper"  # no phoneme patterns
    with pytest.raises(CoachError, match="unknown engine"):
        make_listener("julius", "en")
    with pytest.raises(CoachError, match="no vosk model for language 'en'"):
        make_listener("vosk", "en")


def _blocks_until_detection(lis: Listener, x: np.ndarray) -> tuple[int, int, list[Detection]]:
    """Feed 0.5 s of room, the clip, 1 s of room: (block of the word's end, block of the
    detection, detections)."""
    from coach.audio.levels import level_db

    noise = (np.random.default_rng(0).standard_normal(RATE) * 1e-3).astype(np.float32)
    x = np.concatenate((noise[: RATE // 2], x, noise))
    x = np.pad(x, (0, -len(x) % BLOCK))
    blocks = [x[i : i + BLOCK] for i in range(0, len(x), BLOCK)]
    loud = [i for i, b in enumerate(blocks) if level_db(b) > -45]
    got: list[Detection] = []
    at = -1
    for i, b in enumerate(blocks):
        d = lis.feed(b)
        if d and at < 0:
            at = i
        got += d
    return loud[-1], at, got


def test_stop_is_acted_on_at_the_first_pause_not_after_the_hangover(
    listener: Listener, speech_dir: Path
) -> None:
    """The early look: "stop" comes out ~60 ms into the quiet after the word (the hangover is
    160 ms), decoded once."""
    listener.expect(set(Intent))
    listener.reset()
    before = listener.segments
    word_end, at, got = _blocks_until_detection(
        listener, read_wav(speech_dir / "stop" / "stop_1eddce1d_nohash_3.wav")
    )
    assert [d.intent for d in got] == [Intent.STOP]
    quiet_blocks = at - word_end
    hang = round(listener.front.vad.config.hangover_s * RATE / BLOCK)
    assert 1 <= quiet_blocks < hang, (word_end, at)
    assert listener.segments - before <= 2  # a look per pause inside the word, never more


def test_other_commands_wait_for_the_end_of_the_segment(listener: Listener, espeak) -> None:
    """Only stop and pain act early; "wait" could still become "wait ... (more)"; decoded once."""
    listener.expect(set(Intent))
    listener.reset()
    before = listener.segments
    word_end, at, got = _blocks_until_detection(listener, read_wav(espeak("wait")))
    assert [d.intent for d in got] == [Intent.PAUSE]
    hang = round(listener.front.vad.config.hangover_s * RATE / BLOCK)
    assert at - word_end >= hang - 1, (word_end, at)
    assert listener.segments - before == 1


def test_words_after_the_pause_are_decoded_with_it(
    listener: Listener, espeak, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two words 100 ms apart (one segment): the look at the pause holds its verdict; when the
    second word comes, the WHOLE segment is decoded again (the real engine, watched)."""
    from coach.speech.trim import trim_silence

    listener.expect(set(Intent))
    a, b = (trim_silence(read_wav(espeak(w)), RATE) for w in ("slow", "down"))
    gap = (np.random.default_rng(1).standard_normal(round(0.1 * RATE)) * 1e-3).astype(np.float32)
    decoded: list[int] = []
    real = listener.engine.recognize

    def watch(audio: np.ndarray) -> list:
        decoded.append(len(audio))
        return real(audio)

    monkeypatch.setattr(listener.engine, "recognize", watch)
    listener.reset()
    _feed(listener, np.concatenate((a, gap, b)))
    assert len(decoded) == 2, decoded  # the look, then the whole segment
    assert decoded[1] > decoded[0] + len(b) - round(0.1 * RATE)  # ... with the second word


def test_a_segment_with_many_pauses_gives_one_stop(listener: Listener, espeak) -> None:
    """"stop ... stop ... stop" with short pauses is one segment: one stop, acted on at the
    first pause, none after it (a later look or the final decode must not repeat it)."""
    from coach.speech.trim import trim_silence

    listener.expect(set(Intent))
    w = trim_silence(read_wav(espeak("stop")), RATE)
    gap = (np.random.default_rng(2).standard_normal(round(0.1 * RATE)) * 1e-3).astype(np.float32)
    listener.reset()
    got = _feed(listener, np.concatenate((w, gap, w, gap, w)))
    assert [d.intent for d in got] == [Intent.STOP]
