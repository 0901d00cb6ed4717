"""The things a user can say to the coach. Phrases for each intent live in language packs
(coach/lang/*.toml); this enum is the contract between the listener and the session."""

from __future__ import annotations

from enum import StrEnum


class Intent(StrEnum):
    STOP = "stop"
    PAIN = "pain"
    SLOWER = "slower"
    FASTER = "faster"
    PAUSE = "pause"
    RESUME = "resume"
    REPEAT = "repeat"
    YES = "yes"
    NO = "no"
    READY = "ready"


# Heard in every state and never ignored: they pre-empt everything.
SAFETY_INTENTS = frozenset({Intent.STOP, Intent.PAIN})
