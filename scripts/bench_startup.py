#!/usr/bin/env python3
"""How long from launching `coach run ROUTINE` to the first word the user can hear (warm cache).

Two measurements, each over several runs after one untimed warm-up run (which fills a private
speech cache; data, config and cache folders are temporary, the history of the user is untouched):

- device: the command runs on the virtual PulseAudio devices (scripts/virtual-audio, with your own
  COACH_AUDIO_DIR). A parecord process listens to speaker.monitor in 10 ms chunks, each stamped with
  the wall clock when it arrives; the first sample above --threshold, back-dated by its place in
  its chunk, is the moment the cue became audible. Latency = that moment - the moment of Popen.
  (A little pessimistic: it includes the monitor's own ~10 ms.)
- file: the same command with --mic-file/--speaker-file (simulated time, as fast as the CPU) and
  --events; the wall time at which the first "cue" line appears in the events file, plus that
  cue's session time `t` (its planned onset), approximates the same thing without any devices.

    COACH_AUDIO_DIR=/tmp/va-me .venv/bin/python scripts/bench_startup.py --json
Target: p50 of the device latency <= 1.0 s.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.audio.format import RATE, write_wav  # noqa: E402
from tests.audio_rig import start_virtual_audio  # noqa: E402

TARGET_S = 1.0
COACH = [sys.executable, "-m", "coach"]


class MonitorListener:
    """parecord on speaker.monitor, read in 10 ms chunks stamped with time.monotonic()."""

    CHUNK = RATE // 100

    def __init__(self, threshold: float, env: dict[str, str]) -> None:
        self.threshold = threshold
        self.proc = subprocess.Popen(
            [
                "parecord",
                "--device=speaker.monitor",
                f"--rate={RATE}",
                "--channels=1",
                "--format=s16le",
                "--raw",
                "--latency-msec=10",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.first_data = threading.Event()
        self.loud = threading.Event()
        self.loud_at = 0.0
        self.armed = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        pending = b""
        while True:
            data = os.read(fd, self.CHUNK * 2)
            now = time.monotonic()
            if not data:
                return
            self.first_data.set()
            pending += data
            n = len(pending) // 2 * 2
            x = np.frombuffer(pending[:n], "<i2").astype(np.float32) / 32768.0
            pending = pending[n:]
            if not self.armed or self.loud.is_set():
                continue
            idx = np.flatnonzero(np.abs(x) > self.threshold)
            if len(idx):
                self.loud_at = now - (len(x) - int(idx[0])) / RATE
                self.loud.set()

    def arm(self) -> None:
        self.loud.clear()
        self.armed = True

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def fresh_history(env: dict[str, str]) -> dict[str, str]:
    """Each run gets an empty history: after a few sessions "today" the coach would add a dose
    warning, a phrase not in the cache, and the run would measure speech synthesis instead."""
    d = tempfile.mkdtemp(prefix="data-", dir=Path(env["COACH_CACHE_DIR"]).parent)
    return {**env, "COACH_DATA_DIR": d}


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End the session like a user would (SIGTERM = stopped), never leave it running."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def device_run(
    mon: MonitorListener, env: dict[str, str], args: list[str], timeout: float
) -> float | None:
    mon.arm()
    time.sleep(0.2)  # the speaker is idle: nothing loud before launch
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [*COACH, "run", *args],
        env=fresh_history(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    heard = mon.loud.wait(timeout)
    stop(proc)
    if not heard:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        print(f"bench_startup: nothing heard within {timeout} s:\n{err[-2000:]}", file=sys.stderr)
        return None
    return mon.loud_at - t0


def file_run(
    env: dict[str, str], args: list[str], tmp: Path, mic: Path, timeout: float
) -> tuple[float, float] | None:
    events = tmp / "events.jsonl"
    part = events.with_name(events.name + ".part")
    for p in (events, part):
        p.unlink(missing_ok=True)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [
            *COACH,
            "run",
            *args,
            "--mic-file",
            str(mic),
            "--speaker-file",
            str(tmp / "speaker.wav"),
            "--events",
            str(events),
        ],
        env=fresh_history(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    found: tuple[float, float] | None = None
    while found is None and time.monotonic() - t0 < timeout:
        for p in (part, events):
            try:
                lines = p.read_text().splitlines()
            except OSError:
                continue
            for line in lines:
                try:
                    rec = json.loads(line)
                except ValueError:
                    break  # a line still being written
                if rec.get("type") == "cue":
                    found = (time.monotonic() - t0, float(rec["t"]))
                    break
            if found or proc.poll() is not None:
                break
        if proc.poll() is not None and found is None:
            break
        time.sleep(0.002)
    stop(proc)
    if found is None:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        print(f"bench_startup: no cue event within {timeout} s:\n{err[-2000:]}", file=sys.stderr)
    return found


PHASES = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
import coach.app.session_run as S
import coach.listening.factory as L
import coach.app.runner as R
import coach.speech.voice as V
from coach.audio.files import FileAudio
marks = {"imports": time.perf_counter() - t0}
def timed(mod, name, label):
    f = getattr(mod, name)
    def g(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            marks[label] = marks.get(label, 0.0) + time.perf_counter() - t
    setattr(mod, name, g)
timed(V, "get_voice", "voice_profiles")
timed(R, "render_phrasebook", "speech_from_cache")
timed(L, "make_listener", "listener")
def observer(t, kind, detail):
    if kind == "cue":
        marks["first_cue"] = time.perf_counter() - t0
        raise KeyboardInterrupt
opts = S.SessionOptions(target=sys.argv[1], listen=sys.argv[2] != "no", plain=True)
try:
    S.run_session(opts, FileAudio(Path(sys.argv[3]), None), observer=observer, quiet=True)
except KeyboardInterrupt:
    pass
print(json.dumps({k: round(v, 3) for k, v in marks.items()}))
"""


def phases(env: dict[str, str], routine: str, listen: bool, mic: Path) -> dict[str, float]:
    """Where the time goes, in-process on the file back end (after the process has started)."""
    p = subprocess.run(
        [sys.executable, "-c", PHASES, routine, "yes" if listen else "no", str(mic)],
        env=fresh_history(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        print(f"bench_startup: phase breakdown failed:\n{p.stderr[-2000:]}", file=sys.stderr)
        return {}


def summary(xs: list[float]) -> dict[str, float | None]:
    if not xs:
        return {"p50_s": None, "max_s": None, "min_s": None}
    return {
        "p50_s": round(statistics.median(xs), 3),
        "min_s": round(min(xs), 3),
        "max_s": round(max(xs), 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--routine", default="trunk-rotation")
    ap.add_argument(
        "--listen",
        choices=("auto", "yes", "no"),
        default="auto",
        help="run with the listener (the real `coach run`); auto: if coach.listening.listener exists",
    )
    ap.add_argument("--threshold", type=float, default=0.02, help="audible = |sample| above this")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--skip-device", action="store_true", help="only the file back end")
    a = ap.parse_args()

    listen = a.listen == "yes" or (a.listen == "auto" and (ROOT / "coach" / "listener.py").exists())
    run_args = [a.routine, "--plain"] + ([] if listen else ["--no-listen"])
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as d:
        tmp = Path(d)
        env = {
            **os.environ,
            "COACH_DATA_DIR": str(tmp / "data"),
            "COACH_CONFIG_DIR": str(tmp / "config"),
            "COACH_CACHE_DIR": str(tmp / "cache"),
            "PYTHONPATH": str(ROOT),
        }
        env.pop("COACH_DB", None)
        rng = np.random.default_rng(0)
        mic = tmp / "quiet-room.wav"
        write_wav(mic, (rng.standard_normal(RATE * 20) * 1e-3).astype(np.float32))

        device: list[float] = []
        device_failures = 0
        if not a.skip_device:
            env.update(start_virtual_audio())
            mon = MonitorListener(a.threshold, env)
            try:
                if not mon.first_data.wait(5):
                    print("bench_startup: parecord delivered nothing", file=sys.stderr)
                    return 1
                lat = device_run(mon, env, run_args, 300.0)  # fills the cache (untimed)
                attempts = 0
                while len(device) < a.runs and attempts < 2 * a.runs:
                    attempts += 1
                    lat = device_run(mon, env, run_args, a.timeout)
                    if lat is None:
                        device_failures += 1  # reported; the stream fault is printed above
                    else:
                        device.append(lat)
            finally:
                mon.close()
        files: list[tuple[float, float]] = []
        for i in range(a.runs + 1):
            got = file_run(env, run_args, tmp, mic, a.timeout if i or device else 300.0)
            if got is None:
                return 1
            if i:
                files.append(got)
        breakdown = phases(env, a.routine, listen, mic)

    result = {
        "benchmark": "startup",
        "command": "coach run " + " ".join(run_args),
        "listen": listen,
        "runs": a.runs,
        "target_s": TARGET_S,
        "device": {
            "first_audible_s": [round(x, 3) for x in device],
            "failed_runs": device_failures,
            **summary(device),
        },
        "file": {
            "wall_to_first_cue_s": [round(w, 3) for w, _ in files],
            "cue_t_s": [round(t, 3) for _, t in files],
            **summary([w + t for w, t in files]),
        },
        "phases_s": breakdown,
    }
    headline = result["device"]["p50_s"] if device else result["file"]["p50_s"]
    result["ok"] = headline is not None and headline <= TARGET_S
    if a.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
