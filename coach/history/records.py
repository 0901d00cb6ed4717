"""What the history holds, as plain values: session and event records, UTC times.

Kept apart from the database code (coach/history/db.py) so that readers — the report, the export,
the chart — depend on the vocabulary, not on SQLite. The end reasons are the session's
(coach/outcomes.py); they are re-exported here because every record carries one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from coach.outcomes import EndReason


@dataclass(frozen=True)
class SessionRecord:
    id: int
    routine: str
    started: datetime  # aware, UTC
    ended: datetime | None
    end_reason: str | None
    reps_left: int
    reps_right: int
    reps_target: int | None
    tempo_start: float | None
    tempo_end: float | None
    engine: str | None
    voice: str | None
    program_run: int | None = None  # the program run this exercise belongs to

    @property
    def counts_for_dose(self) -> bool:
        """A session counts toward the day's dose if it completed or did at least one rep."""
        return self.end_reason == EndReason.COMPLETED or self.reps_left + self.reps_right > 0


@dataclass(frozen=True)
class ProgramRun:
    """One run of a program: its exercises in the order they began (each a SessionRecord with
    its own reps and end), how the run ended, and what a pain left out."""

    id: int
    program: str
    started: datetime  # aware, UTC
    ended: datetime | None
    end_reason: str | None
    left_out: tuple[str, ...]
    exercises: tuple[SessionRecord, ...]

    @property
    def counts_for_dose(self) -> bool:
        """A run counts toward the program's daily dose if it completed or any exercise did."""
        return self.end_reason == EndReason.COMPLETED or any(
            s.counts_for_dose for s in self.exercises
        )


@dataclass(frozen=True)
class EventRecord:
    session_id: int
    t: float
    wall: datetime
    type: str
    detail: dict[str, Any]


def utc_iso(d: datetime) -> str:
    return d.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(s: str) -> datetime:
    d = datetime.fromisoformat(s)
    return d if d.tzinfo else d.replace(tzinfo=UTC)
