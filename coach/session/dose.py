"""The daily dose check: how many sessions of a routine (or runs of a program) were done today,
against its `per_day`.

Kept behind this small interface so the session does not depend on how history stores things;
`coach.history.db.History.sessions_today` is the source (completed sessions, or ones with reps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from coach.exercise.program import Program
from coach.exercise.routine import Routine


class SessionCounter(Protocol):
    def sessions_today(self, routine: str) -> int: ...


class ProgramCounter(Protocol):
    def programs_today(self, program: str) -> int: ...


@dataclass(frozen=True)
class Dose:
    routine_id: str
    routine_name: str
    done_today: int
    per_day: int

    @property
    def over(self) -> bool:
        """True when this session would go past the routine's daily dose."""
        return self.done_today >= self.per_day

    @property
    def warning(self) -> str | None:
        """What the coach says (and prints) before an extra session; None when within the dose."""
        if not self.over:
            return None
        return (
            f"This is session {self.done_today + 1} of {self.routine_name} today. "
            f"The usual dose is {self.per_day} a day, so take it easy, and rest if your back feels tired."
        )


def check_dose(routine: Routine, counter: SessionCounter | None) -> Dose:
    """The dose for starting `routine` now; with no history (counter None) nothing is counted."""
    done = counter.sessions_today(routine.id) if counter is not None else 0
    return Dose(routine.id, routine.name, done, routine.per_day)


def check_program_dose(program: Program, counter: ProgramCounter | None) -> Dose:
    """The dose for starting a run of `program` now (runs today that count, against its
    `per_day`); with no history nothing is counted."""
    done = counter.programs_today(program.id) if counter is not None else 0
    return Dose(program.id, program.name, done, program.per_day)
