"""Program runs in `coach history`: each run with its exercises in order (reps, how each ended),
what a pain left out and how the run ended; today's runs against the program's daily dose.
The sessions table and the rest of the report are coach/history/report.py."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from coach.errors import CoachError
from coach.history.export import session_to_dict
from coach.history.records import ProgramRun, SessionRecord, utc_iso

DEFAULT_PER_DAY = 2  # a program file without per_day (coach/exercise/program.py)


def program_library() -> dict[str, Any]:
    """The programs that load, by id (empty when the routines cannot be read: the history must
    still show)."""
    try:
        from coach.exercise.program import load_programs

        return dict(load_programs())
    except CoachError:
        return {}


def program_name(pid: str, programs: dict[str, Any]) -> str:
    return str(programs[pid].name) if pid in programs else pid


def program_per_day(pid: str, programs: dict[str, Any]) -> int:
    return int(programs[pid].per_day) if pid in programs else DEFAULT_PER_DAY


def _reps(s: SessionRecord, unsided: frozenset[str]) -> str:
    return str(max(s.reps_left, s.reps_right)) if s.routine in unsided else f"{s.reps_left}/{s.reps_right}"


def program_lines(
    runs: list[ProgramRun], tz: tzinfo | None, programs: dict[str, Any], unsided: frozenset[str]
) -> list[str]:
    """The "Programs:" block of the table: a line per run, an indented line per exercise."""
    if not runs:
        return []
    lines = ["Programs:"]
    for run in runs:
        local = run.started.astimezone(tz)
        lines.append(
            f"  {local.strftime('%a %Y-%m-%d %H:%M')}  {program_name(run.program, programs)}"
            f" ({run.program}): {run.end_reason or 'in progress'}"
        )
        for i, s in enumerate(run.exercises, 1):
            ended = s.end_reason or "in progress"
            lines.append(f"      {i}. {s.routine}  reps {_reps(s, unsided)}  {ended}")
        if run.left_out:
            lines.append(f"      left out after pain: {', '.join(run.left_out)}")
    return lines


def run_to_dict(run: ProgramRun, tz: tzinfo | None) -> dict[str, Any]:
    return {
        "id": run.id,
        "program": run.program,
        "started": utc_iso(run.started),
        "local_start": run.started.astimezone(tz).isoformat(timespec="seconds"),
        "ended": utc_iso(run.ended) if run.ended else None,
        "end_reason": run.end_reason,
        "left_out": list(run.left_out),
        "exercises": [session_to_dict(s) for s in run.exercises],
    }
