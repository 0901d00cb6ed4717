"""declip: a clipped segment's tops re-drawn before an engine reads it; an unclipped one untouched.

Real people's clips (tests/data/speech, CC-BY-4.0), driven 12 dB into the rail as a close-talk
microphone would (eval_commands.py --condition loud does the same to speech-v2, where the phoneme
engine alone went from 9 false commands of 121 to 1 with the repair: README "Listening")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coach.audio.format import read_wav
from coach.intents import Intent
from coach.listening.declip import PEAK, declip, on_rail
from coach.listening.engines.phoneme_engine import PhonemeEngine
from coach.listening.langpack import load_langpack
from coach.listening.listener import Listener
from tests.test_phoneme_engine import _hear


def _into_rail(x: np.ndarray, db: float) -> np.ndarray:
    return np.clip(x * (10 ** (db / 20) / np.abs(x).max()), -1.0, 1.0).astype(np.float32)


def _error(a: np.ndarray, ref: np.ndarray) -> float:
    """How far `a`'s waveform is from `ref`'s, both scaled to unit energy."""
    return float(np.linalg.norm(a / np.linalg.norm(a) - ref / np.linalg.norm(ref)))


def test_only_a_clipped_segment_is_on_the_rail(speech_dir: Path) -> None:
    for f in sorted((speech_dir / "stop").glob("*.wav")):
        x = read_wav(f)
        loud = (x * (0.9 / np.abs(x).max())).astype(np.float32)  # loud, not clipped
        assert on_rail(loud) is None, f.name
        assert declip(loud) is loud
        for db in (3.0, 12.0):
            rail = on_rail(_into_rail(x, db))
            assert rail is not None and rail.sum() >= 8, (f.name, db)
        assert on_rail(_into_rail(x, 12.0) * 0.1) is None  # a quiet signal is no rail
    room = (np.random.default_rng(0).standard_normal(16000) * 1e-3).astype(np.float32)
    assert on_rail(room) is None


def test_the_redrawn_tops_follow_the_real_waveform(speech_dir: Path) -> None:
    """Every human command clip driven into clipping: repaired, it comes out at PEAK, and nearer
    the waveform that was recorded than the clipped one — each clip 3 dB into the rail, most
    at 12 dB (measured 14 of 16; the error 0.39 -> 0.29 on average)."""
    files = [f for w in ("stop", "yes", "no") for f in sorted((speech_dir / w).glob("*.wav"))]
    nearer, before, after = 0, [], []
    for f in files:
        x = read_wav(f)
        light = _into_rail(x, 3.0)
        assert _error(declip(light), x) < _error(light, x), f.name
        cut = _into_rail(x, 12.0)
        fixed = declip(cut)
        assert fixed.dtype == np.float32 and np.all(np.isfinite(fixed)), f.name
        assert np.abs(fixed).max() == pytest.approx(PEAK, rel=1e-5), f.name
        before.append(_error(cut, x))
        after.append(_error(fixed, x))
        nearer += after[-1] < before[-1]
    assert nearer >= 12 and np.mean(after) < 0.85 * np.mean(before), (nearer, before, after)


def test_the_listener_hears_clipped_speech_as_well_with_the_repair(speech_dir: Path) -> None:
    """The 148 human clips 12 dB into clipping through the phoneme engine's listener, with and
    without the repair: it loses no command and adds no false one here (measured both ways: 15 of
    16 commands, 8 of 132 ordinary words, not the same 8). Its gain is on speech-v2 (README)."""
    pack = load_langpack("en")
    counts = []
    for repair in (True, False):
        lis = Listener(PhonemeEngine(pack), pack)
        lis.declip = repair
        lis.expect(set(Intent))
        heard = false = 0
        for label in ("stop", "yes", "no", "_none"):
            for f in sorted((speech_dir / label).glob("*.wav")):
                got = [d.intent.value for d in _hear(lis, _into_rail(read_wav(f), 12.0))]
                if label == "_none":
                    false += bool(got)
                else:
                    heard += got[:1] == [label]
        counts.append((heard, false))
    (heard, false), (heard_off, false_off) = counts
    assert heard >= heard_off and false <= false_off, counts
    assert heard >= 15, counts
