"""Test helpers for the virtual audio devices (scripts/virtual-audio): a real PulseAudio server.

`Recorder` captures the coach's speaker (speaker.monitor) with parecord; `play_into_mic` speaks a
WAV into the virtual microphone with paplay. Both are separate processes, like a person in the room.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tests import ROOT


def virtual_audio_env(audio_dir: str | None = None) -> dict[str, str]:
    """Start (or reuse) a virtual-audio server and return a copy of os.environ pointing at it.
    `audio_dir` picks a separate server (COACH_AUDIO_DIR), e.g. one whose modules a test unloads."""
    env = {**os.environ}
    if audio_dir is not None:
        env["COACH_AUDIO_DIR"] = audio_dir
    out = subprocess.run(
        [str(ROOT / "scripts" / "virtual-audio"), "start"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"scripts/virtual-audio start failed:\n{out.stderr}")
    for line in out.stdout.splitlines():
        if line.startswith("export "):
            k, v = line.removeprefix("export ").split("=", 1)
            env[k] = v
    return env


def start_virtual_audio() -> dict[str, str]:
    """Start (or reuse) the server and put its variables into os.environ."""
    env = virtual_audio_env()
    pulse = {k: env[k] for k in ("PULSE_SERVER", "PULSE_SINK", "PULSE_SOURCE")}
    os.environ.update(pulse)
    return pulse


class Recorder:
    """Record a PulseAudio source (default: the speaker's monitor) as 16 kHz mono float32.

    parecord writes into a temporary file, not a pipe: a pipe that is read only at the end fills
    after ~2 s (64 KB) and stalls parecord, so long takes would come back short.
    """

    def __init__(self, device: str = "speaker.monitor", rate: int = 16_000) -> None:
        self.device, self.rate = device, rate
        self.proc: subprocess.Popen[bytes] | None = None
        self.t_start = 0.0
        self.audio = np.zeros(0, np.float32)

    def __enter__(self) -> Recorder:
        self._file = tempfile.NamedTemporaryFile(suffix=".raw")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [
                "parecord",
                f"--device={self.device}",
                f"--rate={self.rate}",
                "--channels=1",
                "--format=s16le",
                "--raw",
                "--latency-msec=20",
            ],
            stdout=self._file,
            stderr=subprocess.DEVNULL,
        )
        self.t_start = time.monotonic()
        time.sleep(0.3)  # let the stream connect before anything we want to hear
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> np.ndarray:
        """End the recording (idempotent) and return it; also kept in `.audio`."""
        if self.proc is None:
            return self.audio
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc = None
        data = Path(self._file.name).read_bytes()
        self._file.close()
        self.audio = np.frombuffer(data[: len(data) // 2 * 2], "<i2").astype(np.float32) / 32768.0
        return self.audio


def play_into_mic(wav: Path | str, wait: bool = True) -> subprocess.Popen[bytes]:
    """Speak a WAV into the virtual microphone (sink micfeed -> source mic)."""
    p = subprocess.Popen(["paplay", "--device=micfeed", str(wav)], stderr=subprocess.PIPE)
    if wait:
        p.wait(timeout=60)
    return p


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


class PrivateAudio:
    """A virtual-audio server of the test's own (a temp COACH_AUDIO_DIR), for faults that must
    not touch the shared one: kill it, or have it drop one client's stream. `env` points at it."""

    def __init__(self, audio_dir: str | None = None) -> None:
        self.dir = Path(audio_dir or tempfile.mkdtemp(prefix="va-own-", dir="/tmp"))
        self.env = virtual_audio_env(str(self.dir))
        for _ in range(50):  # the server answers before its devices are all there
            srcs = subprocess.run(["pactl", "list", "short", "sources"], capture_output=True,
                                  text=True, env=self.env).stdout  # fmt: skip
            if "speaker.monitor" in srcs and "\tmic\t" in srcs:
                break
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        return int((self.dir / "runtime" / "pid").read_text().strip())

    def console(self, command: str) -> str:
        """One command on the server's own command line (module-cli-protocol-unix, loaded on
        first use), for what pactl 16 cannot do, e.g. `kill-source-output N`."""
        sock = self.dir / "cli"
        if not sock.exists():
            subprocess.run(["pactl", "load-module", "module-cli-protocol-unix", f"socket={sock}"],
                           env=self.env, capture_output=True, check=True, timeout=10)  # fmt: skip
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(sock))
            s.sendall(command.encode() + b"\n")
            s.settimeout(0.3)
            out = b""
            try:
                while chunk := s.recv(4096):
                    out += chunk
            except TimeoutError:  # the console stays open for more commands
                pass
        return out.decode(errors="replace")

    def streams_of(self, pid: int, kind: str = "source-output") -> list[str]:
        """Indices of process `pid`'s streams of `kind` ("source-output" or "sink-input")."""
        out = subprocess.run(["pactl", "list", f"{kind}s"], capture_output=True, text=True,
                             env=self.env, timeout=10).stdout  # fmt: skip
        return [
            m.group(1)
            for block in out.split("\n\n")
            if f'application.process.id = "{pid}"' in block and (m := re.search(r"#(\d+)", block))
        ]

    def stop(self) -> None:
        subprocess.run([str(ROOT / "scripts" / "virtual-audio"), "stop"], env=self.env,
                       capture_output=True, timeout=30)  # fmt: skip
        shutil.rmtree(self.dir, ignore_errors=True)


PULSE_VARS = ("PULSE_SERVER", "PULSE_SINK", "PULSE_SOURCE")


@contextlib.contextmanager
def pointing_at(env: dict[str, str]) -> Iterator[None]:
    """os.environ's PulseAudio variables point at `env`'s server (for paplay, parecord and
    PortAudio in this process) until the block ends; then they are as they were."""
    saved = {k: os.environ.get(k) for k in PULSE_VARS}
    os.environ.update({k: env[k] for k in PULSE_VARS})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def passed_safety_words(data_dir: Path | str, env: dict[str, str] | None = None) -> None:
    """Record in `data_dir` that this user's stop and pain were heard on the virtual microphone
    with every engine, as after a first session or `coach check`: for live tests about something
    else (a signal, a fault, the cut-off), whose sessions then begin after "ready". The proof
    itself is tested in tests/test_safety_words.py and tests/test_check.py."""
    from coach.app import safety_words
    from coach.listening.engines import ENGINES

    mic = (env if env is not None else os.environ).get("PULSE_SOURCE", "default")
    for engine in ENGINES:
        if engine != "auto":
            safety_words.remember(engine, mic, Path(data_dir))


@contextlib.contextmanager
def private_server(audio_dir: str) -> Iterator[dict[str, str]]:
    """A virtual-audio server of the test's own (it may unload its modules), os.environ pointing
    at it while in use; yields its environment."""
    server = PrivateAudio(audio_dir)
    try:
        with pointing_at(server.env):
            yield server.env
    finally:
        server.stop()


def pactl(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        ["pactl", *args], capture_output=True, text=True, env=env, check=True, timeout=10
    ).stdout
