"""The history database: every session and its events, written as they happen, never lost.

One SQLite file (coach.paths.db_path()), WAL mode, each write committed at once, so a crash or
`kill -9` mid-session leaves a readable database; the next open closes such a session as
`interrupted` (if the process that owned it is gone). The schema is versioned with
`PRAGMA user_version` and migrated on open. A file that is not ours, is corrupt, or comes from a
newer coach is never touched: the user is told the path and what to do. Times are stored as UTC
ISO-8601 and shown in local time (coach/history/report.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from coach import paths
from coach.errors import HistoryError
from coach.history.explain import BUSY_TIMEOUT_S, explain
from coach.history.owners import owner_alive, process_identity
from coach.history.program_runs import close_orphan_runs
from coach.history.records import EndReason, EventRecord, SessionRecord, parse_iso, utc_iso
from coach.history.schema import MIGRATIONS, OUR_TABLES, SCHEMA_VERSION, SQLITE_MAGIC, filters


def _local_now() -> datetime:
    return datetime.now().astimezone()


class History:
    """The coach's memory. Open it, write as the session goes, close it (or use `with`).

    `now` returns the current time as an aware datetime (tests inject a fixed clock).
    `create=False` opens only an existing database (for reports: no file is made just to look).
    `readonly=True` opens an existing database for reading only (SQLite `mode=ro`), as reports do
    when the file or its folder is not writable (`History.for_reading`): nothing is migrated,
    checkpointed or closed as interrupted, and any write is a HistoryError.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        now: Callable[[], datetime] | None = None,
        create: bool = True,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        readonly: bool = False,
    ) -> None:
        self.path = Path(path).expanduser() if path is not None else paths.db_path()
        self.now = now or _local_now
        self.readonly = readonly
        self._orphans: set[int] = set()  # read-only: sessions shown as interrupted
        self.version = SCHEMA_VERSION  # the file's schema (an older one when opened read-only)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._opened = False  # checks and migrations passed: only then may close() checkpoint
        self._check_file(create and not readonly)
        if readonly:
            self._open_readonly(busy_timeout_s)
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise HistoryError(
                f"cannot create the folder for the history database {self.path}: {e.strerror or e}",
                hint="choose another place with --db or COACH_DB",
            ) from None
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            self._open()
            self._opened = True
        except sqlite3.Error as e:
            self.close()
            raise explain(e, self.path) from None
        except HistoryError:
            self.close()
            raise

    @classmethod
    def for_reading(
        cls, path: Path | str | None = None, now: Callable[[], datetime] | None = None
    ) -> History:
        """An existing database, for a report: read-only when the file or its folder cannot be
        written (a read-only mount, a backup, another user's data folder), else as usual (which
        also closes a crashed session as interrupted)."""
        p = Path(path).expanduser() if path is not None else paths.db_path()
        writable = os.access(p, os.W_OK) and os.access(p.parent, os.W_OK)
        return cls(p, now=now, create=False, readonly=not writable)

    # --- opening -------------------------------------------------------------------------------

    def _open_readonly(self, busy_timeout_s: float) -> None:
        """`mode=ro`; SQLite still needs to create the WAL index (`-shm`) next to the file, so in
        a folder it cannot write, a database without a write-ahead log is opened `immutable`
        (nothing can change it there). A left-over log (a crashed session) is read with
        `mode=ro` or not at all: `immutable` would silently ignore what it holds."""
        from urllib.parse import quote

        base = "file:" + quote(str(self.path.resolve())) + "?mode=ro"
        wal = self.path.with_name(self.path.name + "-wal")
        tries = [base] + ([] if wal.exists() and wal.stat().st_size else [base + "&immutable=1"])
        last: sqlite3.Error | None = None
        for uri in tries:
            try:
                self._conn = sqlite3.connect(
                    uri, uri=True, timeout=busy_timeout_s, check_same_thread=False
                )
                version, _tables = self._check_schema(readonly=True)
                self.version = version  # not migrated: what a reader may ask of it
                self._orphans = self._find_orphans(version)
                return
            except sqlite3.Error as e:
                last = e
                self.close()
            except HistoryError:
                self.close()
                raise
        assert last is not None
        if wal.exists():
            raise HistoryError(
                f"cannot read the history database {self.path}: it is read-only and a session "
                "left unsaved changes in its write-ahead log, which can only be read where the "
                "folder is writable",
                hint="copy the folder (all history.sqlite3* files) somewhere writable and use "
                "--db on the copy",
            ) from None
        raise explain(last, self.path) from None

    def _find_orphans(self, version: int) -> set[int]:
        """Running sessions whose process is gone: read-only, they cannot be closed, so readers
        are shown them as `interrupted` (what the next writable open will record)."""
        owner = "owner" if version >= 2 else "NULL"
        rows = self._db.execute(f"SELECT id, {owner} FROM sessions WHERE ended IS NULL").fetchall()
        return {sid for sid, who in rows if not owner_alive(who)}

    def _check_schema(self, readonly: bool = False) -> tuple[int, set[str]]:
        c = self._db
        version = c.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"history database {self.path} has schema version {version}, newer than this "
                f"coach knows ({SCHEMA_VERSION})",
                hint="update coach; the file was left untouched",
            )
        if (version == 0 and tables) or (version > 0 and not tables >= OUR_TABLES):
            raise HistoryError(
                f"{self.path} is an SQLite database, but not a coach history "
                f"(it has tables {', '.join(sorted(tables))})",
                hint="it was left untouched; choose another file with --db or COACH_DB",
            )
        if readonly and not tables:
            raise HistoryError(
                f"history database {self.path} is empty and read-only: nothing to show",
                hint="run a session with a writable --db or COACH_DB first",
            )
        return version, tables

    def _check_file(self, create: bool) -> None:
        """Refuse anything that is not an SQLite file before SQLite touches it."""
        p = self.path
        if p.is_dir():
            raise HistoryError(f"{p} is a folder, not a history database", hint="give a file path")
        if not p.exists():
            if not create:
                raise HistoryError(f"no history database at {p} yet", hint="run a session first")
            return
        try:
            with p.open("rb") as f:
                head = f.read(len(SQLITE_MAGIC))
        except OSError as e:
            raise HistoryError(f"cannot read the history database {p}: {e.strerror or e}") from None
        if head and head != SQLITE_MAGIC:
            raise explain(sqlite3.DatabaseError("file is not a database"), p)

    def _open(self) -> None:
        c = self._db
        version, _tables = self._check_schema()
        c.execute("PRAGMA foreign_keys = ON")
        if c.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise HistoryError(f"history database {self.path}: cannot switch to WAL mode")
        # NORMAL in WAL: every commit survives a crash or kill -9 of the coach; a power cut may
        # lose the last few commits but never corrupts the file. Keeps a write well under 1 ms.
        c.execute("PRAGMA synchronous = NORMAL")
        # No automatic checkpoint in the middle of a session (it fsyncs: a 10-20 ms stall between
        # audio blocks); close() checkpoints instead.
        c.execute("PRAGMA wal_autocheckpoint = 0")
        if version < SCHEMA_VERSION:
            self._migrate(version)
        self.version = SCHEMA_VERSION
        self._close_orphans()

    def _migrate(self, version: int) -> None:
        c = self._db
        c.execute("BEGIN IMMEDIATE")
        try:
            now_version = c.execute("PRAGMA user_version").fetchone()[0]  # another process won?
            for i in range(now_version, SCHEMA_VERSION):
                for stmt in MIGRATIONS[i].split(";"):
                    if stmt.strip():
                        c.execute(stmt)
            c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def _close_orphans(self) -> None:
        """Sessions left running by a process that is gone end as `interrupted`, at their last
        event (or their start if they logged none)."""
        c = self._db
        close_orphan_runs(c)
        rows = c.execute("SELECT id, owner FROM sessions WHERE ended IS NULL").fetchall()
        for sid, owner in rows:
            if owner_alive(owner):
                continue
            c.execute(
                "UPDATE sessions SET end_reason = ?, owner = NULL, ended = COALESCE("
                "(SELECT MAX(wall) FROM events WHERE session_id = sessions.id), started) "
                "WHERE id = ? AND ended IS NULL",
                (EndReason.INTERRUPTED.value, sid),
            )

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise HistoryError("the history database is closed")
        return self._conn

    # --- writing (each call is committed at once) -----------------------------------------------

    def write(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
        """One statement, committed at once (for this package's modules: program_runs)."""
        with self._lock:
            try:
                return self._db.execute(sql, params)
            except sqlite3.Error as e:
                raise explain(e, self.path) from None

    def start_session(
        self,
        routine: str,
        tempo_bpm: float,
        engine: str,
        voice: str,
        reps_target: int,
        program_run: int | None = None,
    ) -> int:
        cur = self.write(
            "INSERT INTO sessions (routine, started, reps_target, tempo_start, tempo_end, engine,"
            " voice, owner, program_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                routine,
                utc_iso(self.now()),
                reps_target,
                tempo_bpm,
                tempo_bpm,
                engine,
                voice,
                process_identity(os.getpid()),
                program_run,
            ),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def log_event(self, session_id: int, t: float, type: str, detail: dict[str, Any]) -> None:
        try:
            text = json.dumps(detail, ensure_ascii=False, default=str)
        except (TypeError, ValueError) as e:
            raise HistoryError(f"event {type!r} has a detail that is not JSON: {e}") from None
        self.write(
            "INSERT INTO events (session_id, t, wall, type, detail) VALUES (?, ?, ?, ?, ?)",
            (session_id, float(t), utc_iso(self.now()), type, text),
        )

    def set_reps(self, session_id: int, left: int, right: int) -> None:
        self.write(
            "UPDATE sessions SET reps_left = ?, reps_right = ? WHERE id = ?",
            (left, right, session_id),
        )

    def end_session(
        self, session_id: int, reason: str, left: int, right: int, tempo_bpm: float
    ) -> None:
        self.write(
            "UPDATE sessions SET ended = ?, end_reason = ?, reps_left = ?, reps_right = ?,"
            " tempo_end = ?, owner = NULL WHERE id = ?",
            (utc_iso(self.now()), str(reason), left, right, tempo_bpm, session_id),
        )

    def _checkpoint(self) -> None:
        """Fold the write-ahead log into the database file; best effort (busy is fine)."""
        with self._lock, contextlib.suppress(sqlite3.Error, HistoryError):
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    # --- reading -----------------------------------------------------------------------------

    def programs_today(self, program: str) -> int:
        """Runs of `program` begun today (local day of `now`) that count toward its dose."""
        from coach.history.program_runs import runs_today

        return runs_today(self, program)

    def sessions_today(self, routine: str) -> int:
        """Sessions of `routine` done today (local day of `now`) that count toward the dose:
        completed, or at least one rep."""
        today = self.now().date()
        tz = self.now().tzinfo
        return sum(
            1
            for s in self.sessions(routine=routine, since=_day_start_utc(self.now()))
            if s.started.astimezone(tz).date() == today and s.counts_for_dose
        )

    def pain_sessions(self) -> set[int]:
        """Ids of sessions that ended by pain or logged a pain report (`pain` event, or a
        `command` event whose intent is pain)."""
        rows = self.read(
            "SELECT id FROM sessions WHERE end_reason = 'pain' UNION SELECT session_id FROM events"
            " WHERE type = 'pain' OR (type = 'command' AND json_valid(detail)"
            " AND json_extract(detail, '$.intent') = 'pain')",
            (),
        )
        return {r[0] for r in rows}

    def routines(self) -> set[str]:
        """Every routine id with at least one session."""
        return {r[0] for r in self.read("SELECT DISTINCT routine FROM sessions", ())}

    def sessions(
        self, routine: str | None = None, since: datetime | None = None
    ) -> list[SessionRecord]:
        """Sessions, oldest first; `since` is an aware datetime."""
        sql = (
            "SELECT id, routine, started, ended, end_reason, reps_left, reps_right, reps_target,"
            " tempo_start, tempo_end, engine, voice,"
            f" {'program_run' if self.version >= 3 else 'NULL'} FROM sessions WHERE 1=1"
        )
        where, params = filters(("routine = ?", routine),
                                ("started >= ?", None if since is None else utc_iso(since)))  # fmt: skip
        rows = self.read(sql + where + " ORDER BY started, id", params)
        out = [
            SessionRecord(r[0], r[1], parse_iso(r[2]), parse_iso(r[3]) if r[3] else None, *r[4:])
            for r in rows
        ]
        if self._orphans:
            out = [
                dataclasses.replace(s, end_reason=EndReason.INTERRUPTED.value)
                if s.id in self._orphans
                else s
                for s in out
            ]
        return out

    def events(self, session_id: int | None = None, type: str | None = None) -> list[EventRecord]:
        sql = "SELECT session_id, t, wall, type, detail FROM events WHERE 1=1"
        where, params = filters(("session_id = ?", session_id), ("type = ?", type))
        rows = self.read(sql + where + " ORDER BY session_id, t, id", params)
        out = []
        for sid, t, wall, typ, detail in rows:
            try:
                d = json.loads(detail)
            except ValueError:
                d = {"raw": detail}
            out.append(EventRecord(sid, t, parse_iso(wall), typ, d if isinstance(d, dict) else {}))
        return out

    def read(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """One query's rows (for this package's modules: program_runs)."""
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as e:
                raise explain(e, self.path) from None

    # --- closing -----------------------------------------------------------------------------

    def close(self) -> None:
        if self._conn is not None and self._opened:
            self._checkpoint()
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None

    def __enter__(self) -> History:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _day_start_utc(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)
