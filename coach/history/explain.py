"""What an SQLite error means for the person: what happened to their history, and what to do.

By the primary result code where sqlite3 gives one (Python 3.11: `sqlite_errorcode`), else by
the message; the database itself is never touched here.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from coach.errors import HistoryError

BUSY_TIMEOUT_S = 3.0  # how long a write waits for another process holding the database


def explain(e: sqlite3.Error, path: Path) -> HistoryError:
    """Turn an sqlite3 error into a message that says what happened and what to do."""
    code = (getattr(e, "sqlite_errorcode", 0) or 0) & 0xFF  # the primary result code
    text = str(e).lower()
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in text or "busy" in text:
        return HistoryError(
            f"history database {path} is locked by another program (waited {BUSY_TIMEOUT_S:.0f} s)",
            hint="close the other coach (or sqlite tool) using it, then try again",
        )
    if code == sqlite3.SQLITE_FULL or "disk is full" in text:
        return HistoryError(
            f"cannot write the history database {path}: the disk is full",
            hint="free some space on that disk, or move the database with COACH_DB / --db",
        )
    if code == sqlite3.SQLITE_READONLY or "readonly" in text or "read-only" in text:
        return HistoryError(
            f"cannot write the history database {path}: it is read-only",
            hint="check the permissions of the file and its folder, or use COACH_DB / --db",
        )
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or "not a database" in text or "malformed" in text:
        return HistoryError(
            f"{path} is not a readable coach history database (corrupt or another kind of file)",
            hint=f"it was left untouched; move it aside (e.g. mv {path} {path}.broken) "
            "and the coach will start a new history",
        )
    if code == sqlite3.SQLITE_CANTOPEN or "unable to open" in text:
        return HistoryError(
            f"cannot open the history database {path}",
            hint="check that its folder exists and is writable, or choose another with --db",
        )
    if code == sqlite3.SQLITE_IOERR or "i/o error" in text:
        return HistoryError(
            f"cannot write the history database {path}: the disk refused the write ({e})",
            hint="check free space and file size limits on that disk, or use COACH_DB / --db",
        )
    if code == sqlite3.SQLITE_CONSTRAINT and "foreign key" in text:
        return HistoryError(f"history database {path}: no such session ({e})")
    return HistoryError(f"history database {path}: {e}")
