"""Whisper's glance (listening/engines/whisper_glance.py) on real audio: the real tiny.en model, the human
Speech Commands clips of tests/data/speech. The glance may only narrow what Whisper does: every
command the full look hears still reaches it (or is answered at once), and most ordinary words
never cost the full look. Also the listener's one BLAS thread (listening/engines/blas.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.audio.format import read_wav
from coach.intents import SAFETY_INTENTS
from coach.listening.engines import blas
from coach.listening.engines.whisper_engine import WhisperEngine
from coach.listening.factory import make_listener
from coach.listening.langpack import load_langpack


def _engine(glance: bool) -> WhisperEngine:
    pack = load_langpack("en")
    eng = WhisperEngine("en", forced=list(pack.phrases(SAFETY_INTENTS)), glance=glance)
    eng.set_grammar(list(pack.phrases()))
    return eng


@pytest.fixture(scope="module")
def glancing() -> WhisperEngine:
    return _engine(True)


def _heard(eng: WhisperEngine, wav: Path) -> str | None:
    hyps = eng.recognize(read_wav(wav))
    if hyps:
        assert 0.0 <= hyps[0].confidence <= 1.0
    return hyps[0].phrase if hyps else None


def test_the_glance_passes_on_what_the_full_look_hears(
    glancing: WhisperEngine, speech_dir: Path
) -> None:
    """On the 16 human command clips: wherever Whisper's full look hears a command, the glance
    answers that stop at once or gives the clip the full look (all but one clip may differ:
    no single clip decides)."""
    full = _engine(False)
    assert full.glance is None and glancing.glance is not None
    clips = [f for d in ("stop", "yes", "no") for f in sorted((speech_dir / d).glob("*.wav"))]
    heard_full = {f.name: _heard(full, f) for f in clips}
    heard = {f.name: _heard(glancing, f) for f in clips}
    # the sets work: half the clips at least. The full look alone heard 12 on the machines this
    # was written on and 11 on CI's and another of 2026-12-03 (a clip at the forced floor flips
    # with the machine); what the test holds the glance to is the next line, not that count
    assert sum(v is not None for v in heard_full.values()) >= 8, heard_full
    lost = [n for n, v in heard_full.items() if v is not None and heard[n] != v]
    assert len(lost) <= 1, (lost, heard, heard_full)
    wrong = [n for n, v in heard.items() if v is not None and n.split("_")[0] != v.split()[0]]
    assert not wrong, wrong


def test_most_ordinary_words_never_cost_the_full_look(
    glancing: WhisperEngine, speech_dir: Path
) -> None:
    """The 132 human ordinary words: the glance answers most of them itself (no command) and
    takes none for a stop or pain at once; those it passes on get the full look as before."""
    g = glancing.glance
    assert g is not None
    before = (g.glances, g.escalated, g.accepted)
    clips = sorted((speech_dir / "_none").glob("*.wav"))
    false = [f.name for f in clips if _heard(glancing, f) is not None]
    looks, escalated, accepted = (g.glances - before[0], g.escalated - before[1],
                                  g.accepted - before[2])  # fmt: skip
    assert looks == len(clips) == 132
    assert accepted <= 1, accepted
    assert escalated <= 0.4 * looks, escalated  # (the cascade on the same set and its 19 commands: 10 of 151)
    assert len(false) <= 4, false  # the full look's own false commands among those passed on


def test_a_stop_answered_at_once_clears_the_cascades_floor(
    glancing: WhisperEngine, speech_dir: Path
) -> None:
    """A stop the glance answers itself carries a confidence on the full look's scale, so the
    cascade's floor for Whisper (the pack's 0.5) lets it through."""
    g = glancing.glance
    assert g is not None
    answered = []
    for f in sorted((speech_dir / "stop").glob("*.wav")):
        before = g.accepted
        hyps = glancing.recognize(read_wav(f))
        if g.accepted > before:
            answered.append(hyps[0].confidence)
    assert answered, "no human stop was clear enough for the glance (measured: 3 of 5)"
    assert min(answered) >= 0.5


def test_the_listener_runs_blas_on_one_thread() -> None:
    """The listener's small vectors: more OpenBLAS threads only spin (measured 4x the CPU)."""
    make_listener("phonemes")
    counts = blas.threads()
    assert counts and set(counts) == {1}, counts


def test_batches_score_every_phrase_as_one_batch_does(
    glancing: WhisperEngine, speech_dir: Path
) -> None:
    """The phrases are teacher-forced in batches of similar length (cheaper, README): every
    phrase is scored once, and its score is the one a single batch of all of them gives."""
    from coach.listening.engines import whisper_glance

    g = glancing.glance
    assert g is not None
    phrases = [p for p, _ in glancing._phrases]
    parts = whisper_glance._batches(phrases, g.forced_tokens, g.batch)
    assert sorted(p for part in parts for p in part) == sorted(phrases)
    assert max(len(part) for part in parts) <= g.batch == whisper_glance.BATCH < len(phrases)
    clip = glancing._lead_in(read_wav(sorted((speech_dir / "stop").glob("*.wav"))[0]))
    safety = list(glancing.forced)
    g.look(clip, phrases, safety, 1.0)
    batched = dict(g.last_scores)
    try:
        g.batch = len(phrases)  # one batch, the design before
        g.look(clip, phrases, safety, 1.0)
    finally:
        g.batch = whisper_glance.BATCH
    assert batched.keys() == g.last_scores.keys()
    assert all(abs(batched[p] - g.last_scores[p]) < 0.05 for p in phrases), (batched, g.last_scores)
    g.score_all = False  # only stop and pain (measured, not the default)
    try:
        g.look(clip, phrases, safety, 1.0)
        assert set(g.last_scores) == set(safety) & set(phrases)
    finally:
        g.score_all = True
