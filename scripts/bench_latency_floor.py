#!/usr/bin/env python3
"""The floor under bench_latency's figures: how soon *anything* on this audio path can fall silent
after a word begins. A responder with the coach's stream settings (one duplex PortAudio stream,
16 kHz, blocksize 0, 30 ms latency) plays a steady tone and zeroes its output in the very callback
whose input first reaches the level where the word begins (20 dB under its loudest 10 ms) (no VAD, no voicing, no recognizer). The same rig and
analysis as bench_latency (speaker.monitor recorded, a 7 kHz marker launched with the word, the
word's start from its own voice activity), so `from_word_start` here is the path's own latency —
into the virtual mic, PortAudio both ways, out of the virtual speaker — that the coach's figure
includes; the coach's own part is the difference.

    scripts/bench_latency_floor.py [--trials N] [--speech DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_latency import (  # noqa: E402
    BLOCK,
    LOUD,
    SPEECH,
    Rec,
    calibrate,
    clips,
    end_trial,
    filler,
    find_marker,
    marker,
    pct,
    play_marked,
    room_noise,
    speech_band,
    start_server,
    vad_bounds,
)

from coach.audio.format import RATE, read_wav, write_wav  # noqa: E402

RESPONDER = """
import sys, time
import numpy as np
import sounddevice as sd
armed_at = time.monotonic() + 1.0
threshold = float(sys.argv[1])
state = {"on": True, "phase": 0}
def callback(indata, outdata, frames, t, status):
    x = indata[:, 0]
    if state["on"] and time.monotonic() > armed_at and np.sqrt(np.mean(x**2)) > threshold:
        state["on"] = False
    if state["on"]:
        k = state["phase"] + np.arange(frames)
        outdata[:, 0] = 0.1 * np.sin(2 * np.pi * 300 * k / 16000)
        state["phase"] += frames
    else:
        outdata.fill(0)
with sd.Stream(samplerate=16000, channels=1, dtype="float32", blocksize=0, latency=0.03,
               callback=callback):
    time.sleep(1.0)
    print("armed", flush=True)
    while state["on"]:
        time.sleep(0.01)
    print("cut", flush=True)
    time.sleep(0.8)
"""


def trial(env: dict[str, str], tmp: Path, clip: Path, offset: float, mark: Path) -> dict:
    word = read_wav(clip)
    w_on, w_off = vad_bounds(word)
    fill, room = filler(env), room_noise(env, tmp)
    time.sleep(0.2)
    spk = Rec("speaker.monitor", env)
    time.sleep(0.3)
    n = len(word) // BLOCK  # the word's start as vad_bounds finds it: 20 dB under its loudest
    threshold = float(np.sqrt(np.mean(word[: n * BLOCK].reshape(n, BLOCK) ** 2, axis=1)).max()) / 10
    p = subprocess.Popen([sys.executable, "-c", RESPONDER, str(threshold)],
                         stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        assert p.stdout is not None
        if p.stdout.readline().strip() != "armed":
            raise RuntimeError("the responder did not start")
        time.sleep(0.3)
        launched = play_marked(env, clip, mark, "micfeed")
        p.wait(timeout=10)
        time.sleep(0.2)
    finally:
        raw, t0 = end_trial(p, spk, fill, room)
    end_in_spk = find_marker(raw, int((launched - t0) * RATE)) + int((offset + w_off) * RATE)
    start_in_spk = end_in_spk - int((w_off - w_on) * RATE)
    x = speech_band(raw)
    n = len(x) // BLOCK
    loud = np.sqrt(np.mean(x[: n * BLOCK].reshape(n, BLOCK) ** 2, axis=1)) > LOUD
    s = max(0, start_in_spk // BLOCK - 30)  # the tone was playing before the word
    quiet = [i for i in range(s, n) if not loud[i]]
    if not quiet or not loud[max(0, start_in_spk // BLOCK - 5)]:
        return {"clip": clip.name, "missed": True}
    return {"clip": clip.name, "missed": False,
            "from_start_ms": round((quiet[0] * BLOCK - start_in_spk) / RATE * 1000, 1)}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--speech", type=Path, default=SPEECH)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    env = start_server()
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as d:
        tmp = Path(d)
        pool = [p for source, p in clips(tmp, args.speech) if source == "human"]
        if not pool:
            ap.error(f"no human recordings in {args.speech / 'stop'}")
        mark = tmp / "marker.wav"
        write_wav(mark, np.concatenate([marker(), np.zeros(800, np.float32)]))
        offset = calibrate(env, pool[0], mark)
        trials = [trial(env, tmp, pool[k % len(pool)], offset, mark) for k in range(args.trials)]
    xs = [float(t["from_start_ms"]) for t in trials if not t["missed"]]
    out = {"trials": len(trials), "missed": sum(1 for t in trials if t["missed"]),
           "from_word_start": {"p50_ms": pct(xs, 50), "p95_ms": pct(xs, 95),
                               "max_ms": max(xs) if xs else None},
           "load": round(__import__("os").getloadavg()[0], 2), "trial_list": trials}  # fmt: skip
    print(json.dumps(out, indent=1 if args.json else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
