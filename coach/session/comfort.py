"""Voice comfort (issue #16 item 3): louder, quieter, how many left, skip, what's next.

Why: lying on the floor, a person cannot reach the volume knob or the keyboard. These are heard
while exercising, resting, getting ready and paused (session.states.EXPECT) and answered in words that
hold no command word (the cue hygiene rule), every one of them rendered before the first word
(`texts`, `program_texts`: the phrasebook adds them).

Pure, like the session it serves: each handler reads the session's state and returns actions.
The output level is an action (SetLevel) the runner applies to the player, before the
acknowledgement, so "Turning it up." is heard at the new level; the level per voice profile is
remembered by coach/app/output_level.py. The sides of the built-in routines alternate within every
rep, so "skip" moves on to what follows the exercise: the next exercise of a program (after its
rest), or, in a single routine, the end (recorded `completed-early`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from coach.exercise.choreography import Section
from coach.exercise.program import after_text, coming_text
from coach.exercise.spoken import number_words
from coach.intents import COMFORT_INTENTS
from coach.session.actions import Action, Log, SetLevel
from coach.session.events import EventType

if TYPE_CHECKING:
    from coach.exercise.program import Program
    from coach.exercise.routine import Routine
    from coach.session.machine import Session

INTENTS = COMFORT_INTENTS

# The output level, dB against the voice profile's own (0). Steps of 4 dB: a change a listener
# notices at once. Down to -16 dB (a fortieth of the power: still above a quiet room from a
# speaker nearby; lower, a whispered cue could be lost, and with it the breath); up to +8 dB,
# which the player reaches through a soft limiter so peaks never clip (rendered speech peaks at
# 0.5-0.7 of full scale: +8 dB would clip it by 2-5 dB). README "Voice comfort".
LEVEL_STEP_DB = 4.0
LEVEL_MIN_DB = -16.0
LEVEL_MAX_DB = 8.0

LOUDER_OK = "Turning it up."
QUIETER_OK = "Turning it down."
LOUDER_LIMIT = "As high as I go."
QUIETER_LIMIT = "As soft as I go."
SKIP_ON = "Moving on."
SKIP_END = "Ending early. Rest and breathe easily."
LAST_EXERCISE = "This is the last exercise."
ALL_DONE = "All done."
# An answer fits a gap between two breath cues (the grid never moves for it) or waits for one
# behind up to this many cues (a rep of a two-sided routine), where an acknowledgement waits
# behind two: short answers, since at 10 breaths/min a gap can be 1.5 s (README)
ANSWER_WAITS = 4
FIXED = (LOUDER_OK, QUIETER_OK, LOUDER_LIMIT, QUIETER_LIMIT, SKIP_ON, SKIP_END, LAST_EXERCISE,
         ALL_DONE)  # fmt: skip
# acknowledgements, not instructions: "repeat" says the last instruction, not these
NOT_REPEATED = frozenset({LOUDER_OK, QUIETER_OK, LOUDER_LIMIT, QUIETER_LIMIT})


# --- the level ----------------------------------------------------------------------------------
def clamp_level(db: float) -> float:
    """A level within the limits, on the step grid (a remembered level from an older limit)."""
    steps = round(db / LEVEL_STEP_DB)
    return max(LEVEL_MIN_DB, min(LEVEL_MAX_DB, steps * LEVEL_STEP_DB))


def step_level(db: float, up: bool) -> float | None:
    """One step louder or quieter; None at the limit."""
    new = clamp_level(db + (LEVEL_STEP_DB if up else -LEVEL_STEP_DB))
    return None if new == clamp_level(db) else new


# --- what is said -------------------------------------------------------------------------------
def reps_text(sided: bool, left: int | None, reps: int) -> str:
    """The reps still to do on the side under way or coming (the one under way counts): short,
    to fit a gap in the breath grid; or, `left` None, before the first rep, all of them."""
    n = number_words(reps if left is None else left).capitalize()
    if left is None:
        return f"{n} on each side." if sided else f"{n} in all."
    if left <= 0:
        return ALL_DONE
    return "Last one." if left == 1 else f"{n} more."


def exercises_text(n: int, between: bool) -> str:
    """The program's exercises still to come: after the one under way, or (`between`: resting,
    getting ready) from the one coming up."""
    if between:
        return "One more exercise." if n == 1 else f"{number_words(n).capitalize()} more exercises."
    if n <= 0:
        return LAST_EXERCISE
    return "Then one more exercise." if n == 1 else f"Then {number_words(n)} more exercises."


def texts(routines: Iterable[Routine]) -> list[str]:
    """Every answer a session of these routines may give (a program's exercises: program_texts)."""
    out: dict[str, None] = dict.fromkeys(FIXED)
    for r in routines:
        sided = len(r.sides) > 0
        for reps in range(r.reps_min, r.reps_max + 1):
            out.setdefault(reps_text(sided, None, reps))
        for left in range(r.reps_max + 1):
            out.setdefault(reps_text(sided, left, r.reps_max))
    return list(out)


def program_texts(program: Program) -> list[str]:
    """The answers only a program gives: exercises left, and what comes after each."""
    n = len(program.exercises)
    out = [exercises_text(k, between) for k in range(n) for between in (False, True) if k or
           not between]  # fmt: skip
    for e in program.exercises:
        out += [after_text(e.routine), coming_text(e.routine)]
    return list(dict.fromkeys(out))


# --- the handlers (session.machine.Session's _on_louder ... call these) ----------------------------------
def on_level(s: Session, up: bool) -> list[Action]:
    new = step_level(s.level_db, up)
    if new is None:
        return s._say(LOUDER_LIMIT if up else QUIETER_LIMIT, until=s._next_at)
    s.level_db = new
    acts: list[Action] = [SetLevel(new), Log(EventType.LEVEL, {"db": new})]
    return acts + s._say(LOUDER_OK if up else QUIETER_OK, until=s._next_at)


def reps_left(s: Session) -> int | None:
    """Reps still to do on the side under way or coming (the one under way counts); None
    before the first rep."""
    beats = s._beats
    at = s._cur if s._cur is not None else s._i
    counting = [b for b in beats[at:] if b.counts]
    begun = s.left + s.right > 0 or (at < len(beats) and beats[at].section == Section.CYCLE)
    if not begun:
        return None
    if not counting:
        return 0
    side = counting[0].counts
    done = s.left if side == "left" else s.right
    return s.reps - done


def on_remaining(s: Session) -> list[Action]:
    acts: list[Action] = []
    if s._in_exercise():
        acts += _answer(s, reps_text(bool(s.routine.sides), reps_left(s), s.reps))
    left = s._exercises_left()
    if left is not None:
        acts += _answer(s, exercises_text(*left))
    return acts


def on_upcoming(s: Session) -> list[Action]:
    nxt = s._upcoming()
    if nxt is None:
        return _answer(s, LAST_EXERCISE)
    r, between = nxt
    return _answer(s, coming_text(r) if between else after_text(r))


def _answer(s: Session, text: str) -> list[Action]:
    """Said in the next gap of the breath grid that holds it (ANSWER_WAITS)."""
    return s._say(text, until=s._next_at, waits=ANSWER_WAITS)
