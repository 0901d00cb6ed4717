"""`coach list`: the library — routines, and apart from them the programs made of them.

A broken file of the user's is a warning on stderr and the rest is listed (coach/skipped.py).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence


def register(sub: argparse._SubParsersAction) -> None:
    ls = sub.add_parser(
        "list", help="the routines (id, name, position, motion, intensity, reps) and the programs"
    )
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(func=cmd_list)


def cmd_list(args: argparse.Namespace) -> int:
    from coach.exercise.program import load_programs
    from coach.exercise.routine import load_library

    lib = load_library()
    programs = load_programs(lib)
    if args.json:
        print(json.dumps({"routines": [
            {
                "id": r.id, "name": r.name, "position": r.position, "motion": list(r.motion),
                "intensity": r.intensity, "sides": list(r.sides),
                "reps": {"default": r.reps_default, "min": r.reps_min, "max": r.reps_max},
                "per_day": r.per_day, "file": str(r.path),
            }
            for r in lib.values()
        ], "programs": [
            {
                "id": p.id, "name": p.name, "summary": p.summary, "file": str(p.path),
                "exercises": [
                    {"routine": e.routine.id, "reps": e.reps, "tempo": e.tempo, "rest_s": e.rest_s}
                    for e in p.exercises
                ],
            }
            for p in programs.values()
        ]}, indent=2))  # fmt: skip
        return 0
    _table(("id", "name", "position", "motion", "intensity", "reps"), [
        (
            r.id, r.name, r.position, "+".join(r.motion), r.intensity,
            f"{r.reps_default} ({r.reps_min}-{r.reps_max})" + (" per side" if r.sides else ""),
        )
        for r in lib.values()
    ])  # fmt: skip
    if programs:
        print("\nPrograms (coach run PROGRAM):")
        _table(("id", "name", "exercises (reps)"), [
            (p.id, p.name, ", ".join(f"{e.routine.id} {e.reps}" for e in p.exercises))
            for p in programs.values()
        ])  # fmt: skip
    return 0


def _table(head: Sequence[str], rows: list[tuple[str, ...]]) -> None:
    table = [tuple(head), *rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(head))]
    for row in table:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
