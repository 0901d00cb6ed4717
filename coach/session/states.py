"""The session's states, and what a person can say in each.

The state machine (coach/session/machine.py) moves between these; the listener is told which
intents count in the state it enters (EXPECT; stop and pain always count), and the coach is
hushed by the person's voice only in the states that allow it (HUSHABLE).
"""

from __future__ import annotations

from enum import StrEnum

from coach.intents import COMFORT_INTENTS, Intent


class AfterSpeech(StrEnum):
    """What the session does once the coach has stopped speaking."""

    LISTEN = "listen"  # start the listening window (the hearing check, the proof, an offer)
    EXERCISE = "exercise"  # begin the routine's beats


class State(StrEnum):
    CHECKING = "checking-mic"
    PROVING = "proving-words"  # first use of a microphone: the user says stop, then pain
    BRIEFING = "briefing"
    POSITIONING = "positioning"
    EXERCISING = "exercising"
    PAUSED = "paused"
    OFFERING = "offering"
    ENDED = "ended"
    RESTING = "resting"  # a program between two exercises (coach/session/program_session.py)
    GETTING_READY = "getting-ready"  # ... the next one needs another position: "say ready"


# where the user's voice hushes the coach; not while it gives the pain advice (which must be heard
# whole) or after the end
HUSHABLE = frozenset(
    {
        State.CHECKING,
        State.PROVING,
        State.BRIEFING,
        State.POSITIONING,
        State.EXERCISING,
        State.PAUSED,
        State.RESTING,
        State.GETTING_READY,
    }
)

# ... and where it also holds the coach between two lines: the voice began while it was silent, and
# a line due before the verdict on those words waits for it (a stop said between cues is never
# talked over). Not in the hearing check or the safety-word proof, whose prompts wait for an answer
# anyway, nor while paused (nothing is due)
HOLDS = frozenset(
    {State.BRIEFING, State.POSITIONING, State.EXERCISING, State.RESTING, State.GETTING_READY}
)

EXPECT: dict[State, frozenset[Intent]] = {
    State.CHECKING: frozenset({Intent.READY, Intent.REPEAT}),
    State.PROVING: frozenset({Intent.REPEAT}),  # stop and pain are its answers
    State.BRIEFING: frozenset({Intent.PAUSE, Intent.REPEAT}),
    State.POSITIONING: frozenset({Intent.SLOWER, Intent.FASTER, Intent.PAUSE, Intent.REPEAT}),
    State.EXERCISING: frozenset({Intent.SLOWER, Intent.FASTER, Intent.PAUSE, Intent.REPEAT}),
    State.PAUSED: frozenset({Intent.RESUME, Intent.READY, Intent.REPEAT}),
    State.OFFERING: frozenset({Intent.YES, Intent.NO, Intent.REPEAT}),
    State.ENDED: frozenset(),
    State.RESTING: frozenset({Intent.PAUSE, Intent.REPEAT}),
    State.GETTING_READY: frozenset({Intent.READY, Intent.REPEAT}),
}
# voice comfort (coach/session/comfort.py): louder, quieter, how many left, what's next; skip where
# there is something to move on to (not while paused: "resume" decides what happens then)
for _state in (State.POSITIONING, State.EXERCISING, State.PAUSED, State.RESTING,
               State.GETTING_READY):  # fmt: skip
    EXPECT[_state] |= COMFORT_INTENTS - ({Intent.SKIP} if _state == State.PAUSED else set())
