"""The session script for trunk rotation, cue fitting, and the renderings list."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from coach.audio.format import RATE
from coach.exercise.choreography import (
    FIT_SPEEDS,
    Section,
    candidates,
    cue_seconds,
    fit,
    plan,
    renderings,
    script,
)
from coach.exercise.routine import Cue, Phase, get_routine
from coach.exercise.tempo import Tempo


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * RATE), np.float32)


def test_trunk_rotation_script_counts_reps_per_side_and_alternates() -> None:
    r = get_routine("trunk-rotation")
    beats = script(r, 7)
    counted = Counter(b.counts for b in beats if b.counts)
    assert counted == {"right": 7, "left": 7}
    # one phase per beat, strictly alternating inhale/exhale from the first
    assert [b.phase for b in beats] == [Phase.INHALE, Phase.EXHALE] * (len(beats) // 2)
    cycle = [b for b in beats if b.section == Section.CYCLE]
    assert len(cycle) == 7 * len(r.cycle)
    assert [b.rep for b in cycle[:: len(r.cycle)]] == list(range(1, 8))
    # right on an exhale of each rep, left on a later exhale
    for rep in range(1, 8):
        mine = [b for b in cycle if b.rep == rep]
        assert [b.counts for b in mine if b.counts] == ["right", "left"]
        assert all(b.phase == Phase.EXHALE for b in mine if b.counts)
        assert all(b.cue is not None for b in mine)


def test_intro_step_of_n_breaths_is_2n_phases_with_the_cue_on_the_first() -> None:
    r = get_routine("trunk-rotation")
    beats = script(r, 5)
    intro = [b for b in beats if b.section == Section.INTRO]
    assert len(intro) == sum(2 * s.breaths for s in r.intro)
    first = intro[: 2 * r.intro[0].breaths]
    assert first[0].cue == r.intro[0].cue and all(b.cue is None for b in first[1:])
    assert all(b.index == 0 and b.rep == 0 for b in first)
    outro = [b for b in beats if b.section == Section.OUTRO]
    assert len(outro) == sum(2 * s.breaths for s in r.outro)
    assert outro[0].cue == r.outro[0].cue
    # the intro cue may use the whole step: 2 breaths at 6/min = 20 s
    assert cue_seconds(beats, 0, Tempo(6)) == pytest.approx(20.0)
    assert cue_seconds(beats, len(intro), Tempo(6)) == pytest.approx(4.0)  # first cycle inhale


def test_fit_prefers_full_text_then_short_then_faster() -> None:
    cue = Cue("a long instruction", "short")
    clips = {
        ("a long instruction", 1.0): silence(5.0),
        ("short", 1.0): silence(3.0),
        ("short", 1.2): silence(2.5),
        ("short", 1.4): silence(2.1),
    }
    assert fit(cue, 6.0, clips).text == "a long instruction"
    f = fit(cue, 4.0, clips)
    assert (f.text, f.speed, f.fits) == ("short", 1.0, True)
    f = fit(cue, 2.9, clips)
    assert (f.text, f.speed) == ("short", 1.2)
    f = fit(cue, 2.5, clips)
    assert (f.text, f.speed) == ("short", 1.4)
    # nothing fits: the shortest plays whole (never truncated) and says it does not fit
    f = fit(cue, 1.0, clips)
    assert (f.text, f.speed, f.fits) == ("short", 1.4, False)
    assert len(f.clip) == len(clips[("short", 1.4)])


def test_fit_without_short_form_speeds_up_the_text() -> None:
    cue = Cue("only text")
    assert candidates(cue) == [("only text", s) for s in FIT_SPEEDS]
    clips = {("only text", s): silence(4.0 / s) for s in FIT_SPEEDS}
    assert fit(cue, 3.8, clips).speed == 1.2


def test_renderings_cover_every_candidate_once() -> None:
    r = get_routine("trunk-rotation")
    rs = renderings(r)
    assert len(rs) == len(set(rs))
    for cue in r.all_cues():
        assert set(candidates(cue)) <= set(rs)


def test_plan_puts_cues_on_the_grid_and_short_forms_at_fast_tempo() -> None:
    r = get_routine("trunk-rotation")
    # clips sized like speech: 0.06 s per character at speed 1
    clips = {(t, s): silence(len(t) * 0.06 / s) for t, s in renderings(r)}
    beats = script(r, 5)
    cues, phases, end = plan(beats, Tempo(10), clips)
    assert end == phases[-1][1] == round(len(beats) / 2 * 6.0 * RATE)
    assert [c.onset for c in cues] == [phases[c.beat][0] for c in cues]
    long_exhale = r.cycle[1].cue  # ~6.8 s at 0.06 s/char: far over a 3.6 s exhale
    chosen = {c.fitted.text for c in cues if beats[c.beat].cue == long_exhale}
    assert chosen == {long_exhale.short}
    assert all(c.fitted.fits for c in cues)
