"""The pocketsphinx+whisper cascade on real audio: the real bundled model, the real tiny.en model,
human Speech Commands clips. Recall first, without new false commands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coach.audio_format import BLOCK, RATE, read_wav
from coach.engines.cascade_engine import CascadeEngine
from coach.intents import Intent
from coach.listener import Listener, make_listener


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


def test_the_second_adds_no_other_command(listener: Listener, speech_dir: Path) -> None:
    """A human "no" the bundled model rejects: Whisper would say "no", but only stop/pain count
    from it; ordinary words stay ordinary."""
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
