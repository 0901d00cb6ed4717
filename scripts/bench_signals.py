#!/usr/bin/env python3
"""Signal -> exit time of a live `coach run` on the virtual audio devices, at the 25 moments of
tests/test_signals.py (preparing speech, before/during/after the hearing check's prompt, the
briefing, paused, offering after pain, saying "Stopping.", exercising, two signals in a row, SIGINT
inherited as ignored, the terminal closed) and once more while the sound card has stalled: SIGINT,
SIGTERM or SIGHUP from outside, or the kernel's SIGHUP when the coach's terminal is closed, timed
until the process has exited. This is where the 1 s target is measured (the test
only fails a signal that was lost).

    scripts/bench_signals.py [--rounds N] [--skip-slow] [--json]

Prints one JSON object: p50/p95/max in ms over all signals, per signal and per case, how many
passed the test's verdict (the moment, exit 130, history `stopped`, only the coach's lines on
stderr), and the load average while it ran. Uses its own
virtual-audio server (COACH_AUDIO_DIR + "-bench-signals") and speech cache (COACH_CACHE_DIR, or a
folder in the temp dir that later runs reuse); the empty-cache cases get an empty one each.
--skip-slow leaves out the cases that need half a minute to get there (exercising, the offer).
The cases and their verdict are tests/test_signals.py's; the machinery is tests/signal_rig.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tests.signal_rig as rig  # noqa: E402
import tests.test_signals as ts  # noqa: E402


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def summary(ms: list[float]) -> dict[str, float | int]:
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms)),
        "p95_ms": round(pct(ms, 0.95)),
        "max_ms": round(max(ms)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=1, help="times through all the cases")
    ap.add_argument("--skip-slow", action="store_true", help="without exercising and the offer")
    ap.add_argument("--json", action="store_true", help="only the JSON line (no progress)")
    a = ap.parse_args()
    slow = {"exercising", "exercising-later", "terminal-closed-exercising",
            "offering-the-alternative"}  # fmt: skip
    cases = [c for c in ts.CASES if not (a.skip_slow and c.id in slow)]
    cache = Path(
        os.environ.get("COACH_CACHE_DIR") or Path(tempfile.gettempdir()) / "coach-bench-tts"
    )
    rig.TTS_CACHE = cache  # the warm cases share one
    work = Path(tempfile.mkdtemp(prefix="bench-signals-"))
    audio = os.environ.get("COACH_AUDIO_DIR", "/tmp/coach-virtual-audio") + "-bench-signals"
    outs: list[rig.Outcome] = []
    load0 = os.getloadavg()
    t0 = time.monotonic()
    n = 0

    def folder(name: str) -> Path:
        nonlocal n
        n += 1
        d = work / f"{n:03d}-{name}"
        d.mkdir()
        return d

    with rig.live_room(audio) as env:
        wavs = rig.words()
        for _ in range(a.rounds):
            joins = rig.start_in_background([c for c in cases if c.background], folder, env)
            for case in (c for c in cases if not c.background):
                outs.append(rig.run_case(case, folder(case.id), env, wavs))
                if not a.json:
                    o = outs[-1]
                    print(
                        f"{case.id:28s} {o.seconds} s, exit {o.code}, {o.reason}", file=sys.stderr
                    )
            outs += [join() for join in joins.values()]
    with rig.live_room(audio + "-stall") as env:  # its own server: the stall is server-wide
        for _ in range(a.rounds):
            outs.append(rig.run_case(ts.STALLED, folder(ts.STALLED.id), env, rig.words()))
    good = []  # passed the test's own verdict: the moment, exit 130, `stopped`, clean stderr
    for o in outs:
        try:
            rig.check(o)
            good.append(o)
        except AssertionError as e:
            print(f"{o.case.id}: {str(e).splitlines()[0]}", file=sys.stderr)
    ms = {o.case.id: [] for o in outs}  # type: dict[str, list[float]]
    for o in outs:
        if o.seconds is not None:
            ms[o.case.id].append(o.seconds * 1000)
    every = [x for v in ms.values() for x in v]
    by_signal = {
        s: summary(
            [o.seconds * 1000 for o in outs if o.seconds is not None and o.case.signals[0] == s]
        )
        for s in ("INT", "TERM", "HUP")
    }
    print(
        json.dumps(
            {
                "signals": len(outs),
                "passed": len(good),
                "lost": sum(o.seconds is None and o.failed is None for o in outs),
                "moment_missed": [o.case.id for o in outs if o.failed],
                **summary(every),
                "by_signal": by_signal,
                "by_case": {k: [round(x) for x in v] for k, v in ms.items()},
                "loadavg_start_end": [round(load0[0], 2), round(os.getloadavg()[0], 2)],
                "wall_s": round(time.monotonic() - t0, 1),
            }
        )
    )
    return 0 if len(good) == len(outs) else 1


if __name__ == "__main__":
    sys.exit(main())
