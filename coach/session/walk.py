"""The breath walk: a routine's beats (one per breath phase, coach/exercise/choreography.py) started
on the breath grid, the reps they complete counted, and where "resume" picks the breath up again.

Functions over the Session (coach/session/machine.py), as comfort.py is: they read and move its
walk (`_beats`; `_i`, the next beat; `_cur`, the one under way; `_next_at`, when the next starts)
and return actions, so the state stays in one place and the machine stays pure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coach.exercise.choreography import Beat, Section, cue_seconds, script
from coach.exercise.routine import Phase
from coach.session.actions import Action, Log, Reps
from coach.session.events import EventType
from coach.session.states import State

if TYPE_CHECKING:
    from coach.session.machine import Session

RESUME_LEAD_S = 1.2  # after "carrying on", time before the breath restarts


def begin(s: Session, now: float) -> list[Action]:
    """The routine's first beat now (its beats scripted on first use; kept across a pause)."""
    if not s._beats:
        s._beats = script(s.routine, s.reps)
        s._i, s._cur = 0, None
    s._next_at = now
    return run(s, now)


def run(s: Session, now: float) -> list[Action]:
    """Every beat due by `now`: the one before it completed, its cue said to fit its phases, a
    slower or faster tempo taken at an inhale; the routine's end after the last."""
    acts: list[Action] = []
    while s._next_at is not None and now >= s._next_at:
        if s._cur is not None:
            acts += _completed(s, s._beats[s._cur])
        if s._i >= len(s._beats):
            s._next_at = None
            return acts + s._routine_done(now)
        beat = s._beats[s._i]
        if beat.phase == Phase.INHALE and s._pending_tempo is not None:
            s.tempo, s._pending_tempo = s._pending_tempo, None
            acts.append(Log(EventType.TEMPO, {"bpm": s.tempo.bpm}))
        state = State.POSITIONING if beat.section == Section.INTRO else State.EXERCISING
        acts += s._enter(state)
        s._resume_state = state
        if beat.cue is not None:
            secs = cue_seconds(s._beats, s._i, s.tempo)
            start = s._next_at
            acts += s._say(beat.cue.text, beat.cue, secs, until=start + secs, on_grid=True)
        s._cur = s._i
        s._i += 1
        s._next_at += s.tempo.phase_seconds(beat.phase)
    return acts


def _completed(s: Session, beat: Beat) -> list[Action]:
    """A beat's phase is over: the reps it completes count (only then: a stop mid-phase does not)."""
    if beat.counts is None:
        return []
    s.right += beat.counts.right
    s.left += beat.counts.left
    return [Reps(s.left, s.right)]


def rewind(s: Session, now: float) -> None:
    """After a pause: the interrupted breath again from its inhale (or a cue-less breath's
    instruction), RESUME_LEAD_S from now."""
    i = s._i - 1 if s._cur is not None else s._i
    while i > 0 and s._beats[i].phase != Phase.INHALE:
        i -= 1
    while i > 0 and s._beats[i].cue is None:
        i -= 1
    s._i, s._cur, s._next_at = max(0, i), None, now + RESUME_LEAD_S


def current(s: Session) -> Beat | None:
    """The beat (breath phase) under way, for the display; None outside the exercise."""
    if s._cur is None or s.state not in (State.POSITIONING, State.EXERCISING):
        return None
    return s._beats[s._cur]
