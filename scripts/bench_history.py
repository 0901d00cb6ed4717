#!/usr/bin/env python3
"""History benchmark: how long a write takes while a session runs (it happens between audio
blocks of 20 ms), and how long `coach history` takes on a year of sessions.

    .venv/bin/python scripts/bench_history.py --json [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from coach.history.db import History


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def ms(xs: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(xs) * 1000, 4),
        "p95_ms": round(pct(xs, 95) * 1000, 4),
        "p99_ms": round(pct(xs, 99) * 1000, 4),
        "max_ms": round(max(xs) * 1000, 4),
    }


def bench_writes(folder: Path, n: int) -> dict[str, object]:
    with History(folder / "writes.sqlite3") as h:
        starts, events, reps, ends = [], [], [], []
        for _ in range(max(1, n // 100)):
            t0 = time.perf_counter()
            sid = h.start_session("trunk-rotation", 6.0, "pocketsphinx", "calm", 5)
            starts.append(time.perf_counter() - t0)
            for i in range(100):
                t0 = time.perf_counter()
                h.log_event(sid, i * 0.5, "cue", {"text": "Breathe in slowly.", "rep": i})
                events.append(time.perf_counter() - t0)
                if i % 10 == 0:
                    t0 = time.perf_counter()
                    h.set_reps(sid, i // 10, i // 10)
                    reps.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            h.end_session(sid, "completed", 5, 5, 6.0)
            ends.append(time.perf_counter() - t0)
    return {
        "events": len(events),
        "log_event": ms(events),
        "set_reps": ms(reps),
        "start_session": ms(starts),
        "end_session": ms(ends),
    }


def bench_year(folder: Path, events_per_session: int) -> dict[str, object]:
    from coach.history.chart import render_chart
    from coach.history.report import build_report, format_table

    db = folder / "year.sqlite3"
    end = datetime.now().astimezone().replace(hour=9, minute=0, second=0, microsecond=0)
    clock = [end - timedelta(days=365)]
    with History(db, now=lambda: clock[0]) as h:
        for d in range(365):
            for hour in (8, 19):
                clock[0] = (end - timedelta(days=365 - d)).replace(hour=hour)
                sid = h.start_session("trunk-rotation", 6.0, "pocketsphinx", "calm", 8)
                for i in range(events_per_session):
                    h.log_event(sid, i * 2.0, "cue", {"text": "x"})
                h.end_session(sid, "pain" if d % 50 == 0 else "completed", 8, 8, 6.0)
    t0 = time.perf_counter()
    h = History(db, now=lambda: end)
    open_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = build_report(h)
    table = format_table(report)
    report_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    build_report(h, days=30)
    report30_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    png = render_chart(report, "png")
    chart_s = time.perf_counter() - t0
    h.close()
    return {
        "sessions": len(report.sessions),
        "events": len(report.sessions) * events_per_session,
        "db_bytes": db.stat().st_size,
        "open_ms": round(open_s * 1000, 1),
        "report_all_ms": round(report_s * 1000, 1),
        "report_30_days_ms": round(report30_s * 1000, 1),
        "chart_png_ms": round(chart_s * 1000, 1),
        "chart_png_bytes": len(png),
        "table_lines": len(table.splitlines()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--dir", type=Path, help="where to put the databases (default: a temp dir)")
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--events-per-session", type=int, default=60)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        result = {
            "dir": str(args.dir or Path(tempfile.gettempdir())),
            "writes": bench_writes(Path(tmp), args.events),
            "year": bench_year(Path(tmp), args.events_per_session),
        }
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
