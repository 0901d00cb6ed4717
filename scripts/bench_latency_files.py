#!/usr/bin/env python3
"""Stop/pain latency on the file back end, in simulated time: bench_latency's question without
the live path. Each trial is a whole `coach run` session (the default engine unless --engine, the
coach's voice echoed into the mic at 0.3) with a simulated user (coach.app.demo.SimulatedUser) who says
"ready" and then, a moment into a cue, "stop" or "pain" — a human recording from --speech DIR
(default tests/data/speech) or an espeak-ng voice, each at a 0.5 peak. From the coach's own output
(exact, sample for sample): when it fell silent (the first 10 ms of a 0.3 s silence after the
word's start), against the word's start and end (its 10 ms frames within 20 dB of its loudest).
One JSON object per trial, then p50/p95/max; a trial is missed when the word was not acted on.

    scripts/bench_latency_files.py [--speech DIR] [--engine E] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.app.demo import Reaction, SimulatedUser  # noqa: E402
from coach.audio.files import FileAudio  # noqa: E402
from coach.audio.format import RATE, read_wav  # noqa: E402
from coach.session import safety  # noqa: E402

SPEECH = ROOT / "tests" / "data" / "speech"
ESPEAK_VOICES = [("en-us", 160, 50), ("en-gb", 150, 40), ("en-us", 130, 60)]  # bench_latency's
HOP = RATE // 100
SILENT = 1e-3  # rms of a 10 ms frame the coach is silent in
QUIET_RUN = 30  # 0.3 s of silent frames: longer than the pauses inside a cue


def espeak(text: str, voice: tuple[str, int, int], tmp: Path) -> np.ndarray:
    v, rate, pitch = voice
    p = tmp / f"{text}-{v}-{rate}-{pitch}.wav"
    cmd = ["espeak-ng", "-v", v, "-s", str(rate), "-p", str(pitch), "-w", str(p), text]
    subprocess.run(cmd, check=True)
    return read_wav(p)


def peak(x: np.ndarray, to: float = 0.5) -> np.ndarray:
    return (x * (to / float(np.max(np.abs(x))))).astype(np.float32)


def bounds(x: np.ndarray) -> tuple[float, float]:
    """Start and end (s) of the word: its 10 ms frames within 20 dB of the loudest."""
    e = np.sqrt(np.mean(x[: len(x) // HOP * HOP].reshape(-1, HOP) ** 2, axis=1)) + 1e-9
    on = np.nonzero(e > e.max() / 10)[0]
    return on[0] * HOP / RATE, (on[-1] + 1) * HOP / RATE


def nth_cue(n: int) -> Any:
    seen = [0]

    def when(type_: str, detail: dict[str, Any]) -> bool:
        if type_ == "cue" and detail.get("text") not in (safety.HEARING_PROMPT,):
            seen[0] += 1
        return seen[0] >= n

    return when


def trial(word: str, clip: np.ndarray, into_s: float, nth: int, engine: str, tmp: Path) -> dict:
    from coach.app.session_run import SessionOptions, run_session

    ready = peak(espeak("I'm ready", ("en-us", 130, 50), tmp))
    user = SimulatedUser(FileAudio(None, None, echo_gain=0.3), [
        Reaction(lambda t, d: t == "cue" and d.get("text") == safety.HEARING_PROMPT, 2.5, ready,
                 "ready", retries=2),
        Reaction(nth_cue(nth), into_s, clip, word),
    ])  # fmt: skip
    opts = SessionOptions(target="trunk-rotation", reps=5, tempo=10.0, engine=engine, plain=True,
                          db=tmp / f"h-{nth}-{into_s:.3f}.sqlite3")  # fmt: skip
    result = run_session(opts, user, observer=user.observe, quiet=True)
    said = [t for t, w in user.spoken if w == word]
    out: dict[str, Any] = {"word": word, "into_cue_s": round(into_s, 2), "cue": nth}
    acted = [e for e in result.events if e["type"] == "command" and e.get("intent") == word]
    out["hushed"] = any(e["type"] == "hush" for e in result.events)
    if not said or not acted:
        return out | {"missed": True}
    w_on, w_off = bounds(clip)
    start, end = said[0] + w_on, said[0] + w_off
    spk = user.coach_track
    e = np.sqrt(np.mean(spk[: len(spk) // HOP * HOP].reshape(-1, HOP) ** 2, axis=1))
    i0 = round(start * 100)
    if not (e[max(0, i0 - 10) : i0 + 1] > SILENT).any():
        return out | {"missed": False, "during": "silence"}
    quiet = e < SILENT
    cut = next((i for i in range(i0, len(e) - QUIET_RUN) if quiet[i : i + QUIET_RUN].all()), None)
    if cut is None:
        return out | {"missed": True, "why": "never silent"}
    t_cut = cut / 100
    return out | {"missed": False, "during": "cue", "from_start_ms": round((t_cut - start) * 1000),
                  "from_end_ms": round((t_cut - end) * 1000),
                  "acted_after_end_ms": round((acted[0]["t"] - end) * 1000)}  # fmt: skip


def pct(xs: list[float], q: float) -> float | None:
    return round(float(np.percentile(xs, q)), 1) if xs else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--speech", type=Path, default=SPEECH)
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    stops = sorted((args.speech / "stop").glob("*.wav"))
    if not stops:
        ap.error(f"no human recordings in {args.speech / 'stop'}")
    rng = np.random.default_rng(1)
    trials = []
    with tempfile.TemporaryDirectory(prefix="bench-files-") as d:
        tmp = Path(d)
        words = [("stop", peak(read_wav(p)), p.name) for p in stops]
        words += [(w, peak(espeak(w, v, tmp)), f"{w}-{'-'.join(map(str, v))}")
                  for w in ("stop", "pain") for v in ESPEAK_VOICES]  # fmt: skip
        for word, clip, name in words:
            for nth in (2, 4):  # during the briefing's second and fourth cues
                t = trial(word, clip, float(rng.uniform(0.2, 1.0)), nth, args.engine, tmp)
                t["clip"] = name
                trials.append(t)
                if not args.json:
                    print(json.dumps(t), file=sys.stderr)
    cue = [t for t in trials if not t.get("missed") and t.get("during") == "cue"]

    def stats(key: str) -> dict[str, float | None]:
        xs = [float(t[key]) for t in cue]
        return {"p50_ms": pct(xs, 50), "p95_ms": pct(xs, 95), "max_ms": max(xs) if xs else None}

    out = {
        "engine": args.engine, "trials": len(trials),
        "missed": sum(1 for t in trials if t.get("missed")),
        "during_cue": len(cue), "hushed_during_cue": sum(1 for t in cue if t["hushed"]),
        "from_word_end": stats("from_end_ms"), "from_word_start": stats("from_start_ms"),
        "targets": {"from_end_p50_ms": 150, "from_end_p95_ms": 250, "from_end_max_ms": 400,
                    "from_start_max_ms": 250},
        "trial_list": trials,
    }  # fmt: skip
    print(json.dumps(out, indent=1 if args.json else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
