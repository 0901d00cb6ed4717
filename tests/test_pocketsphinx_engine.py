"""pocketsphinx engine on real audio: commands found, ordinary words and sentences rejected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coach.audio.format import read_wav
from coach.errors import ModelError
from coach.listening.engines.pocketsphinx_engine import PocketsphinxEngine, garbage_words
from coach.listening.langpack import load_langpack

GOOD_STOPS = ("1eddce1d_nohash_3", "439c84f4_nohash_1", "563aa4e6_nohash_2", "6a27a9bf_nohash_0")


@pytest.fixture(scope="module")
def engine() -> PocketsphinxEngine:
    pack = load_langpack("en")
    e = PocketsphinxEngine("en", recall_phrases=list(pack.phrases({"stop", "pain"})))
    e.set_grammar(list(pack.phrases()))
    return e


def _room(x: np.ndarray) -> np.ndarray:
    noise = np.random.default_rng(0).standard_normal(4800).astype(np.float32) * 1e-3
    return np.concatenate((noise, x, noise))


def test_human_stop_is_recognized(engine: PocketsphinxEngine, speech_dir: Path) -> None:
    got = [
        engine.recognize(_room(read_wav(speech_dir / "stop" / f"stop_{s}.wav"))) for s in GOOD_STOPS
    ]
    phrases = [h[0].phrase if h else None for h in got]
    assert sum(p in ("stop", "stop it") for p in phrases) >= 3, phrases
    h = next(h[0] for h in got if h)
    assert 0 <= h.start < h.end <= 1.6 and 0 <= h.confidence <= 1


def test_human_ordinary_words_are_rejected(engine: PocketsphinxEngine, speech_dir: Path) -> None:
    files = sorted((speech_dir / "_none").glob("*.wav"))[::11]  # 12 words, many speakers
    heard = {f.name: engine.recognize(_room(read_wav(f))) for f in files}
    false = {k: v[0].phrase for k, v in heard.items() if v}
    assert len(false) <= 1, false


def test_cue_sentences_are_rejected(engine: PocketsphinxEngine, espeak) -> None:
    for text in ("Breathe in. Knees to the ceiling.", "Bend your knees and put your feet flat."):
        assert engine.recognize(_room(read_wav(espeak(text)))) == [], text


def test_grammar_restricts_to_given_phrases(engine: PocketsphinxEngine, espeak) -> None:
    clip = _room(read_wav(espeak("resume")))
    assert [h.phrase for h in engine.recognize(clip)] == ["resume"]
    engine.set_grammar(["stop", "pain", "yes"])
    try:
        assert all(h.phrase in ("stop", "pain", "yes") for h in engine.recognize(clip))
    finally:
        engine.set_grammar(list(load_langpack("en").phrases()))


def test_garbage_keeps_away_from_command_words() -> None:
    from coach.listening.engines.pocketsphinx_engine import dictionary, model_dir

    pron = dictionary(model_dir() / "cmudict-en-us.dict")
    g = garbage_words(pron, {"stop", "yes"}, 300, recall_words={"stop"})
    assert len(g) == 300 and "stop" not in g and "top" not in g and "stops" not in g
    assert "stock" not in g  # within 2 phones of a safety word


def test_unknown_word_and_language_are_clear_errors() -> None:
    with pytest.raises(ModelError, match="only US English"):
        PocketsphinxEngine("ko")
    with pytest.raises(ModelError, match="does not know 'zzqxv'"):
        PocketsphinxEngine("en").set_grammar(["stop", "zzqxv"])
