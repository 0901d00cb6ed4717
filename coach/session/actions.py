"""What the session asks the runner to do (its only output).

Small frozen values, so a test can compare a session's output with `==`, and the runner can
carry them out in order: Say (queue speech), Cancel (cut the player now), Hush / Unhush (fall silent
while the user speaks, then carry on), SetLevel (the output level), Expect (which intents count),
Log (an event), Reps,
Finish (a routine's session ends), Started (an alternative).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from coach.exercise.routine import Cue, Routine
from coach.intents import Intent
from coach.outcomes import EndReason
from coach.session.events import EventType


# --- actions -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Say:
    """Speak `text` (queued after what is playing). A breath cue carries `cue` and the `seconds`
    it may take, so the runner can fit it (full text, short form, faster rendering)."""

    text: str
    cue: Cue | None = None
    seconds: float | None = None
    gap_s: float = 0.0  # silence before it
    # session time by which it must have been said (the end of its breath phase, or the next
    # beat's start): a Say that no longer fits is shortened or skipped, never played late, and a
    # breath cue (`on_grid`) cuts whatever else still plays, so nothing shifts the breath grid
    until: float | None = None
    on_grid: bool = False
    # breath cues a Say that does not fit may wait behind for a gap (None: the runner's own
    # MAX_DEFERRALS); an answer to a question waits longer than an acknowledgement
    waits: int | None = None


@dataclass(frozen=True)
class Cancel:
    """Cut the player now (fade within one block) and drop its queue."""


@dataclass(frozen=True)
class Hush:
    """The user began to speak while the coach was: fade out within one block and hold what was
    playing or queued (it is said again from its start after an Unhush, where it still fits)."""


@dataclass(frozen=True)
class Unhush:
    """The user's words were not a command that ends or pauses: carry on with what was held.
    `replies` False: the replies it held (an answer the person talked over with a new request,
    which has its own) are dropped; the cues and the briefing's lines are said again."""

    replies: bool = True


@dataclass(frozen=True)
class SetLevel:
    """The coach's output level, dB against the voice profile's (coach/session/comfort.py): the
    player applies it from the next block on, so what follows is said at the new level."""

    db: float


@dataclass(frozen=True)
class Expect:
    """The intents that count now (the listener always hears stop and pain as well)."""

    intents: frozenset[Intent]


@dataclass(frozen=True)
class Log:
    """An event for the events file and history: state, command, tempo (see README)."""

    type: EventType
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reps:
    left: int
    right: int


@dataclass(frozen=True)
class Finish:
    """The current routine's session ends (recorded in history; `ended` event)."""

    reason: EndReason
    left: int
    right: int
    suggestion: str | None = None


@dataclass(frozen=True)
class Started:
    """A routine begins after another (an alternative, a program's next exercise): a new
    history session for `routine`; `detail` goes into its `started` event."""

    routine: Routine
    reps: int
    detail: dict[str, Any] = field(default_factory=dict)


Action = Say | Cancel | Hush | Unhush | SetLevel | Expect | Log | Reps | Finish | Started
