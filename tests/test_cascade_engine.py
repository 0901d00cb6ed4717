"""The pocketsphinx+whisper cascade on real audio: the real bundled model, the real tiny.en model,
human Speech Commands clips. Recall first, without new false commands."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from coach.audio.format import BLOCK, RATE, read_wav
from coach.intents import SAFETY_INTENTS, Intent
from coach.listening.engines.base import Hypothesis
from coach.listening.engines.cascade_engine import CascadeEngine
from coach.listening.engines.pocketsphinx_engine import PocketsphinxEngine
from coach.listening.engines.whisper_engine import WhisperEngine
from coach.listening.factory import make_listener
from coach.listening.langpack import load_langpack
from coach.listening.listener import Listener
from tests.conftest import espeak_wav
from tests.test_threaded import HeldEngine


@pytest.fixture(scope="module")
def listener() -> Listener:
    return make_listener(engine="pocketsphinx+whisper")


def _hear(lis: Listener, clip: np.ndarray) -> list[Intent]:
    room = (10 ** (-55 / 20) * np.random.default_rng(0).standard_normal(RATE // 2)).astype(
        np.float32
    )
    x = np.concatenate((room, clip, room))
    lis.reset()
    got = []
    for i in range(0, len(x) // BLOCK * BLOCK, BLOCK):
        got += lis.feed(x[i : i + BLOCK])
    return [d.intent for d in got + lis.flush()]


def test_a_stop_the_bundled_model_misses_is_heard_by_the_second(
    listener: Listener, speech_dir: Path
) -> None:
    clip = read_wav(speech_dir / "stop" / "stop_51055bda_nohash_4.wav")
    eng = listener.engine
    assert isinstance(eng, CascadeEngine) and listener.engine_name == "pocketsphinx+whisper"
    alone = make_listener(engine="pocketsphinx")
    assert Intent.STOP not in _hear(alone, clip)  # the bundled model alone: missed
    before = eng.second_calls
    assert _hear(listener, clip) == [Intent.STOP]
    assert eng.second_calls > before


def test_the_fast_path_does_not_wait_for_the_second(listener: Listener, speech_dir: Path) -> None:
    eng = listener.engine
    assert isinstance(eng, CascadeEngine)
    before = eng.second_calls
    clip = read_wav(speech_dir / "stop" / "stop_6a27a9bf_nohash_0.wav")
    assert _hear(listener, clip) == [Intent.STOP]
    assert eng.second_calls == before  # pocketsphinx heard it: Whisper never ran


def test_asked_for_stop_and_pain_only_the_second_adds_no_other_command(speech_dir: Path) -> None:
    """others="fast": a human "no" the bundled model rejects: Whisper would say "no", but only
    stop/pain count from it; ordinary words stay ordinary."""
    listener = make_listener(engine="pocketsphinx+whisper", others="fast")
    eng = listener.engine
    assert isinstance(eng, CascadeEngine)
    before = eng.second_calls
    assert _hear(listener, read_wav(speech_dir / "no" / "no_2f813234_nohash_1.wav")) == []
    assert eng.second_calls > before  # it was asked ...
    assert "no" in eng.second.last_text.split()  # ... and heard "no", which does not count
    for name in ("bird_2f813234_nohash_1", "dog_62581901_nohash_0", "house_"):
        wavs = sorted((speech_dir / "_none").glob(f"{name}*.wav"))
        if wavs:
            assert _hear(listener, read_wav(wavs[0])) == [], wavs[0].name


def test_long_segments_are_not_looked_at_twice(listener: Listener) -> None:
    eng = listener.engine
    assert isinstance(eng, CascadeEngine)
    before = eng.second_calls
    noise = (0.05 * np.random.default_rng(1).standard_normal(3 * RATE)).astype(np.float32)
    assert eng.recognize(noise) == []
    assert eng.second_calls == before


def test_the_second_decides_the_other_intents_by_default(
    listener: Listener, speech_dir: Path
) -> None:
    """others="second" (the default): the "no" the bundled model rejects is Whisper's to hear, and
    ordinary words stay ordinary."""
    eng = listener.engine
    assert isinstance(eng, CascadeEngine) and eng.others == "second"
    listener.expect(set(Intent))
    assert _hear(listener, read_wav(speech_dir / "no" / "no_2f813234_nohash_1.wav")) == [Intent.NO]
    for name in ("bird_2f813234_nohash_1", "dog_62581901_nohash_0", "house_"):
        wavs = sorted((speech_dir / "_none").glob(f"{name}*.wav"))
        if wavs:
            assert _hear(listener, read_wav(wavs[0])) == [], wavs[0].name


class HeldWhisper(HeldEngine):
    """The real Whisper engine behind a gate (tests.test_threaded.HeldEngine)."""

    def __init__(self) -> None:
        super().__init__(WhisperEngine())


def _background(second: object) -> Listener:
    pack = load_langpack("en")
    safety = list(pack.phrases(SAFETY_INTENTS))
    eng = CascadeEngine(
        PocketsphinxEngine("en", recall_phrases=safety),
        second,  # type: ignore[arg-type]
        safety,
        0.5,
        others="second",
        background=True,
    )
    return Listener(eng, pack)


def _feed(lis: Listener, *clips: np.ndarray) -> list[Intent]:
    room = (10 ** (-55 / 20) * np.random.default_rng(0).standard_normal(RATE // 2)).astype(
        np.float32
    )
    parts = [room]
    for c in clips:
        parts += [c, room]
    x = np.concatenate(parts)
    got = []
    for i in range(0, len(x) // BLOCK * BLOCK, BLOCK):
        got += lis.feed(x[i : i + BLOCK])
    return [d.intent for d in got]


def test_a_whisper_decode_never_delays_the_next_stop(speech_dir: Path) -> None:
    held = HeldWhisper()
    lis = _background(held)
    bird = read_wav(speech_dir / "_none" / "bird_2f813234_nohash_1.wav")
    stop = read_wav(speech_dir / "stop" / "stop_6a27a9bf_nohash_0.wav")
    got = _feed(lis, bird, stop)
    assert held.busy.wait(10) and not held.gate.is_set()  # Whisper is still on the bird ...
    assert got == [Intent.STOP]  # ... and the stop was heard meanwhile
    held.gate.set()
    assert lis.flush() == []  # the bird stays a bird
    assert not lis._asked  # every deferred ask was answered; nothing else was recorded


def test_a_late_answer_is_judged_by_what_counted_when_it_was_asked(speech_dir: Path) -> None:
    held = HeldWhisper()
    lis = _background(held)
    lis.expect({Intent.READY})  # "no" does not count now
    assert _feed(lis, read_wav(speech_dir / "no" / "no_2f813234_nohash_1.wav")) == []
    assert held.busy.wait(10)
    lis.expect({Intent.YES, Intent.NO})  # it counts by the time Whisper answers ...
    held.gate.set()
    assert lis.flush() == []  # ... but the word was said when it did not
    lis.reset()
    assert _feed(lis, read_wav(speech_dir / "no" / "no_2f813234_nohash_1.wav")) + [
        d.intent for d in lis.flush()
    ] == [Intent.NO]


def test_a_stop_only_whisper_hears_comes_late_from_the_worker(speech_dir: Path) -> None:
    lis = _background(WhisperEngine())
    eng = lis.engine
    assert isinstance(eng, CascadeEngine)
    got = _feed(lis, read_wav(speech_dir / "stop" / "stop_51055bda_nohash_4.wav"))
    got += [d.intent for d in lis.flush()]
    assert got == [Intent.STOP] and eng.second_calls >= 1


class CrashingSecond:
    """A second engine that crashes: a fault that cannot be caused for real (said here)."""

    name, language = "crash", "en"

    def set_grammar(self, phrases: list[str]) -> None:
        pass

    def recognize(self, segment: np.ndarray) -> list[Hypothesis]:
        raise RuntimeError("decoder crashed")


def test_a_crash_on_the_worker_reaches_the_listener(speech_dir: Path) -> None:
    lis = _background(CrashingSecond())
    with pytest.raises(RuntimeError, match="decoder crashed"):
        _feed(lis, read_wav(speech_dir / "_none" / "bird_2f813234_nohash_1.wav"))
        lis.flush()


def test_live_whisper_loads_on_the_worker_and_answers_what_waited(speech_dir: Path) -> None:
    """Live (background) use: the listener is ready before Whisper is; a word said meanwhile
    waits in the worker's queue and is answered once the real model has loaded."""
    lis = make_listener("phonemes+whisper", background=True)
    eng = lis.engine
    assert isinstance(eng, CascadeEngine) and eng.name == "phonemes+whisper"
    assert eng.second is None  # still loading (it waits LOAD_AFTER_S first)
    lis.expect(set(Intent))
    no = read_wav(speech_dir / "no" / "no_2f813234_nohash_1.wav")
    bird = read_wav(speech_dir / "_none" / "bird_2f813234_nohash_1.wav")
    got = _feed(lis, bird) + [d.intent for d in lis.flush()]
    assert got == [] and eng.ready.wait(30) and isinstance(eng.second, WhisperEngine)
    lis.reset()
    assert _feed(lis, no) + [d.intent for d in lis.flush()] == [Intent.NO]
    lis.close()


def test_a_second_engine_that_cannot_load_leaves_the_fast_one(
    speech_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model that fails to load is caused by a loader that raises (removing the installed
    model under a running test suite is not an option): the fast engine keeps listening."""
    from coach.errors import ModelError
    from coach.listening.engines.phoneme_engine import PhonemeEngine

    def missing() -> WhisperEngine:
        raise ModelError("the Whisper model is missing")

    pack = load_langpack("en")
    safety = list(pack.phrases(SAFETY_INTENTS))
    eng = CascadeEngine(
        PhonemeEngine(pack), None, safety, 0.5, "both", True, load_second=missing,
        second_name="whisper",
    )  # fmt: skip
    lis = Listener(eng, pack)
    stop = read_wav(speech_dir / "stop" / "stop_1eddce1d_nohash_3.wav")
    assert _feed(lis, stop) == [Intent.STOP]  # the fast path never waits for the load
    assert eng.ready.wait(30)
    assert eng.load_error == "the Whisper model is missing" and eng.second is None
    assert "listening with phonemes alone" in capsys.readouterr().err
    lis.reset()
    assert _feed(lis, stop) + [d.intent for d in lis.flush()] == [Intent.STOP]
    lis.close()


STEP_VOICES = [("en-us", 160, 50), ("en-gb", 150, 40), ("en-us+f3", 170, 60), ("en-029", 140, 50)]


@pytest.fixture(scope="module")
def default() -> Listener:
    lis = make_listener("auto", "en")
    lis.expect(set(Intent))
    return lis


def test_a_gate_keeps_whisper_from_words_the_phonemes_find_nothing_like(
    default: Listener, speech_dir: Path
) -> None:
    """`gate` (measured, not the default: at 4 nats per phoneme it skipped a fifth of Whisper's
    looks at ordinary words but lost held-out espeak-ng "ouch", README): a segment in which
    every phrase costs the phoneme engine more is not looked at again; the human commands are
    all still heard."""
    eng = default.engine
    assert isinstance(eng, CascadeEngine) and eng.gate is None and eng.doubt == "keep"
    eng.gate = 4.0
    try:
        gated, calls = eng.gated, eng.second_calls
        for f in sorted((speech_dir / "_none").glob("*.wav"))[::6]:
            _hear(default, read_wav(f))
        assert eng.gated - gated >= 3 and eng.second_calls > calls
        for label in ("stop", "yes", "no"):
            for f in sorted((speech_dir / label).glob("*.wav")):
                assert _hear(default, read_wav(f)) == [Intent(label)], f.name
    finally:
        eng.gate = None


def test_a_stop_its_near_word_explains_better_can_be_put_to_whisper(default: Listener) -> None:
    """espeak-ng "step": the phoneme engine hears stop while "step" explains the audio better,
    by less than the 3-nat safety margin (contested). With doubt="veto" (measured, not the
    default: it lost real stops and "ouch", README) Whisper is asked and, reading " step." more
    readily than " stop.", drops it."""
    eng = default.engine
    assert isinstance(eng, CascadeEngine)
    steps = [read_wav(espeak_wav("step", *v)) for v in STEP_VOICES]
    kept = [_hear(default, x) for x in steps]
    assert sum(k == [Intent.STOP] for k in kept) >= 3, kept  # the default: the phonemes' stop
    eng.doubt = "veto"
    try:
        calls = eng.second_calls
        asked = [_hear(default, x) for x in steps]
    finally:
        eng.doubt = "keep"
    assert sum(Intent.STOP in a for a in asked) <= 1, asked
    assert eng.second_calls > calls


def test_a_contested_stop_is_kept_when_whisper_is_not_there(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Recall first: with no second opinion to ask (Whisper still loading, or failed to load) a
    contested stop is a stop, on the fast path."""
    from coach.errors import ModelError
    from coach.listening.engines.phoneme_engine import PhonemeEngine

    release = threading.Event()

    def missing() -> WhisperEngine:
        assert release.wait(60)
        raise ModelError("the Whisper model is missing")

    pack = load_langpack("en")
    safety = list(pack.phrases(SAFETY_INTENTS))
    eng = CascadeEngine(
        PhonemeEngine(pack), None, safety, 0.5, "both", True, load_second=missing,
        second_name="whisper", doubt="veto",
    )  # fmt: skip
    lis = Listener(eng, pack)
    steps = [read_wav(espeak_wav("step", *v)) for v in STEP_VOICES]
    loading = [_feed(lis, x) for x in steps]  # Whisper not loaded yet: never waited for
    assert sum(g == [Intent.STOP] for g in loading) >= 3, loading
    release.set()
    assert eng.ready.wait(30) and eng.second is None
    failed = [_feed(lis, x) for x in steps]
    assert failed == loading
    assert "listening with phonemes alone" in capsys.readouterr().err
    lis.close()
