"""The history database schema, as versioned migrations (`PRAGMA user_version` = how many have
run). Never edit a released step: add a new one, so every older database can be brought forward.
"""

from __future__ import annotations

from typing import Any

SQLITE_MAGIC = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite file

# Schema versions: MIGRATIONS[i] takes the database from version i to i + 1.
MIGRATIONS: tuple[str, ...] = (
    # 1: sessions and their events.
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        routine TEXT NOT NULL,
        started TEXT NOT NULL,          -- UTC ISO-8601
        ended TEXT,                     -- NULL while running
        end_reason TEXT,
        reps_left INTEGER NOT NULL DEFAULT 0,
        reps_right INTEGER NOT NULL DEFAULT 0,
        reps_target INTEGER,
        tempo_start REAL,
        tempo_end REAL,
        engine TEXT,
        voice TEXT
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        t REAL NOT NULL,                -- seconds since the session started
        wall TEXT NOT NULL,             -- UTC ISO-8601
        type TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'  -- JSON object
    );
    """,
    # 2: indexes, and who owns a running session (so another process never closes it as
    # interrupted while it is still alive).
    """
    CREATE INDEX events_session ON events(session_id, t);
    CREATE INDEX sessions_started ON sessions(started);
    ALTER TABLE sessions ADD COLUMN owner TEXT;
    """,
    # 3: program runs: one row per run of a program, its exercises the sessions that point to it
    # (in order of their start), what a pain left out, and who owns a run under way.
    """
    CREATE TABLE programs (
        id INTEGER PRIMARY KEY,
        program TEXT NOT NULL,
        started TEXT NOT NULL,          -- UTC ISO-8601
        ended TEXT,                     -- NULL while running
        end_reason TEXT,
        left_out TEXT NOT NULL DEFAULT '[]',  -- JSON list of routine ids
        owner TEXT
    );
    ALTER TABLE sessions ADD COLUMN program_run INTEGER REFERENCES programs(id);
    CREATE INDEX sessions_program ON sessions(program_run);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
OUR_TABLES = {"sessions", "events"}  # what every version has (an older file has no programs)


def filters(*conditions: tuple[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """" AND col = ?" for each (condition, value) whose value is not None, and the values: the
    optional filters of every reader (sessions, events, program runs)."""
    used = [(c, v) for c, v in conditions if v is not None]
    return "".join(f" AND {c}" for c, _ in used), tuple(v for _, v in used)
