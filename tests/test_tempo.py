"""Tempo steps and clamping, and the drift-free breath grid."""

from __future__ import annotations

import pytest

from coach.audio.format import RATE
from coach.errors import UsageError
from coach.exercise.routine import Phase
from coach.exercise.tempo import TEMPO_MAX, TEMPO_MIN, BreathGrid, Tempo


def test_default_is_six_breaths_four_in_six_out() -> None:
    t = Tempo()
    assert t.bpm == 6.0
    assert t.inhale_s == pytest.approx(4.0)
    assert t.exhale_s == pytest.approx(6.0)
    assert t.phase_seconds(Phase.INHALE) == pytest.approx(4.0)
    assert t.phase_seconds("exhale") == pytest.approx(6.0)


def test_slower_and_faster_step_by_one_and_clamp() -> None:
    t = Tempo(6)
    assert t.slower().bpm == 5 and t.faster().bpm == 7
    slowest = Tempo(TEMPO_MIN)
    assert slowest.slower() == slowest and slowest.at_slowest
    fastest = Tempo(TEMPO_MAX)
    assert fastest.faster() == fastest and fastest.at_fastest
    assert Tempo(3.5).slower().bpm == TEMPO_MIN
    # ratio stays 4:6 at any tempo
    assert Tempo(10).inhale_s / Tempo(10).exhale_s == pytest.approx(4 / 6)


@pytest.mark.parametrize("bpm", [0, 2.9, 10.5, -1])
def test_out_of_range_is_a_usage_error(bpm: float) -> None:
    with pytest.raises(UsageError, match="out of range"):
        Tempo(bpm)


def test_grid_never_drifts_over_twenty_minutes_at_an_awkward_tempo() -> None:
    t = Tempo(7)  # 60/7 s breaths: phases are not whole samples
    g = BreathGrid()
    phases = [Phase.INHALE, Phase.EXHALE] * 140  # 140 breaths = 20 minutes
    for p in phases:
        start, end = g.advance(p, t)
        assert end > start
    assert g.next_onset == 20 * 60 * RATE  # exactly, not a sample off


def test_grid_follows_tempo_changes_at_phase_boundaries() -> None:
    g = BreathGrid()
    assert g.advance(Phase.INHALE, Tempo(6)) == (0, 4 * RATE)
    assert g.advance(Phase.EXHALE, Tempo(6)) == (4 * RATE, 10 * RATE)
    s, e = g.advance(Phase.INHALE, Tempo(5))  # slower from the next breath: 4.8 s in
    assert (s, e) == (10 * RATE, round(14.8 * RATE))
