"""What `coach history` reports, over explicit dates: streak, dose, pain reports, the table, the
JSON and CSV round trips, and the command line (no traceback for user mistakes)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from coach.cli import main
from coach.errors import DataFileError
from coach.history.db import History
from coach.history.export import CSV_COLUMNS, read_csv, sessions_from_json, write_csv
from coach.history.report import build_report, dumps_json, format_table, streak
from tests import ROOT
from tests.conftest import WallClock

TZ = timezone(timedelta(hours=2))
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=TZ)




def add(
    h: History,
    clock: WallClock,
    when: datetime,
    routine: str = "trunk-rotation",
    reason: str = "completed",
    reps: tuple[int, int] = (5, 5),
    events: list[tuple[float, str, dict[str, object]]] = (),  # type: ignore[assignment]
) -> int:
    clock.t = when
    sid = h.start_session(routine, 6.0, "pocketsphinx", "calm", 5)
    for t, typ, detail in events:
        clock.t = when + timedelta(seconds=t)
        h.log_event(sid, t, typ, detail)
    clock.t = when + timedelta(minutes=5)
    h.end_session(sid, reason, reps[0], reps[1], 5.5)
    clock.t = NOW
    return sid


def day(n: int, hour: int = 8) -> datetime:
    """n days before NOW's date, at `hour` local time."""
    return (NOW - timedelta(days=n)).replace(hour=hour, minute=15)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[History, WallClock]]:
    clock = WallClock(NOW)
    h = History(tmp_path / "h.db", now=clock)
    add(h, clock, day(0, 7))
    add(h, clock, day(1, 8))
    add(h, clock, day(1, 19), reason="stopped", reps=(2, 1))
    add(h, clock, day(2, 8))
    add(
        h,
        clock,
        day(3, 8),
        reason="pain",
        reps=(3, 2),
        events=[
            (95.0, "command", {"intent": "pain", "phrase": "pain"}),
            (96.0, "ended", {"reason": "pain", "suggestion": "pelvic-tilt"}),
        ],
    )
    add(h, clock, day(3, 8) + timedelta(minutes=8), routine="pelvic-tilt", reps=(5, 0))
    add(h, clock, day(5, 8))  # a gap on day 4 ends the streak
    yield h, clock
    h.close()


def test_streak_over_given_dates() -> None:
    today = date(2026, 3, 10)
    d = [today - timedelta(days=i) for i in range(6)]
    assert streak({d[0], d[1], d[2], d[4]}, today) == 3
    assert streak({d[1], d[2]}, today) == 2  # today's session may still come
    assert streak({d[2], d[3]}, today) == 0  # yesterday missed: broken
    assert streak(set(), today) == 0


def test_report_streak_dose_and_pain(demo: tuple[History, WallClock]) -> None:
    h, _ = demo
    r = build_report(h)
    assert [s.routine for s in r.sessions][-1] == "trunk-rotation"
    assert len(r.sessions) == 7
    assert r.streak == 4  # days 0..3 each have a completed session (pelvic-tilt on day 3)
    assert [(d.routine, d.sessions, d.per_day) for d in r.dose] == [("trunk-rotation", 1, 2)]
    assert "one more is fine" in r.dose[0].status
    (p,) = r.pain_reports
    assert (p.routine, p.t, p.phrase, p.suggestion, p.taken) == (
        "trunk-rotation",
        95.0,
        "pain",
        "pelvic-tilt",
        True,
    )
    assert build_report(h, routine="trunk-rotation").streak == 3


def test_days_filter_uses_local_days(demo: tuple[History, WallClock]) -> None:
    h, _ = demo
    assert len(build_report(h, days=1).sessions) == 1
    assert len(build_report(h, days=2).sessions) == 3
    assert [s.routine for s in build_report(h, routine="pelvic-tilt").sessions] == ["pelvic-tilt"]


def test_a_third_session_is_more_than_the_dose(demo: tuple[History, WallClock]) -> None:
    h, clock = demo
    add(h, clock, day(0, 12))
    assert "done for today" in build_report(h).dose[0].status
    add(h, clock, day(0, 18))
    d = build_report(h).dose[0]
    assert d.sessions == 3 and "more than once or twice a day" in d.status
    # child-stretch's own routine file allows three a day
    for hour in (7, 12, 18):
        add(h, clock, day(0, hour), routine="child-stretch", reps=(4, 0))
    cs = next(x for x in build_report(h).dose if x.routine == "child-stretch")
    assert cs.per_day == 3 and "done for today" in cs.status


def test_suggestion_not_taken(tmp_path: Path) -> None:
    clock = WallClock(NOW)
    with History(tmp_path / "h.db", now=clock) as h:
        add(
            h,
            clock,
            day(0, 7),
            reason="pain",
            events=[(30.0, "ended", {"reason": "pain", "suggestion": "bridge"})],
        )
        (p,) = build_report(h).pain_reports
        assert (p.suggestion, p.taken, p.t) == ("bridge", False, None)
        assert "suggested bridge (not taken)" in format_table(build_report(h))


def test_table_shows_local_time_reps_and_tempo(demo: tuple[History, WallClock]) -> None:
    h, _ = demo
    text = format_table(build_report(h))
    lines = text.splitlines()
    assert lines[0].split() == ["date", "time", "routine", "reps", "L/R", "ended", "tempo"]
    assert "Tue 2026-03-10  07:15  trunk-rotation  5/5" in text  # 05:15 UTC shown as local 07:15
    assert "6→5.5 bpm" in text
    assert "pelvic-tilt     5 " in text  # an unsided routine shows one count
    assert "Streak: 4 days in a row" in text
    assert "Pain reported (1):" in text and "at 1:35" in text and "physical therapist" in text


def test_empty_history_says_so_kindly(tmp_path: Path) -> None:
    with History(tmp_path / "h.db", now=WallClock(NOW)) as h:
        text = format_table(build_report(h))
        assert text.startswith("No sessions yet: your history is empty.")
        assert "coach run trunk-rotation" in text
        assert "No sessions of bridge in the last 3 days yet." in format_table(
            build_report(h, days=3, routine="bridge")
        )


def test_json_round_trips(demo: tuple[History, WallClock]) -> None:
    h, _ = demo
    r = build_report(h)
    obj = json.loads(dumps_json(r))
    assert obj["format"] == "coach-history" and obj["version"] == 1
    assert set(obj) == {
        "format",
        "version",
        "database",
        "generated",
        "days",
        "routine",
        "streak_days",
        "today",
        "sessions",
        "pain_reports",
        "programs",
    }
    assert sessions_from_json(obj) == r.sessions
    assert obj["streak_days"] == 4
    assert obj["today"]["dose"][0]["sessions"] == 1
    assert obj["pain_reports"][0]["suggestion"] == "pelvic-tilt"
    assert obj["sessions"][0]["local_start"].endswith("+02:00")


def test_csv_round_trips_including_empty_and_awkward_values(
    demo: tuple[History, WallClock], tmp_path: Path
) -> None:
    h, clock = demo
    clock.t = NOW
    h.start_session('my "own", routine', 5.5, "vosk", "clear", 7)  # still running: no end
    sessions = h.sessions()
    out = tmp_path / "export.csv"
    write_csv(out, sessions)
    assert out.read_text().splitlines()[0] == ",".join(CSV_COLUMNS)
    assert read_csv(out) == sessions
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temp left


def test_a_bad_csv_names_line_and_field(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text(
        ",".join(CSV_COLUMNS) + "\n1,trunk-rotation,2026-03-01T08:00:00+00:00,,"
        "completed,five,5,5,6.0,6.0,e,v\n"
    )
    with pytest.raises(DataFileError) as e:
        read_csv(f)
    assert e.value.line == 2 and e.value.field == "reps_left" and str(f) in str(e.value)


# --- the command line ---------------------------------------------------------------------------


def test_cli_table_json_export_chart(
    demo: tuple[History, WallClock], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h, _ = demo
    db = str(h.path)
    assert main(["history", "--db", db]) == 0
    assert "trunk-rotation" in capsys.readouterr().out
    csv_file, png = tmp_path / "out.csv", tmp_path / "out.png"
    rc = main(["history", "--db", db, "--json", "--export", str(csv_file), "--chart", str(png)])
    assert rc == 0
    obj = json.loads(capsys.readouterr().out)
    assert len(obj["sessions"]) == 7
    assert read_csv(csv_file) == sessions_from_json(obj)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["history", "--db", db, "--routine", "pelvic-tilt", "--json"]) == 0
    assert [s["routine"] for s in json.loads(capsys.readouterr().out)["sessions"]] == [
        "pelvic-tilt"
    ]


def test_cli_without_a_database_is_kind_and_creates_nothing(
    coach_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history"]) == 0
    assert "No sessions yet" in capsys.readouterr().out
    assert not (coach_dirs / "data" / "history.sqlite3").exists()


def coach(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coach", "history", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--db", "/nonexistent/folder/h.db"], 1, "no such folder"),
        (["--days", "0"], 2, "between 1 and"),
        (["--days", "week"], 2, "whole number"),
        (["--chart", "out.gif"], 2, "png or .svg"),
    ],
)
def test_cli_user_mistakes_give_a_message_not_a_traceback(
    args: list[str], code: int, words: str
) -> None:
    r = coach(*args)
    assert r.returncode == code
    assert "Traceback" not in r.stderr and words in r.stderr


def test_cli_corrupt_database_message(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    db.write_bytes(b"not sqlite" * 100)
    r = coach("--db", str(db))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "move it aside" in r.stderr and str(db) in r.stderr
    assert db.read_bytes() == b"not sqlite" * 100


def test_a_taken_alternative_is_found_without_an_ended_event(tmp_path: Path) -> None:
    # What coach/app/runner.py records today: the pain command, then the record is ended, then the
    # alternative starts as a new session a minute later (no `ended`/`started` events in history).
    clock = WallClock(NOW)
    with History(tmp_path / "h.db", now=clock) as h:
        add(
            h,
            clock,
            day(0, 7),
            reason="pain",
            events=[(12.5, "command", {"intent": "pain", "phrase": "ouch pain"})],
        )
        add(h, clock, day(0, 7) + timedelta(minutes=6), routine="diaphragmatic-breathing")
        add(h, clock, day(0, 9), routine="bridge")  # much later: not the alternative
        (p,) = build_report(h).pain_reports
        assert (p.suggestion, p.taken, p.t, p.phrase) == (
            "diaphragmatic-breathing",
            True,
            12.5,
            "ouch pain",
        )


def test_todays_dose_reads_as_a_sentence_with_the_routines_name(
    demo: tuple[History, WallClock],
) -> None:
    h, clock = demo
    lines = [x for x in format_table(build_report(h)).splitlines() if x.startswith("Today")]
    assert lines == [
        "Today: Trunk rotation stretch done once; the usual dose is once or twice a day, "
        "so one more is fine."
    ]
    add(h, clock, day(0, 12))
    assert (
        "Today: Trunk rotation stretch done twice, the full daily dose (once or twice a day): "
        "done for today." in format_table(build_report(h))
    )
    for minute in range(13):  # 13 more: 15 in all
        add(h, clock, day(0, 7) + timedelta(minutes=minute))
    assert (
        "Today: Trunk rotation stretch done 15 times, more than the usual twice a day; give your "
        "back a rest." in format_table(build_report(h))
    )
    empty = format_table(build_report(h, routine="bridge"))
    assert "Today: Bridge not done yet (the usual dose: once or twice a day)." in empty
    assert "more than once or twice a day" in build_report(h).dose[0].status  # JSON: as before


def test_cli_unknown_routine_is_a_usage_error_listing_the_known_ones(
    demo: tuple[History, WallClock], tmp_path: Path
) -> None:
    h, clock = demo
    add(h, clock, day(0, 9), routine="my-own-stretch")  # a routine no longer in the library
    for args in (["--db", str(h.path)], ["--db", str(tmp_path / "none.db")]):
        r = coach(*args, "--routine", "trunk-rotaton")
        assert r.returncode == 2 and r.stdout == "", r.stdout
        assert r.stderr.startswith("coach: unknown routine 'trunk-rotaton'\n")
        assert "did you mean trunk-rotation?" in r.stderr
        assert "known routines: bridge, cat-camel," in r.stderr and "Traceback" not in r.stderr
    assert "my-own-stretch" in coach("--db", str(h.path), "--routine", "nosuch").stderr
    r = coach("--db", str(h.path), "--routine", "my-own-stretch")  # in the history: fine
    assert r.returncode == 0 and "my-own-stretch" in r.stdout


def test_cli_chart_prints_only_where_it_went(
    demo: tuple[History, WallClock], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h, _ = demo
    png = tmp_path / "c.png"
    assert main(["history", "--db", str(h.path), "--chart", str(png)]) == 0
    out = capsys.readouterr()
    assert out.out == "" and out.err == f"coach: wrote the chart to {png}\n"
    assert png.read_bytes()[:4] == b"\x89PNG"
