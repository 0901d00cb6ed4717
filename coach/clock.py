"""Clocks. Timing code takes a Clock instead of calling time.monotonic(), so a 20-minute session
runs in a second in tests and on the file back end (where time is counted in audio samples)."""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the clock's origin."""
        ...


class ManualClock:
    """A clock that only moves when told to (unit tests)."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def now(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t += dt


class SampleClock:
    """Time as counted by an audio stream: samples exchanged / rate. Exact and drift-free."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.samples = 0

    def now(self) -> float:
        return self.samples / self.rate

    def advance_samples(self, n: int) -> None:
        self.samples += n
