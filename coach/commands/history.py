"""`coach history`: past sessions as a table, JSON, CSV or a chart; the streak and today's dose."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from coach.history.report import Report


def _days(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--days wants a whole number of days, not {text!r}"
        ) from None
    if not 1 <= n <= 36500:
        raise argparse.ArgumentTypeError(f"--days must be between 1 and 36500 (got {n})")
    return n


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "history",
        help="past sessions, streak, today's dose, pain reports",
        description="Show past sessions: a table (local time), the current streak of days with a "
        "completed session, today's sessions against the daily dose, and pain reports.",
    )
    p.add_argument("--days", type=_days, metavar="N", help="only the last N days (today included)")
    p.add_argument("--routine", metavar="R", help="only this routine (its id)")
    p.add_argument("--json", action="store_true", help="print JSON for tools (README: History)")
    p.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        help="history database (default: COACH_DB or the user data folder)",
    )
    p.add_argument(
        "--chart",
        type=Path,
        metavar="FILE",
        help="draw a chart (.png or .svg) instead of printing the table",
    )
    p.add_argument("--export", type=Path, metavar="FILE", help="also write the sessions as CSV")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from coach import paths
    from coach.errors import HistoryError
    from coach.history.db import History
    from coach.history.export import write_csv
    from coach.history.report import build_report, format_table, to_json

    if args.chart is not None:
        from coach.history.chart import chart_format

        chart_format(args.chart)  # a bad extension fails before anything else
    db = args.db.expanduser() if args.db is not None else paths.db_path()
    if not db.exists() and not db.parent.is_dir() and args.db is not None:
        raise HistoryError(
            f"{db}: no such folder for a history database", hint="check the --db path"
        )
    if db.exists():
        with History.for_reading(db) as h:  # read-only if the file or folder is not writable
            if args.routine is not None:
                check_routine(args.routine, h.routines())
            report = build_report(h, days=args.days, routine=args.routine)
    else:  # nothing recorded yet: report an empty history without creating a file to look
        if args.routine is not None:
            check_routine(args.routine, set())
        report = _empty_report(db, args.days, args.routine)
    if args.export is not None:
        write_csv(args.export, report.sessions)
        print(f"coach: wrote {len(report.sessions)} sessions to {args.export}", file=sys.stderr)
    if args.chart is not None:
        from coach.history.chart import write_chart

        write_chart(report, args.chart)
        print(f"coach: wrote the chart to {args.chart}", file=sys.stderr)
    if args.json:
        print(json.dumps(to_json(report), indent=2, ensure_ascii=False))
    elif args.chart is None:  # with --chart, the line saying where it went is the output
        print(format_table(report))
    return 0


def check_routine(routine: str, recorded: set[str]) -> None:
    """`--routine` must name a routine of the library or one the history has sessions of."""
    import difflib

    from coach.errors import UsageError
    from coach.history.report import _library

    known = set(_library()) | recorded
    if routine in known:
        return
    close = difflib.get_close_matches(routine, sorted(known), n=1)
    hint = (f"did you mean {close[0]}? " if close else "") + (
        f"known routines: {', '.join(sorted(known))}" if known else "`coach list` shows them"
    )
    raise UsageError(f"unknown routine '{routine}'", hint=hint)


def _empty_report(db: Path, days: int | None, routine: str | None) -> Report:
    from datetime import datetime

    from coach.history.report import DoseLine, Report, per_day_for, routine_name

    dose = [DoseLine(routine, 0, per_day_for(routine), routine_name(routine))] if routine else []
    return Report(db, datetime.now().astimezone(), days, routine, [], [], 0, dose)
