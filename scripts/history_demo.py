#!/usr/bin/env python3
"""Fill a demo history database with a few weeks of plausible sessions, through the real History
API (a fixed clock instead of waiting weeks), and optionally draw its chart. Used for the README
example table and docs/history-example.png:

    .venv/bin/python scripts/history_demo.py /tmp/demo.sqlite3 --end 2026-11-26 \
        --chart docs/history-example.png
    .venv/bin/python -m coach history --db /tmp/demo.sqlite3 --days 14
"""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta
from pathlib import Path

from coach.history.db import History

ROUTINE = "trunk-rotation"


def fill(path: Path, end: datetime, weeks: int = 4, seed: int = 7) -> int:
    """Sessions on most days, once or twice; reps grow from 5 toward 8 per side; one pain day
    (pelvic-tilt suggested and taken), one stop, one third session. Returns sessions written."""
    rng = random.Random(seed)
    clock = [end]
    n = 0
    with History(path, now=lambda: clock[0]) as h:
        first = (end - timedelta(weeks=weeks)).replace(hour=0, minute=0, second=0, microsecond=0)
        for day in range(weeks * 7 + 1):
            d = first + timedelta(days=day)
            if d.date() > end.date():
                break
            if rng.random() < 0.15 and day < weeks * 7 - 3:
                continue  # a day off
            times = [(8, 10)] + ([(19, 30)] if rng.random() < 0.55 else [])
            if day == weeks * 7 - 9:
                times = [(8, 10), (12, 30), (19, 30)]  # a third one: more than the dose
            for hh, mm in times:
                start = d.replace(hour=hh, minute=mm + rng.randint(0, 9))
                if start > end:
                    break
                reps = min(8, 5 + day // 9)
                tempo = 6.0
                clock[0] = start
                sid = h.start_session(ROUTINE, tempo, "pocketsphinx", "calm", reps)
                n += 1
                t = 0.0
                h.log_event(sid, t, "state", {"state": "briefing"})
                pain_day = day == weeks * 7 - 12 and hh == 8
                stop_day = day == weeks * 7 - 5 and hh == 19
                left = right = 0
                for rep in range(reps):
                    t += 20.0
                    clock[0] = start + timedelta(seconds=t)
                    if rep == 1 and rng.random() < 0.4:
                        tempo -= 1.0
                        h.log_event(sid, t, "command", {"intent": "slower", "phrase": "slower"})
                        h.log_event(sid, t, "tempo", {"bpm": tempo})
                    if pain_day and rep == 3:
                        h.log_event(sid, t, "command", {"intent": "pain", "phrase": "pain"})
                        h.log_event(
                            sid, t + 1, "ended", {"reason": "pain", "suggestion": "pelvic-tilt"}
                        )
                        h.end_session(sid, "pain", left, right, tempo)
                        clock[0] = start + timedelta(seconds=t + 60)
                        alt = h.start_session("pelvic-tilt", 5.0, "pocketsphinx", "calm", 5)
                        n += 1
                        h.log_event(alt, 0.0, "started", {"routine": "pelvic-tilt"})
                        clock[0] = start + timedelta(seconds=t + 360)
                        h.end_session(alt, "completed", 5, 0, 5.0)
                        break
                    if stop_day and rep == 2:
                        h.log_event(sid, t, "command", {"intent": "stop", "phrase": "stop"})
                        h.end_session(sid, "stopped", left, right, tempo)
                        break
                    left, right = left + 1, right + 1
                    h.set_reps(sid, left, right)
                else:
                    clock[0] = start + timedelta(seconds=t + 30)
                    h.log_event(sid, t + 30, "ended", {"reason": "completed"})
                    h.end_session(sid, "completed", left, right, tempo)
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db", type=Path)
    ap.add_argument("--weeks", type=int, default=4)
    ap.add_argument("--chart", type=Path)
    ap.add_argument("--end", help="last day, YYYY-MM-DD (default: today), for reproducible docs")
    args = ap.parse_args()
    if args.db.exists():
        raise SystemExit(f"{args.db} exists; give a new file")
    end = datetime.now().astimezone()
    if args.end:
        end = datetime.fromisoformat(args.end).astimezone()
    end = end.replace(hour=8, minute=40, second=0, microsecond=0)
    print(f"wrote {fill(args.db, end, args.weeks)} sessions to {args.db}")
    if args.chart:
        from coach.history.chart import write_chart
        from coach.history.report import build_report

        with History(args.db, now=lambda: end) as h:
            write_chart(build_report(h, days=args.weeks * 7), args.chart)
        print(f"wrote {args.chart}")


if __name__ == "__main__":
    main()
