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
    # voice comfort (issue #16 item 3; coach/session/comfort.py): heard while exercising
    LOUDER = "louder"
    QUIETER = "quieter"
    REMAINING = "remaining"  # how many left
    SKIP = "skip"
    UPCOMING = "upcoming"  # what's next


# Heard in every state and never ignored: they pre-empt everything.
SAFETY_INTENTS = frozenset({Intent.STOP, Intent.PAIN})
# Heard while exercising, resting, getting ready and paused (coach/session/comfort.py).
COMFORT_INTENTS = frozenset(
    {Intent.LOUDER, Intent.QUIETER, Intent.REMAINING, Intent.SKIP, Intent.UPCOMING}
)
