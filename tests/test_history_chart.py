"""`coach history --chart`: real PNG and SVG files that read back, the numbers behind them, and a
clear error for a format it cannot write."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from coach.errors import UsageError
from coach.history.chart import chart_data, write_chart
from coach.history.db import History
from coach.history.report import Report, build_report

TZ = timezone(timedelta(hours=-3))
NOW = datetime(2026, 5, 20, 21, 0, tzinfo=TZ)


def fill(path: Path) -> Report:
    t = [NOW]
    with History(path, now=lambda: t[0]) as h:
        for n, hour, reason, reps in [
            (0, 8, "completed", (6, 6)),
            (0, 20, "pain", (2, 1)),
            (1, 23, "completed", (5, 5)),  # 02:xx UTC next day: must count on its local day
            (3, 8, "stopped", (1, 1)),
        ]:
            t[0] = (NOW - timedelta(days=n)).replace(hour=hour, minute=10)
            sid = h.start_session("trunk-rotation", 6.0, "e", "v", 6)
            if reason == "pain":
                h.log_event(sid, 40.0, "command", {"intent": "pain", "phrase": "pain"})
            h.end_session(sid, reason, *reps, 6.0)
        t[0] = (NOW - timedelta(days=0)).replace(hour=20, minute=30)
        sid = h.start_session("pelvic-tilt", 5.0, "e", "v", 5)
        h.end_session(sid, "completed", 5, 0, 5.0)
        t[0] = NOW
        return build_report(h, days=14)


def test_chart_numbers_per_local_day(tmp_path: Path) -> None:
    data = chart_data(fill(tmp_path / "h.db"))
    days = data["days"]
    assert len(days) == 14 and days[-1] == date(2026, 5, 20)
    i = {d: k for k, d in enumerate(days)}
    today, yesterday, three = date(2026, 5, 20), date(2026, 5, 19), date(2026, 5, 17)
    assert (data["done"][i[today]], data["other"][i[today]]) == (2, 1)
    assert (data["left"][i[today]], data["right"][i[today]]) == (8, 7)  # pelvic-tilt is unsided
    assert data["pain"][i[today]] == 1 and sum(data["pain"]) == 1
    assert (data["done"][i[yesterday]], data["left"][i[yesterday]]) == (1, 5)
    assert (data["done"][i[three]], data["other"][i[three]]) == (0, 1)


def test_png_is_a_real_image(tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    out = tmp_path / "chart.png"
    write_chart(fill(tmp_path / "h.db"), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(out)
    assert img.ndim == 3 and img.shape[0] > 300 and img.shape[1] > 500
    assert img.std() > 0.05  # something is drawn, not a blank canvas
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    mask = os.umask(0o022)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask  # not the temp file's private 0600


def test_svg_parses_as_xml(tmp_path: Path) -> None:
    out = tmp_path / "chart.SVG"
    write_chart(fill(tmp_path / "h.db"), out)
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    assert "coach history" in out.read_text()


def test_an_empty_history_still_draws(tmp_path: Path) -> None:
    with History(tmp_path / "h.db", now=lambda: NOW) as h:
        r = build_report(h)
    out = tmp_path / "empty.png"
    write_chart(r, out)
    assert out.read_bytes()[:4] == b"\x89PNG" and len(chart_data(r)["days"]) == 7


def test_unknown_extension_is_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "chart.jpg"
    with pytest.raises(UsageError, match=r"\.png or \.svg"):
        write_chart(fill(tmp_path / "h.db"), out)
    assert not out.exists()


def test_an_existing_chart_is_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "chart.png"
    out.write_bytes(b"old")
    write_chart(fill(tmp_path / "h.db"), out)
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_a_long_range_draws_steps_and_stays_a_valid_image(tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    t = [NOW]
    with History(tmp_path / "h.db", now=lambda: t[0]) as h:
        for n in range(0, 200, 2):
            t[0] = (NOW - timedelta(days=n)).replace(hour=9)
            sid = h.start_session("trunk-rotation", 6.0, "e", "v", 6)
            h.end_session(sid, "completed", 6, 6, 6.0)
        t[0] = NOW
        r = build_report(h)
    data = chart_data(r)
    assert len(data["days"]) == 199 and sum(data["done"]) == 100 and sum(data["left"]) == 600
    out = tmp_path / "year.png"
    write_chart(r, out)
    assert mpimg.imread(out).shape[2] in (3, 4)


def test_reps_without_sides_are_counted_once_in_their_own_bar(tmp_path: Path) -> None:
    t = [NOW]
    with History(tmp_path / "h.db", now=lambda: t[0]) as h:
        for routine, reps in [
            ("pelvic-tilt", (5, 0)),
            ("bridge", (4, 4)),
            ("trunk-rotation", (3, 2)),
        ]:
            sid = h.start_session(routine, 6.0, "e", "v", 5)  # unsided: on one side or both
            h.end_session(sid, "completed", *reps, 6.0)
        r = build_report(h)
    data = chart_data(r)
    assert (data["left"][-1], data["right"][-1], data["unsided"][-1]) == (3, 2, 9)
    write_chart(r, tmp_path / "c.png")  # three bar series draw


def test_the_dose_line_is_drawn_only_for_one_routine(tmp_path: Path) -> None:
    from coach.history.chart import dose_line

    r = fill(tmp_path / "h.db")  # trunk-rotation and pelvic-tilt
    assert dose_line(r) is None  # their doses differ per routine: no single line
    with History(tmp_path / "h.db", now=lambda: NOW) as h:
        one = build_report(h, days=14, routine="trunk-rotation")
        breathing = build_report(h, days=14, routine="diaphragmatic-breathing")  # no sessions
    assert dose_line(one) == (2, "Trunk rotation stretch")
    assert dose_line(breathing) == (3, "Belly breathing")
    for rep, name in [(r, "all.svg"), (one, "one.svg")]:
        write_chart(rep, tmp_path / name)
        assert ET.parse(tmp_path / name).getroot().tag.endswith("svg")
