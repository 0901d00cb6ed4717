"""The keyword spotter on hand-made log-probability matrices: exact costs, times and pattern rules."""

from __future__ import annotations

import numpy as np
import pytest

from coach.engines.phoneme_spotter import FRAME_S, PatternError, Spotter, parse_pattern

TOKENS = ["s", "t", "ɑ", "p", "b", "ɛ", "d", "<wb>", "<blank>"]
IDS = {t: i for i, t in enumerate(TOKENS)}
BLANK, WB = IDS["<blank>"], IDS["<wb>"]


def _frames(*tokens: str, sure: float = 0.9) -> np.ndarray:
    """One frame per token (`_` = blank): that token has probability `sure`, the rest share."""
    lp = np.full((len(tokens), len(TOKENS)), np.log((1 - sure) / (len(TOKENS) - 1)))
    for i, t in enumerate(tokens):
        lp[i, BLANK if t == "_" else IDS[t]] = np.log(sure)
    return lp


def _spotter(penalty: float = 2.0, **patterns: str) -> Spotter:
    return Spotter(
        {k: parse_pattern(v, TOKENS) for k, v in patterns.items()}, IDS, BLANK, WB, penalty
    )


def test_a_clean_reading_of_the_pattern_costs_nothing_and_is_timed() -> None:
    sp = _spotter(stop="s t ɑ p")
    (score,) = sp.score(_frames("_", "_", "s", "_", "t", "ɑ", "ɑ", "p", "_", "_"))
    assert score.cost == pytest.approx(0.0, abs=1e-9)
    assert score.start == pytest.approx(2 * FRAME_S)
    assert score.end == pytest.approx(8 * FRAME_S)  # the last frame the pattern explains is 7


def test_another_word_costs_what_forcing_the_pattern_gives_up() -> None:
    sp = _spotter(stop="s t ɑ p", bed="b ɛ d")
    bed = _frames("_", "b", "ɛ", "d", "_")
    scores = {s.key: s.cost for s in sp.score(bed)}
    assert scores["bed"] == pytest.approx(0.0, abs=1e-9)
    # "stop" must put 4 tokens on frames that say otherwise: far more than one nat each
    assert scores["stop"] > 4 * 1.0
    assert sp.score(bed)[0].key == "bed"  # cheapest first


def test_an_optional_slot_may_be_missing_but_a_required_one_may_not() -> None:
    sp = _spotter(stop="s t ɑ p?")
    (without_p,) = sp.score(_frames("_", "s", "t", "ɑ", "_"))
    assert without_p.cost == pytest.approx(0.0, abs=1e-9)
    strict = _spotter(stop="s t ɑ p")
    (forced,) = strict.score(_frames("_", "s", "t", "ɑ", "_"))
    assert forced.cost > 1.0


def test_alternatives_are_each_accepted() -> None:
    sp = _spotter(bad="b ɑ|ɛ d")
    for vowel in ("ɑ", "ɛ"):
        (s,) = sp.score(_frames("b", vowel, "d"))
        assert s.cost == pytest.approx(0.0, abs=1e-9)


def test_speech_outside_the_pattern_pays_the_extra_penalty_per_frame() -> None:
    bare = _frames("_", "s", "t", "ɑ", "p", "_")
    longer = _frames("_", "s", "t", "ɑ", "p", "_", "b", "ɛ", "d", "_")
    for penalty in (0.0, 2.0):
        sp = _spotter(penalty, stop="s t ɑ p")
        (a,) = sp.score(bare)
        (b,) = sp.score(longer)
        assert a.cost == pytest.approx(0.0, abs=1e-9)
        assert b.cost == pytest.approx(3 * penalty, abs=1e-6)  # b, ɛ, d left unexplained


def test_repeated_tokens_need_a_blank_between_them() -> None:
    sp = _spotter(tt="t t")
    (one,) = sp.score(_frames("_", "t", "t", "_"))  # CTC reads this as a single t
    (two,) = sp.score(_frames("t", "_", "t"))
    assert two.cost == pytest.approx(0.0, abs=1e-9)
    assert one.cost > 1.0


def test_an_empty_segment_matches_nothing() -> None:
    (s,) = _spotter(stop="s t ɑ p").score(np.zeros((0, len(TOKENS))))
    assert s.cost == float("inf")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no phonemes"),
        ("s t| p", "empty phoneme"),
        ("s? t?", "every phoneme is optional"),
        ("s t x", "unknown phoneme 'x'"),
    ],
)
def test_bad_patterns_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(PatternError, match=message):
        parse_pattern(text, TOKENS)
