"""The keyword spotter on hand-made log-probability matrices: exact costs, times and pattern rules."""

from __future__ import annotations

import numpy as np
import pytest

from coach.listening.engines.phoneme_spotter import (
    FRAME_S,
    PatternError,
    Score,
    Spotter,
    near,
    parse_pattern,
    unbeaten,
)

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


def test_a_near_word_that_explains_the_audio_better_vetoes_the_command() -> None:
    """ "top" read by a graph that has "stop" and its competitor "top": the command must force its
    "s" on a blank frame, ln(0.9 / 0.0125) = ln 72 nats; the competitor costs nothing."""
    sp = _spotter(stop="s t ɑ p?", top="t ɑ p")
    scores = {s.key: s for s in sp.score(_frames("_", "t", "ɑ", "p", "_"))}
    assert scores["stop"].cost == pytest.approx(np.log(72), abs=1e-9)
    assert scores["top"].cost == pytest.approx(0.0, abs=1e-9)
    assert unbeaten(list(scores.values()), {"top"}, margin=0.0) == []
    assert unbeaten(list(scores.values()), {"top"}, margin=4.2) == []  # ln 72 = 4.28
    kept = unbeaten(list(scores.values()), {"top"}, margin=4.3)
    assert [s.key for s in kept] == ["stop"]  # not better by the margin: the command stands


def test_the_command_itself_is_not_vetoed_by_its_competitor() -> None:
    """ "stop": "top" explains all but the s, which it leaves to the garbage frames (2 nats of
    unexplained speech + 0 given up); the command explains it all."""
    sp = _spotter(stop="s t ɑ p?", top="t ɑ p")
    scores = sp.score(_frames("_", "s", "t", "ɑ", "p", "_"))
    costs = {s.key: s.cost for s in scores}
    assert costs["stop"] == pytest.approx(0.0, abs=1e-9)
    assert costs["top"] == pytest.approx(2.0, abs=1e-9)
    assert [s.key for s in unbeaten(scores, {"top"}, margin=0.0)] == ["stop"]


def test_a_competitor_vetoes_only_a_command_on_the_same_audio() -> None:
    stop = Score("stop", 3.0, 0.10, 0.40)
    now = Score("now", 0.5, 0.60, 0.90)  # later in the segment: "stop ... now"
    assert unbeaten([now, stop], {"now"}, 0.0) == [stop]
    overlapping = Score("now", 0.5, 0.35, 0.90)
    assert unbeaten([overlapping, stop], {"now"}, 0.0) == []
    assert unbeaten([overlapping, stop], {"now"}, 2.5) == []  # 0.5 + 2.5 <= 3.0: vetoed
    assert unbeaten([overlapping, stop], {"now"}, 2.5 + 1e-9) == [stop]
    # a margin of its own for one command (stop and pain keep a wider one: recall first)
    assert unbeaten([overlapping, stop], {"now"}, 0.0, {"stop": 3.0}) == [stop]
    assert unbeaten([overlapping, stop], {"now"}, 0.0, {"yes": 3.0}) == []


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


def test_near_is_one_slot_edit_and_an_optional_slot_is_free() -> None:
    stop = parse_pattern("s t ɑ|ɒ p?")
    for word in ("t ɑ p", "s t ɛ p", "s t ɑ k", "s t ɒ", "s p t ɑ p"):  # del, sub, sub, opt, ins
        assert near(stop, parse_pattern(word)), word
    for word in ("s ɛ", "t ɛ k", "b ɛ d"):
        assert not near(stop, parse_pattern(word)), word
    assert near(stop, parse_pattern("s ɛ"), edits=2)
