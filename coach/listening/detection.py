"""What the listener hands out — a command heard (Detection), the user's voice beginning or ending
(VoiceActivity) — and what the runner needs of a listener (Listens). Apart from listener.py so
the session side can read them without the listening machinery."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from coach.intents import Intent


@dataclass(frozen=True)
class Detection:
    intent: Intent
    phrase: str
    start: float  # seconds, listener sample count
    end: float
    confidence: float


@dataclass(frozen=True)
class VoiceActivity:
    """The user's voice began (`began`) or ended, at `at` seconds on the listener's sample count.
    What hushes the coach before any recognizer's verdict (session.voice_began)."""

    began: bool
    at: float
    # an end: the verdict is in (every decode of the words answered). False: the words have
    # ended but a decode is still running (a busy machine), so a stop may yet be in them
    verdict: bool = True
    seg: int = -1  # the VAD segment (its first sample) whose voice this is


class Listens(Protocol):
    """What the runner needs of a listener (Listener, or listening.threaded.ThreadedListener
    around one)."""

    engine_name: str

    def feed(self, mic: np.ndarray, ref: np.ndarray | None = None) -> list[Detection]: ...

    def heard_voice(self) -> list[VoiceActivity]: ...

    def expect(self, intents: set[Intent]) -> None: ...

    def speaking(self, text: str | None) -> None: ...

    def close(self) -> None: ...
