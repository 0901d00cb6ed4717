"""`coach check`: try everything a session needs (database, speech, recognizer, speaker,
microphone) and say what to fix. Exit 0 only when a session can run."""

from __future__ import annotations

import argparse
import json
import sys

from coach.listening.engines import ENGINES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="check speaker, microphone, speech, recognizer and database before a session",
        description="Checks each part a session needs and prints ✓/✗ with a fix for each ✗. "
        'It plays a short tone, shows the microphone level, and asks you to say "ready", then '
        '"stop" and "pain" (asked aloud too); a pass is remembered, so your first session on '
        "this microphone does not ask again.",
    )
    p.add_argument("--engine", default="auto", choices=ENGINES, help="recognizer (default auto)")
    p.add_argument("--lang", default="en", help="language pack (default en)")
    p.add_argument("--model", help="a vosk model folder")
    p.add_argument("--voice", help="voice profile (default calm)")
    p.add_argument("--db", help="history database (default: the user data folder)")
    p.add_argument(
        "--no-prompt",
        action="store_true",
        help='do not ask for "ready", "stop" or "pain": check only that the microphone delivers '
        "a live signal",
    )
    p.add_argument(
        "--listen-seconds", type=float, default=10.0, help="how long to wait for each word (10)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per check")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from coach.app.check import run_checks
    from coach.app.check_result import CheckOptions, CheckResult
    from coach.errors import UsageError

    if not 1.0 <= args.listen_seconds <= 120.0:
        raise UsageError(f"--listen-seconds {args.listen_seconds:g} is out of range 1..120")
    opts = CheckOptions(
        engine=args.engine,
        lang=args.lang,
        model=args.model,
        voice=args.voice,
        db=args.db,
        prompt=not args.no_prompt,
        listen_s=args.listen_seconds,
    )

    def report(r: CheckResult) -> None:
        if args.json:
            print(json.dumps({"check": r.name, "ok": r.ok, "detail": r.detail, "fix": r.fix}))
        else:
            print(f"  {'✓' if r.ok else '✗'} {r.name:<11} {r.detail}")
            if not r.ok and r.fix:
                print(f"    {'':<11} fix: {r.fix}")
        sys.stdout.flush()

    if not args.json:
        print("coach check")

    def say(text: str) -> None:
        print(text, file=sys.stderr if args.json else sys.stdout, flush=True)

    results = run_checks(opts, report, say)
    ok = all(r.ok for r in results)
    if not args.json:
        print("A session can run." if ok else "A session cannot run until the ✗ items are fixed.")
    return 0 if ok else 1
