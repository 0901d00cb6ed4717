"""What the history says: the sessions table, program runs, the streak, today's dose, pain reports, and the same
as JSON (for tools; the session records and CSV are coach/history/export.py). Pure functions over
History queries, so tests can give explicit dates; times are shown in the local time zone of
`History.now()`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from coach.errors import CoachError
from coach.history.db import History
from coach.history.export import session_to_dict
from coach.history.program_report import (
    program_library,
    program_lines,
    program_name,
    program_per_day,
    run_to_dict,
)
from coach.history.program_runs import program_runs
from coach.history.records import EndReason, EventRecord, ProgramRun, SessionRecord, utc_iso

DEFAULT_PER_DAY = 2  # the seed: "once or twice a day"
JSON_VERSION = 1
TAKEN_WITHIN = timedelta(minutes=15)  # a suggested exercise started this soon counts as taken


def _library() -> dict[str, Any]:
    try:
        from coach.exercise.routine import load_library

        return dict(load_library())
    except CoachError:  # a broken routine file must not stop the history from showing
        return {}


def per_day_for(routine: str, library: dict[str, Any] | None = None) -> int:
    """The routine's own dose (coach.exercise.routine per_day), or the seed's twice a day."""
    lib = _library() if library is None else library
    return lib[routine].per_day if routine in lib else DEFAULT_PER_DAY


def dose_words(per_day: int) -> str:
    return {1: "once a day", 2: "once or twice a day"}.get(per_day, f"up to {per_day} times a day")


def times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def routine_name(routine: str, library: dict[str, Any] | None = None) -> str:
    """The routine's own name ("Trunk rotation stretch"), or its id when it is not known."""
    lib = _library() if library is None else library
    return str(lib[routine].name) if routine in lib else routine


@dataclass(frozen=True)
class DoseLine:
    routine: str
    sessions: int
    per_day: int
    name: str = ""  # the routine's name, for the sentence (its id when unknown)

    def sentence(self) -> str:
        """Today's dose as a person says it: "Today: Trunk rotation stretch done twice, the full
        daily dose (once or twice a day): done for today." """
        name, usual, n = self.name or self.routine, dose_words(self.per_day), self.sessions
        if n == 0:
            return f"Today: {name} not done yet (the usual dose: {usual})."
        if n < self.per_day:
            return f"Today: {name} done {times(n)}; the usual dose is {usual}, so one more is fine."
        if n == self.per_day:
            return f"Today: {name} done {times(n)}, the full daily dose ({usual}): done for today."
        return (
            f"Today: {name} done {times(n)}, more than the usual {times(self.per_day)} a day; "
            "give your back a rest."
        )

    @property
    def status(self) -> str:
        if self.sessions == 0:
            return "none yet today"
        if self.sessions < self.per_day:
            return f"{self.sessions} of {self.per_day}: one more is fine"
        if self.sessions == self.per_day:
            return f"{self.sessions} of {self.per_day}: done for today"
        return f"{self.sessions}: more than {dose_words(self.per_day)}; give your back a rest"


@dataclass(frozen=True)
class PainReport:
    session_id: int
    routine: str
    when: datetime  # when the pain was reported (or the session ended by pain)
    t: float | None  # session seconds
    phrase: str | None
    suggestion: str | None
    taken: bool


@dataclass(frozen=True)
class Report:
    database: Path
    now: datetime
    days: int | None
    routine: str | None
    sessions: list[SessionRecord]
    pain_reports: list[PainReport]
    streak: int
    dose: list[DoseLine]
    unsided: frozenset[str] = frozenset()  # routines without sides: one rep count, not L/R
    programs: list[ProgramRun] = field(default_factory=list)  # runs in the window, oldest first
    program_dose: list[DoseLine] = field(default_factory=list)  # programs run today
    program_names: dict[str, Any] = field(default_factory=dict)  # the program library, by id

    def reps_text(self, s: SessionRecord) -> str:
        if s.routine in self.unsided:
            return str(max(s.reps_left, s.reps_right))
        return f"{s.reps_left}/{s.reps_right}"


def is_pain_event(e: EventRecord) -> bool:
    return e.type == "pain" or (e.type == "command" and e.detail.get("intent") == "pain")


def _pain_reports(h: History, sessions: list[SessionRecord]) -> list[PainReport]:
    out: list[PainReport] = []
    painful = h.pain_sessions()
    for i, s in enumerate(sessions):
        if s.id not in painful:
            continue
        events = h.events(s.id)
        pains = [e for e in events if is_pain_event(e)]
        if not pains and s.end_reason != EndReason.PAIN:
            continue
        suggestion = next(
            (str(e.detail["suggestion"]) for e in events if e.detail.get("suggestion")), None
        )
        started = {str(e.detail.get("routine")) for e in events if e.type == "started"}
        later = [
            x
            for x in sessions[i + 1 :]
            if s.ended is not None and timedelta(0) <= x.started - s.ended <= TAKEN_WITHIN
        ]
        if suggestion is None:  # not logged (the runner ends the record first): the
            # alternative that was started right after is the suggestion that was taken
            suggestion = next((x.routine for x in later if x.routine != s.routine), None)
        taken = suggestion is not None and (
            suggestion in started or any(x.routine == suggestion for x in later)
        )
        first = pains[0] if pains else None
        out.append(
            PainReport(
                session_id=s.id,
                routine=s.routine,
                when=first.wall if first else (s.ended or s.started),
                t=first.t if first else None,
                phrase=str(first.detail.get("phrase"))
                if first and "phrase" in first.detail
                else None,
                suggestion=suggestion,
                taken=taken,
            )
        )
    return out


def streak(days_done: set[date], today: date) -> int:
    """Consecutive days with a completed session, ending today (or yesterday, if today's session
    is still to come)."""
    d = today if today in days_done else today - timedelta(days=1)
    n = 0
    while d in days_done:
        n += 1
        d -= timedelta(days=1)
    return n


def _midnight(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def build_report(h: History, days: int | None = None, routine: str | None = None) -> Report:
    now = h.now()
    tz = now.tzinfo
    today = now.date()
    since = None
    if days is not None:
        since = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    sessions = h.sessions(routine=routine, since=since)
    everything = h.sessions(routine=routine)
    done_days = {
        s.started.astimezone(tz).date() for s in everything if s.end_reason == EndReason.COMPLETED
    }
    counts: dict[str, int] = {}
    for s in everything:
        if s.started.astimezone(tz).date() == today and s.counts_for_dose:
            counts[s.routine] = counts.get(s.routine, 0) + 1
    if routine is not None and routine not in counts:
        counts[routine] = 0
    lib = _library()
    dose = [
        DoseLine(r, n, per_day_for(r, lib), routine_name(r, lib)) for r, n in sorted(counts.items())
    ]
    runs = program_runs(h, since=since)
    if routine is not None:  # the runs that hold this routine
        runs = [run for run in runs if any(s.routine == routine for s in run.exercises)]
    progs = program_library()
    runs_today: dict[str, int] = {}
    for run in program_runs(h, since=_midnight(now)):
        if run.started.astimezone(tz).date() == today and run.counts_for_dose:
            runs_today[run.program] = runs_today.get(run.program, 0) + 1
    program_dose = [
        DoseLine(p, n, program_per_day(p, progs), program_name(p, progs))
        for p, n in sorted(runs_today.items())
    ]
    return Report(
        database=h.path,
        now=now,
        days=days,
        routine=routine,
        sessions=sessions,
        pain_reports=_pain_reports(h, sessions),
        streak=streak(done_days, today),
        dose=dose,
        unsided=frozenset(k for k, v in lib.items() if not v.sides),
        programs=runs,
        program_dose=program_dose,
        program_names=progs,
    )


# --- text --------------------------------------------------------------------------------------


def _clock(t: float | None) -> str:
    if t is None:
        return ""
    m, s = divmod(int(round(t)), 60)
    return f"{m}:{s:02d}"


def _tempo(s: SessionRecord) -> str:
    if s.tempo_start is None:
        return ""
    end = s.tempo_end if s.tempo_end is not None else s.tempo_start
    if end == s.tempo_start:
        return f"{s.tempo_start:g} bpm"
    return f"{s.tempo_start:g}→{end:g} bpm"


def format_table(r: Report) -> str:
    tz = r.now.tzinfo
    if not r.sessions:
        where = []
        if r.routine:
            where.append(f"of {r.routine}")
        if r.days:
            where.append(f"in the last {r.days} day{'s' if r.days != 1 else ''}")
        scope = " ".join(where)
        msg = f"No sessions {scope} yet." if scope else "No sessions yet: your history is empty."
        lines = [msg, "Start one with `coach run trunk-rotation`; it will show up here."]
    else:
        head = ("date", "time", "routine", "reps L/R", "ended", "tempo")
        rows = []
        for s in r.sessions:
            local = s.started.astimezone(tz)
            rows.append(
                (
                    local.strftime("%a %Y-%m-%d"),
                    local.strftime("%H:%M"),
                    s.routine,
                    r.reps_text(s),
                    s.end_reason or "in progress",
                    _tempo(s),
                )
            )
        widths = [max(len(x[i]) for x in (head, *rows)) for i in range(len(head))]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in (head, *rows)
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
    if r.programs:
        lines += ["", *program_lines(r.programs, tz, r.program_names, r.unsided)]
    lines.append("")
    if r.streak:
        lines.append(
            f"Streak: {r.streak} day{'s' if r.streak != 1 else ''} in a row with a "
            "completed session."
        )
    else:
        lines.append("Streak: none yet; complete a session today to start one.")
    lines.extend(d.sentence() for d in r.program_dose)
    if r.dose:
        lines.extend(d.sentence() for d in r.dose)
    else:
        lines.append(f"Today: no sessions yet (dose: {dose_words(DEFAULT_PER_DAY)}).")
    if r.pain_reports:
        lines.append("")
        lines.append(f"Pain reported ({len(r.pain_reports)}):")
        for p in r.pain_reports:
            what = f"  {p.when.astimezone(tz):%a %Y-%m-%d %H:%M}  {p.routine}"
            if p.t is not None:
                what += f" at {_clock(p.t)}"
            if p.phrase:
                what += f' ("{p.phrase}")'
            if p.suggestion:
                what += f"; suggested {p.suggestion}" + (" (taken)" if p.taken else " (not taken)")
            lines.append(what)
        lines.append(
            "  If pain is sharp, unusual or getting worse, speak to a physician or "
            "physical therapist."
        )
    return "\n".join(lines)


# --- JSON --------------------------------------------------------------------------------------


def to_json(r: Report) -> dict[str, Any]:
    """The documented `coach history --json` shape (README "History"). Stable: fields are only
    ever added; `version` changes if one is removed or changes meaning."""
    tz = r.now.tzinfo
    return {
        "format": "coach-history",
        "version": JSON_VERSION,
        "database": str(r.database),
        "generated": r.now.isoformat(timespec="seconds"),
        "days": r.days,
        "routine": r.routine,
        "streak_days": r.streak,
        "today": {
            "date": r.now.date().isoformat(),
            "dose": [
                {
                    "routine": d.routine,
                    "sessions": d.sessions,
                    "per_day": d.per_day,
                    "status": d.status,
                }
                for d in r.dose
            ],
            "program_dose": [
                {"program": d.routine, "runs": d.sessions, "per_day": d.per_day, "status": d.status}
                for d in r.program_dose
            ],
        },
        "programs": [run_to_dict(run, tz) for run in r.programs],
        "sessions": [
            {
                **session_to_dict(s),
                "local_start": s.started.astimezone(tz).isoformat(timespec="seconds"),
            }
            for s in r.sessions
        ],
        "pain_reports": [
            {
                "session_id": p.session_id,
                "routine": p.routine,
                "when": utc_iso(p.when),
                "t": p.t,
                "phrase": p.phrase,
                "suggestion": p.suggestion,
                "taken": p.taken,
            }
            for p in r.pain_reports
        ],
    }


def dumps_json(r: Report) -> str:
    return json.dumps(to_json(r), indent=2, ensure_ascii=False)
