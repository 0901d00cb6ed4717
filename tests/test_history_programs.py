"""Program runs in the history (a real SQLite file): one run per program with its exercises in
order, reps per exercise and side, how it ended and what a pain left out; `coach history` shows
them; the dose counts runs; an older database is migrated, and read as it is when read-only."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from coach.app.history_recorder import HistoryRecorder
from coach.exercise.program import load_programs
from coach.history.db import MIGRATIONS, SCHEMA_VERSION, History
from coach.history.program_runs import end_program, program_runs, start_program
from coach.history.report import build_report, format_table, to_json
from coach.session.dose import check_program_dose
from coach.session.events import EventType, SessionEvent
from tests.conftest import WallClock, coach_cli

TZ = timezone(timedelta(hours=1))
MORNING = datetime(2026, 12, 1, 8, 0, tzinfo=TZ)
DAILY = load_programs()["daily-back"]




def one_run(h: History, clock: WallClock, pain_in: str | None = None) -> None:
    """A daily-back run as the runner records it: through the HistoryRecorder, exercise by
    exercise; with `pain_in`, that exercise ends in pain and single-knee-to-chest is left out."""
    rec = HistoryRecorder(h, "phonemes+whisper", "calm", program="daily-back")
    left_out = []
    for ex in DAILY.exercises:
        rid = ex.routine.id
        if pain_in and rid == "single-knee-to-chest":
            left_out.append(rid)
            continue
        rec.start(rid, 6.0, ex.reps, now=0.0)
        rec.event(SessionEvent(1.0, EventType.STARTED, {"routine": rid, "program": "daily-back"}))
        clock.t += timedelta(minutes=2)
        if rid == pain_in:
            rec.reps(1, 0)
            rec.end("pain", 1, 0, 6.0)
        else:
            rec.reps(ex.reps, ex.reps)
            rec.end("completed", ex.reps, ex.reps, 6.0)
    rec.event(SessionEvent(9.0, EventType.PROGRAM, {"program": "daily-back", "reason": "completed",
                                                     "left_out": left_out}))  # fmt: skip


def test_a_run_holds_its_exercises_in_order_with_reps_and_ends(tmp_path: Path) -> None:
    clock = WallClock(MORNING)
    with History(tmp_path / "h.db", now=clock) as h:
        one_run(h, clock, pain_in="pelvic-tilt")
        (run,) = program_runs(h)
        assert (run.program, run.end_reason, run.left_out) == ("daily-back", "completed",
                                                               ("single-knee-to-chest",))  # fmt: skip
        assert [(s.routine, s.end_reason, s.reps_left, s.reps_right) for s in run.exercises] == [
            ("trunk-rotation", "completed", 5, 5),
            ("pelvic-tilt", "pain", 1, 0),
            ("diaphragmatic-breathing", "completed", 6, 6),
        ]
        assert all(s.program_run == run.id for s in run.exercises)
        assert run.ended is not None and run.ended > run.started
        # the program event went into the last exercise's events, as every event does
        (last,) = [e for e in h.events(type="program")]
        assert last.session_id == run.exercises[-1].id


def test_a_single_routine_is_no_program_run(tmp_path: Path) -> None:
    with History(tmp_path / "h.db", now=WallClock(MORNING)) as h:
        rec = HistoryRecorder(h, "e", "calm")
        rec.start("trunk-rotation", 6.0, 5, now=0.0)
        rec.end("completed", 5, 5, 6.0)
        assert program_runs(h) == []
        assert h.sessions()[0].program_run is None


def test_history_table_and_json_show_runs_and_the_program_dose(tmp_path: Path) -> None:
    clock = WallClock(MORNING)
    with History(tmp_path / "h.db", now=clock) as h:
        one_run(h, clock)
        one_run(h, clock, pain_in="pelvic-tilt")
        report = build_report(h)
    text = format_table(report)
    assert "Programs:" in text
    assert text.count("Daily back care (daily-back): completed") == 2
    assert "      2. pelvic-tilt  reps 1  pain" in text  # (unsided: one count)
    assert "      left out after pain: single-knee-to-chest" in text
    assert "Today: Daily back care done twice, the full daily dose (once or twice a day)" in text
    js = to_json(report)
    assert [len(r["exercises"]) for r in js["programs"]] == [4, 3]
    assert js["programs"][1]["left_out"] == ["single-knee-to-chest"]
    assert js["today"]["program_dose"] == [
        {"program": "daily-back", "runs": 2, "per_day": 2, "status": "2 of 2: done for today"}
    ]
    json.dumps(js)  # plain JSON


def test_the_dose_warning_counts_runs_of_the_program_today(tmp_path: Path) -> None:
    clock = WallClock(MORNING)
    with History(tmp_path / "h.db", now=clock) as h:
        assert check_program_dose(DAILY, h).warning is None
        one_run(h, clock)
        assert check_program_dose(DAILY, h).warning is None  # 1 of 2
        one_run(h, clock)
        warning = check_program_dose(DAILY, h).warning
        assert warning is not None and "session 3 of Daily back care today" in warning
        clock.t += timedelta(days=1)  # a new day
        assert h.programs_today("daily-back") == 0


def test_a_run_cut_off_by_a_dead_process_is_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with History(db, now=WallClock(MORNING)) as h:
        run = start_program(h, "daily-back")
        h.start_session("trunk-rotation", 6.0, "e", "v", 5, program_run=run)
    with sqlite3.connect(db) as c:  # as if its owner was a process that is gone
        c.execute("UPDATE programs SET owner = 'no-such-boot:999999999:1'")
        c.execute("UPDATE sessions SET owner = 'no-such-boot:999999999:1'")
    c.close()
    with History(db) as h:
        (r,) = program_runs(h)
        assert r.end_reason == "interrupted" and r.ended is not None
        assert r.exercises[0].end_reason == "interrupted"
    with sqlite3.connect(db) as c:  # recorded so, not only shown
        assert c.execute("SELECT end_reason FROM programs").fetchone()[0] == "interrupted"
    c.close()


def test_an_end_said_again_amends_the_run(tmp_path: Path) -> None:
    with History(tmp_path / "h.db", now=WallClock(MORNING)) as h:
        run = start_program(h, "daily-back")
        end_program(h, run, "stopped")
        end_program(h, run, "pain")  # "stop ... it hurts": pain wins
        assert program_runs(h)[0].end_reason == "pain"


def _version_2_db(db: Path) -> None:
    with sqlite3.connect(db) as c:
        for step in MIGRATIONS[:2]:
            c.executescript(step)
        c.execute(
            "INSERT INTO sessions (routine, started, ended, end_reason, reps_left, reps_right)"
            " VALUES ('trunk-rotation', '2026-11-05T08:00:00+00:00', '2026-11-05T08:06:00+00:00',"
            " 'completed', 5, 5)"
        )
        c.execute("PRAGMA user_version = 2")
    c.close()


def test_a_version_2_database_is_migrated_keeping_its_sessions(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    _version_2_db(db)
    with History(db, now=WallClock(MORNING)) as h:
        (s,) = h.sessions()
        assert (s.routine, s.end_reason, s.program_run) == ("trunk-rotation", "completed", None)
        assert program_runs(h) == []
        start_program(h, "daily-back")  # and takes program runs
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    c.close()


def test_a_read_only_open_of_a_version_2_database_has_no_program_runs(tmp_path: Path) -> None:
    """Opened read-only (SQLite mode=ro, as reports do when the file is not writable)."""
    db = tmp_path / "h.db"
    _version_2_db(db)
    with History(db, readonly=True) as h:
        assert h.version == 2
        assert [s.program_run for s in h.sessions()] == [None]
        assert program_runs(h) == []
    with sqlite3.connect(db) as c:  # nothing was migrated
        assert c.execute("PRAGMA user_version").fetchone()[0] == 2
    c.close()


def test_coach_history_shows_a_program_run(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    clock = WallClock(datetime.now().astimezone())
    with History(db, now=clock) as h:
        one_run(h, clock)
    r = coach_cli("history", "--db", str(db), timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Programs:" in r.stdout and "Daily back care (daily-back): completed" in r.stdout
    assert "      4. diaphragmatic-breathing" in r.stdout
    js = json.loads(coach_cli("history", "--db", str(db), "--json", timeout=60).stdout)
    assert [s["routine"] for s in js["programs"][0]["exercises"]] == [
        e.routine.id for e in DAILY.exercises
    ]
