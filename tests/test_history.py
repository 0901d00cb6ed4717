"""The history database on real SQLite files: written as the session runs, survives kill -9,
refuses (and never touches) corrupt, foreign or newer files, and says clearly when it is locked or
the disk refuses a write."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from coach import paths
from coach.errors import HistoryError
from coach.history.db import MIGRATIONS, SCHEMA_VERSION, History
from coach.history.explain import explain
from tests import ROOT
from tests.conftest import WallClock


def ro(path: Path) -> sqlite3.Connection:
    """A second, independent, read-only connection (another process would see the same)."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def test_default_path_follows_coach_data_dir_and_creates_folders(coach_dirs: Path) -> None:
    with History() as h:
        assert h.path == paths.db_path() == coach_dirs / "data" / "history.sqlite3"
    assert h.path.is_file()
    with sqlite3.connect(h.path) as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_coach_db_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COACH_DB", str(tmp_path / "deep" / "er" / "mine.db"))
    with History() as h:
        h.start_session("trunk-rotation", 6.0, "pocketsphinx", "calm", 5)
    assert (tmp_path / "deep" / "er" / "mine.db").is_file()


def test_session_is_written_as_it_runs(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    clock = WallClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    with History(db, now=clock) as h:
        sid = h.start_session("trunk-rotation", 6.0, "pocketsphinx", "calm", 5)
        reader = ro(db)
        row = reader.execute("SELECT routine, ended, tempo_start FROM sessions").fetchone()
        assert row == ("trunk-rotation", None, 6.0)
        for i in range(1, 6):
            clock.advance(10)
            h.log_event(sid, i * 10.0, "command", {"intent": "slower", "phrase": "slower"})
            h.set_reps(sid, i, i - 1)
            n, last = reader.execute("SELECT COUNT(*), MAX(t) FROM events").fetchone()
            assert (n, last) == (i, i * 10.0)
            assert reader.execute("SELECT reps_left, reps_right FROM sessions").fetchone() == (
                i,
                i - 1,
            )
        detail = reader.execute("SELECT detail FROM events LIMIT 1").fetchone()[0]
        assert json.loads(detail) == {"intent": "slower", "phrase": "slower"}
        h.end_session(sid, "completed", 5, 5, 5.0)
        row = reader.execute("SELECT ended, end_reason, tempo_end, owner FROM sessions").fetchone()
        assert row == ("2026-03-02T08:00:50.000000+00:00", "completed", 5.0, None)
        reader.close()


def test_writes_from_another_thread(tmp_path: Path) -> None:
    # The session loop may log from its audio thread.
    with History(tmp_path / "h.db") as h:
        sid = h.start_session("trunk-rotation", 6.0, "e", "v", 5)
        threads = [
            threading.Thread(
                target=lambda k=k: [h.log_event(sid, k + j / 10, "tick", {}) for j in range(20)]
            )
            for k in range(3)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(h.events(sid)) == 60


CHILD = textwrap.dedent(
    """
    import sys, time
    from coach.history.db import History
    h = History(sys.argv[1])
    sid = h.start_session("trunk-rotation", 6.0, "pocketsphinx", "calm", 5)
    for i in range(5):
        h.log_event(sid, i * 4.0, "cue", {"text": f"breath {i}"})
        h.set_reps(sid, i, i)
    print(sid, flush=True)
    time.sleep(60)
    """
)


def test_kill_9_mid_session_leaves_a_readable_database_with_the_session_interrupted(
    tmp_path: Path,
) -> None:
    db = tmp_path / "h.db"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert child.stdout is not None
        sid = int(child.stdout.readline())
        # While the child lives, another History (e.g. `coach history`) must not end its session.
        with History(db) as h:
            (s,) = h.sessions()
            assert s.id == sid and s.ended is None and s.end_reason is None
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    with History(db) as h:
        (s,) = h.sessions()
        events = h.events(sid)
        assert s.end_reason == "interrupted"
        assert (s.reps_left, s.reps_right) == (4, 4)
        assert len(events) == 5
        assert s.ended == events[-1].wall  # ended at its last event
    with ro(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_an_orphan_without_events_ends_at_its_start(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with History(db) as h:
        sid = h.start_session("trunk-rotation", 6.0, "e", "v", 5)
    with sqlite3.connect(db) as c:  # as if its owner was a process that is gone
        c.execute("UPDATE sessions SET owner = 'no-such-boot:999999999:1'")
    with History(db) as h:
        (s,) = h.sessions()
        assert s.id == sid and s.end_reason == "interrupted" and s.ended == s.started


def _assert_untouched(path: Path, before: bytes) -> None:
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists() and not Path(f"{path}-shm").exists()


@pytest.mark.parametrize(
    "content",
    [
        b"this is my shopping list, not a database\n" * 50,
        b"SQLite format 3\x00" + bytes(range(256)) * 8,  # right magic, garbage after it
    ],
    ids=["garbage", "garbage-after-magic"],
)
def test_corrupt_file_is_refused_and_left_untouched(tmp_path: Path, content: bytes) -> None:
    db = tmp_path / "history.sqlite3"
    db.write_bytes(content)
    with pytest.raises(HistoryError) as e:
        History(db)
    msg = str(e.value)
    assert str(db) in msg and "move it aside" in msg and "untouched" in msg
    assert db.read_bytes() == content


def test_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    with History(db) as h:
        h.start_session("trunk-rotation", 6.0, "e", "v", 5)
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA user_version = 99")
    c.close()
    before = db.read_bytes()
    with pytest.raises(HistoryError) as e:
        History(db)
    msg = str(e.value)
    assert "schema version 99" in msg and "update coach" in msg and str(db) in msg
    assert db.read_bytes() == before


@pytest.mark.parametrize("their_version", [0, 1])
def test_someone_elses_sqlite_database_is_left_untouched(
    tmp_path: Path, their_version: int
) -> None:
    db = tmp_path / "photos.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
        c.execute(f"PRAGMA user_version = {their_version}")
    c.close()
    before = db.read_bytes()
    with pytest.raises(HistoryError, match="not a coach history"):
        History(db)
    _assert_untouched(db, before)


def test_an_old_schema_is_migrated_keeping_its_sessions(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with sqlite3.connect(db) as c:  # a version-1 database as the first coach wrote it
        c.executescript(MIGRATIONS[0])
        c.execute(
            "INSERT INTO sessions (routine, started, ended, end_reason, reps_left, reps_right)"
            " VALUES ('trunk-rotation', '2026-01-05T08:00:00+00:00', '2026-01-05T08:06:00+00:00',"
            " 'completed', 5, 5)"
        )
        c.execute("PRAGMA user_version = 1")
    c.close()
    with History(db) as h:
        (s,) = h.sessions()
        assert (s.routine, s.end_reason, s.reps_left) == ("trunk-rotation", "completed", 5)
    with ro(db) as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        cols = {r[1] for r in c.execute("PRAGMA table_info(sessions)")}
        assert "owner" in cols


def test_locked_database_gives_a_clear_error_within_the_timeout(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with History(db, busy_timeout_s=0.5) as h:
        sid = h.start_session("trunk-rotation", 6.0, "e", "v", 5)
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        other.execute("UPDATE sessions SET voice = 'x'")
        t0 = time.monotonic()
        with pytest.raises(HistoryError) as e:
            h.log_event(sid, 1.0, "cue", {})
        waited = time.monotonic() - t0
        other.execute("ROLLBACK")
        other.close()
        assert "locked" in str(e.value) and str(db) in str(e.value)
        assert 0.4 <= waited < 10  # it waited for the lock, then gave up
        h.log_event(sid, 2.0, "cue", {})  # and works again once the lock is gone
        assert len(h.events(sid)) == 1


DISK_LIMIT_CHILD = textwrap.dedent(
    """
    import json, resource, signal, sys
    from coach.errors import HistoryError
    from coach.history.db import History
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the kernel then fails the write (EFBIG)
    h = History(sys.argv[1])
    sid = h.start_session("trunk-rotation", 6.0, "e", "v", 5)
    resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, resource.RLIM_INFINITY))
    n = 0
    try:
        for n in range(100_000):
            h.log_event(sid, float(n), "cue", {"text": "x" * 2000})
    except HistoryError as e:
        print(json.dumps({"logged": n, "error": str(e)}))
    """
)


def test_a_write_the_disk_refuses_raises_history_error_and_keeps_earlier_events(
    tmp_path: Path,
) -> None:
    # A real fault: a file size limit (RLIMIT_FSIZE) makes the kernel refuse the write, as a full
    # disk would (no root needed to cause it).
    db = tmp_path / "h.db"
    r = subprocess.run(
        [sys.executable, "-c", DISK_LIMIT_CHILD, str(db)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["logged"] > 0
    assert str(db) in out["error"] and "refused the write" in out["error"]
    with History(db) as h:
        (s,) = h.sessions()
        assert s.end_reason == "interrupted"
        assert len(h.events(s.id)) == out["logged"]


class _FullDisk:
    """FAKE connection: SQLITE_FULL cannot be caused here (no small filesystem without root), so
    this raises the exact error sqlite3 raises on a full disk, to check the message."""

    def execute(self, *a: object) -> None:
        e = sqlite3.OperationalError("database or disk is full")
        e.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
        raise e

    def close(self) -> None:
        pass


def test_disk_full_message_says_what_to_do(tmp_path: Path) -> None:
    h = History(tmp_path / "h.db")
    sid = h.start_session("trunk-rotation", 6.0, "e", "v", 5)
    h._conn = _FullDisk()  # type: ignore[assignment]  # a fake: see _FullDisk
    with pytest.raises(HistoryError) as e:
        h.log_event(sid, 1.0, "cue", {})
    assert "disk is full" in str(e.value) and "free some space" in str(e.value)
    h.close()


def test_read_only_database_message(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    History(db).close()
    c = ro(db)  # a real read-only connection and the real error it raises on a write
    with pytest.raises(sqlite3.OperationalError) as raised:
        c.execute("INSERT INTO sessions (routine, started) VALUES ('x', 'y')")
    c.close()
    msg = str(explain(raised.value, db))
    assert "read-only" in msg and str(db) in msg


def test_bad_paths_are_clear(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="is a folder"):
        History(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HistoryError, match="cannot create the folder"):
        History(blocker / "sub" / "h.db")
    with pytest.raises(HistoryError, match="no history database"):
        History(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()


def test_detail_that_is_not_json_and_writes_after_close(tmp_path: Path) -> None:
    h = History(tmp_path / "h.db")
    sid = h.start_session("trunk-rotation", 6.0, "e", "v", 5)
    loop: dict[str, object] = {}
    loop["self"] = loop
    with pytest.raises(HistoryError, match="not JSON"):
        h.log_event(sid, 0.0, "cue", loop)
    with pytest.raises(HistoryError, match="no such session"):
        h.log_event(sid + 41, 0.0, "cue", {})  # foreign keys are on
    h.close()
    with pytest.raises(HistoryError, match="closed"):
        h.log_event(sid, 0.0, "cue", {})


def test_sessions_today_counts_the_local_day_and_real_sessions(tmp_path: Path) -> None:
    tz = timezone(timedelta(hours=-5))  # local days differ from UTC days
    clock = WallClock(datetime(2026, 3, 2, 23, 30, tzinfo=tz))  # 04:30 UTC on the 3rd
    with History(tmp_path / "h.db", now=clock) as h:
        a = h.start_session("trunk-rotation", 6.0, "e", "v", 5)
        h.end_session(a, "completed", 5, 5, 6.0)  # yesterday, local time
        clock.t = datetime(2026, 3, 3, 7, 0, tzinfo=tz)
        b = h.start_session("trunk-rotation", 6.0, "e", "v", 5)
        h.end_session(b, "completed", 5, 5, 6.0)
        c = h.start_session("trunk-rotation", 6.0, "e", "v", 5)
        h.end_session(c, "no-response", 0, 0, 6.0)  # never exercised: not a dose
        d = h.start_session("trunk-rotation", 6.0, "e", "v", 5)
        h.end_session(d, "stopped", 2, 1, 6.0)  # stopped after some reps: counts
        e = h.start_session("pelvic-tilt", 6.0, "e", "v", 5)
        h.end_session(e, "completed", 5, 0, 6.0)
        assert h.sessions_today("trunk-rotation") == 2
        assert h.sessions_today("pelvic-tilt") == 1
        assert h.sessions_today("bridge") == 0


# --- reading a history in a folder that cannot be written ----------------------------------------


@pytest.fixture
def ro_mount(tmp_path: Path) -> Iterator[tuple[Path, Callable[[], None]]]:
    """A real tmpfs (we are root here: chmod would not stop us, a read-only mount does), and a
    function that remounts it read-only. Unmounted afterwards."""
    mnt = tmp_path / "ro"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, f"mount tmpfs failed (needs root): {r.stderr}"

    def make_read_only() -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)

    try:
        yield mnt, make_read_only
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _two_sessions(db: Path) -> None:
    with History(db) as h:
        sid = h.start_session("trunk-rotation", 6.0, "e", "v", 5)
        h.log_event(sid, 1.0, "command", {"intent": "pain", "phrase": "ouch"})
        h.end_session(sid, "pain", 2, 1, 6.0)
        sid = h.start_session("pelvic-tilt", 6.0, "e", "v", 5)
        h.end_session(sid, "completed", 5, 0, 6.0)


def test_a_history_on_a_read_only_mount_is_read(
    ro_mount: tuple[Path, Callable[[], None]],
) -> None:
    mnt, make_read_only = ro_mount
    db = mnt / "history.sqlite3"
    _two_sessions(db)
    make_read_only()
    before = sorted(p.name for p in mnt.iterdir())
    with History.for_reading(db) as h:
        assert h.readonly
        assert [(s.routine, s.end_reason) for s in h.sessions()] == [
            ("trunk-rotation", "pain"),
            ("pelvic-tilt", "completed"),
        ]
        assert h.pain_sessions() == {1} and h.routines() == {"trunk-rotation", "pelvic-tilt"}
        with pytest.raises(HistoryError, match="read-only"):
            h.start_session("bridge", 6.0, "e", "v", 5)
    assert sorted(p.name for p in mnt.iterdir()) == before
    r = subprocess.run([sys.executable, "-m", "coach", "history", "--db", str(db)],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "trunk-rotation" in r.stdout and "Pain reported (1):" in r.stdout


def test_a_crashed_sessions_log_on_a_read_only_mount_is_read_and_shown_interrupted(
    ro_mount: tuple[Path, Callable[[], None]],
) -> None:
    mnt, make_read_only = ro_mount
    db = mnt / "history.sqlite3"
    code = (
        "import os, sys\nfrom coach.history.db import History\n"
        "h = History(sys.argv[1])\n"
        "s = h.start_session('trunk-rotation', 6.0, 'e', 'v', 5)\n"
        "h.end_session(s, 'completed', 5, 5, 6.0)\n"
        "s = h.start_session('bridge', 6.0, 'e', 'v', 5)\n"
        "h.log_event(s, 3.0, 'state', {'state': 'exercising'})\n"
        "os._exit(0)\n"  # dies mid-session: its write-ahead log is left, not checkpointed
    )
    subprocess.run([sys.executable, "-c", code, str(db)], check=True, timeout=60, cwd=ROOT)
    assert (mnt / "history.sqlite3-wal").stat().st_size > 0
    make_read_only()
    with History.for_reading(db) as h:
        assert [(s.routine, s.end_reason) for s in h.sessions()] == [
            ("trunk-rotation", "completed"),
            ("bridge", "interrupted"),  # what a writable open would record; nothing written
        ]
    with ro(db) as c:
        assert c.execute("SELECT end_reason FROM sessions WHERE routine='bridge'").fetchone() == (
            None,
        )


def test_a_writable_history_is_opened_as_usual_for_reading(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    _two_sessions(db)
    with History.for_reading(db) as h:
        assert not h.readonly and len(h.sessions()) == 2
