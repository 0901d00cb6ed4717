"""The breathing tempo, and the breath grid that cue onsets are placed on.

A breath is an inhale (40 %) and an exhale (60 %): at the default 6 breaths/min that is 4 s in and
6 s out. *slower*/*faster* move the tempo by one clear step, clamped to a range that stays gentle.

`BreathGrid` turns a sequence of phase lengths (the tempo may change between phases) into sample
positions by rounding the *cumulative* time, never summing rounded lengths, so a 20-minute session
ends exactly where the plan says: no drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from coach.audio.format import RATE
from coach.errors import UsageError
from coach.exercise.routine import Phase

TEMPO_DEFAULT = 6.0  # breaths per minute
TEMPO_MIN = 3.0
TEMPO_MAX = 10.0
TEMPO_STEP = 1.0  # one *slower*/*faster*: a change the user can feel
INHALE_SHARE = 0.4  # inhale:exhale = 4:6


@dataclass(frozen=True)
class Tempo:
    """A breathing tempo in breaths per minute (TEMPO_MIN..TEMPO_MAX)."""

    bpm: float = TEMPO_DEFAULT

    def __post_init__(self) -> None:
        if not (TEMPO_MIN <= self.bpm <= TEMPO_MAX):
            raise UsageError(
                f"tempo {self.bpm:g} breaths/min is out of range "
                f"({TEMPO_MIN:g} to {TEMPO_MAX:g} breaths/min)"
            )

    @property
    def breath_s(self) -> float:
        return 60.0 / self.bpm

    @property
    def inhale_s(self) -> float:
        return self.breath_s * INHALE_SHARE

    @property
    def exhale_s(self) -> float:
        return self.breath_s * (1.0 - INHALE_SHARE)

    def phase_seconds(self, phase: Phase | str) -> float:
        return self.inhale_s if Phase(phase) == Phase.INHALE else self.exhale_s

    def phase_exact(self, phase: Phase | str) -> Fraction:
        """Phase length as an exact fraction of a second (for drift-free grids)."""
        breath = Fraction(60) / Fraction(self.bpm).limit_denominator(1000)
        share = Fraction(2, 5) if Phase(phase) == Phase.INHALE else Fraction(3, 5)
        return breath * share

    def slower(self) -> Tempo:
        """One step slower (fewer breaths per minute), clamped at TEMPO_MIN."""
        return Tempo(max(TEMPO_MIN, self.bpm - TEMPO_STEP))

    def faster(self) -> Tempo:
        """One step faster, clamped at TEMPO_MAX."""
        return Tempo(min(TEMPO_MAX, self.bpm + TEMPO_STEP))

    @property
    def at_slowest(self) -> bool:
        return self.bpm <= TEMPO_MIN

    @property
    def at_fastest(self) -> bool:
        return self.bpm >= TEMPO_MAX


class BreathGrid:
    """Planned phase onsets in samples. `advance(phase, tempo)` returns where the phase starts
    and moves past it; onsets are round(exact cumulative time * rate), so they never drift."""

    def __init__(self, rate: int = RATE, start_sample: int = 0) -> None:
        self.rate = rate
        self._origin = start_sample
        self._t = Fraction(0)  # exact seconds since the origin

    @property
    def next_onset(self) -> int:
        """Sample where the next phase will start."""
        return self._origin + round(self._t * self.rate)

    @property
    def seconds(self) -> float:
        return float(self._t)

    def advance(self, phase: Phase | str, tempo: Tempo) -> tuple[int, int]:
        """(start, end) samples of the next phase at `tempo`."""
        start = self.next_onset
        self._t += tempo.phase_exact(phase)
        return start, self.next_onset
