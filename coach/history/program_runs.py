"""Program runs in the history: one row per run of a program; its exercises are the sessions that
point to it (`sessions.program_run`), each with its own reps and end.

A run is begun with its first exercise and ended by the session's `program` event (whatever the
ending: completed, stopped, pain, a signal). A run left open by a process that is gone is shown
as `interrupted` (and closed so by the next writable open, coach/history/db.py).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from coach.history.owners import owner_alive, process_identity
from coach.history.records import EndReason, ProgramRun, SessionRecord, parse_iso, utc_iso
from coach.history.schema import filters

if TYPE_CHECKING:
    from coach.history.db import History


def close_orphan_runs(c: sqlite3.Connection) -> None:
    """Runs left open by a process that is gone end as `interrupted`, with their last exercise."""
    for run, owner in c.execute("SELECT id, owner FROM programs WHERE ended IS NULL").fetchall():
        if not owner_alive(owner):
            c.execute(
                "UPDATE programs SET end_reason = ?, owner = NULL, ended = COALESCE((SELECT"
                " MAX(COALESCE(ended, started)) FROM sessions WHERE program_run = programs.id),"
                " started) WHERE id = ? AND ended IS NULL",
                (EndReason.INTERRUPTED.value, run),
            )


def runs_today(h: History, program: str) -> int:
    """Runs of `program` begun today (local day of `h.now()`) that count toward its dose."""
    now = h.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return sum(
        1
        for run in program_runs(h, program=program, since=midnight)
        if run.started.astimezone(now.tzinfo).date() == now.date() and run.counts_for_dose
    )


def start_program(h: History, program: str) -> int:
    cur = h.write(
        "INSERT INTO programs (program, started, owner) VALUES (?, ?, ?)",
        (program, utc_iso(h.now()), process_identity(os.getpid())),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def end_program(h: History, run: int, reason: str, left_out: Iterable[str] = ()) -> None:
    """The run's end (said again, e.g. a pain right after a stop: the later end stands)."""
    h.write(
        "UPDATE programs SET ended = ?, end_reason = ?, left_out = ?, owner = NULL WHERE id = ?",
        (utc_iso(h.now()), str(reason), json.dumps(list(left_out)), run),
    )


def program_runs(
    h: History, program: str | None = None, since: datetime | None = None
) -> list[ProgramRun]:
    """Program runs, oldest first, each with its exercises in the order they began."""
    if h.version < 3:  # an older file, read as it is: it has no program runs
        return []
    sql = "SELECT id, program, started, ended, end_reason, left_out, owner FROM programs WHERE 1=1"
    where, params = filters(("program = ?", program),
                            ("started >= ?", None if since is None else utc_iso(since)))  # fmt: skip
    rows = h.read(sql + where + " ORDER BY started, id", params)
    if not rows:
        return []
    by_run: dict[int, list[SessionRecord]] = {}
    first = min(parse_iso(r[2]) for r in rows)
    for s in h.sessions(since=first):
        if s.program_run is not None:
            by_run.setdefault(s.program_run, []).append(s)
    out = []
    for run, prog, started, ended, reason, left_out, owner in rows:
        if ended is None and not owner_alive(owner):
            reason = EndReason.INTERRUPTED.value  # cut off: what the next open records
        try:
            left = tuple(str(x) for x in json.loads(left_out))
        except (TypeError, ValueError):
            left = ()
        out.append(
            ProgramRun(
                run,
                prog,
                parse_iso(started),
                parse_iso(ended) if ended else None,
                reason,
                left,
                tuple(by_run.get(run, [])),
            )
        )
    return out
