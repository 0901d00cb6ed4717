"""How a session can end: the vocabulary the session decides with and the history records.

It sits beside `coach.intents` (what a person can say) at the bottom of the house, so the state
machine and the history both take it from here and neither imports the other.
"""

from __future__ import annotations

from enum import StrEnum


class EndReason(StrEnum):
    """Why a session ended; the values are what the history and the events file store."""

    COMPLETED = "completed"
    COMPLETED_EARLY = "completed-early"  # "skip": the person moved on before its last rep
    STOPPED = "stopped"
    PAIN = "pain"
    NO_RESPONSE = "no-response"
    FAULT = "fault"
    INTERRUPTED = "interrupted"
