"""The breath walk (coach/session/walk.py) on its own: beats started on the breath grid, reps
counted only when their phase is over, and where "resume" picks the breath up again."""

from __future__ import annotations

from coach.exercise.choreography import Section
from coach.exercise.routine import Phase, load_library
from coach.exercise.tempo import Tempo
from coach.session import walk
from coach.session.actions import Reps, Say
from coach.session.machine import Session
from coach.session.states import State

LIB = load_library()


def walking(reps: int = 2) -> Session:
    s = Session(LIB["trunk-rotation"], reps, Tempo(6), LIB, listen=False)
    s.state = State.BRIEFING  # (what start() and the briefing would leave behind)
    return s


def test_begin_says_the_first_cue_on_the_grid_now() -> None:
    s = walking()
    acts = walk.begin(s, 10.0)
    says = [a for a in acts if isinstance(a, Say)]
    assert len(says) == 1 and says[0].on_grid and says[0].cue is s._beats[0].cue
    assert s.state == State.POSITIONING and walk.current(s) is s._beats[0]
    assert s._next_at == 10.0 + s.tempo.phase_seconds(s._beats[0].phase)


def test_reps_count_only_once_their_phase_is_over() -> None:
    s = walking()
    walk.begin(s, 0.0)
    first_cycle = next(i for i, b in enumerate(s._beats) if b.section == Section.CYCLE and b.counts)
    t, reps = 0.0, []
    while s._i <= first_cycle:  # up to the start of the first beat that counts
        t = s._next_at or t
        reps += [a for a in walk.run(s, t) if isinstance(a, Reps)]
    assert reps == [] and s._cur == first_cycle  # under way, not counted
    reps = [a for a in walk.run(s, s._next_at or t) if isinstance(a, Reps)]
    counts = s._beats[first_cycle].counts
    assert counts is not None and reps == [Reps(counts.left, counts.right)]


def test_rewind_goes_back_to_the_interrupted_breaths_inhale() -> None:
    s = walking()
    walk.begin(s, 0.0)
    while s._cur is None or s._beats[s._cur].phase != Phase.EXHALE or s._beats[s._cur].cue is None:
        assert not s.done, "the routine has no exhale with a cue of its own"
        walk.run(s, s._next_at or 0.0)  # on to one
    exhale = s._cur
    walk.rewind(s, 100.0)
    assert s._i < exhale and s._beats[s._i].phase == Phase.INHALE and s._beats[s._i].cue
    assert s._cur is None and s._next_at == 100.0 + walk.RESUME_LEAD_S


def test_the_last_beat_ends_the_routine() -> None:
    s = walking(reps=1)
    walk.begin(s, 0.0)
    while not s.done:
        walk.run(s, s._next_at or 0.0)
    assert s.right + s.left > 0 and walk.current(s) is None
