"""What happened in a session, as values: one EventType per kind, one frozen SessionEvent.

The session logs events (Log actions) and the runner adds its own (a cue played, a session started
or ended, a cue skipped); each goes, as one SessionEvent, to every sink: the events file, the
history, the display, a demo's or benchmark's observer. The line format is in the README
(Sessions and safety)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class EventType(StrEnum):
    STATE = "state"  # the session's state changed
    CUE = "cue"  # a phrase began to play
    SKIPPED = "skipped"  # a phrase no longer fitted its breath phase: not said
    COMMAND = "command"  # a command was acted on
    PROOF = "proof"  # a safety word heard when asked for (it ends nothing)
    TEMPO = "tempo"  # the breath tempo changed
    LEVEL = "level"  # the output level changed (louder, quieter) or was remembered at the start
    HUSH = "hush"  # the person's voice began: the coach fell silent
    HUSH_OVER = "hush-over"  # it was no command: the coach carried on
    STARTED = "started"  # an exercise began (its routine id)
    ENDED = "ended"  # an exercise ended (reason, reps, suggestion)
    PROGRAM = "program"  # a program ended (what ran, what was left out)
    LEFT_OUT = "left-out"  # after pain, a program exercise skipped (the motions it shares)
    MIC_LOST = "mic-lost"  # the microphone went away or went dead
    MIC_BACK = "mic-back"  # and came back


@dataclass(frozen=True)
class SessionEvent:
    t: float  # session seconds (the audio clock)
    type: EventType
    detail: Mapping[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """The event as one line of the events file: {"t": ..., "type": ..., **detail}."""
        return {"t": self.t, "type": str(self.type), **self.detail}


class EventSink(Protocol):
    """Anything that takes a session's events as they happen."""

    def event(self, e: SessionEvent) -> None: ...
