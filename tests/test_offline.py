"""Offline guarantee: a whole session runs with network access made impossible, and nothing tries.

Two independent layers: coach.netguard (Python's socket layer: raises and records any non-unix
socket, connect or name lookup) and strace (every socket()/connect() system call of the process and
its children, so C libraries — PortAudio, espeak-ng, vosk, pocketsphinx — are watched too).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from coach import netguard
from coach.audio.format import read_wav, write_wav

INET = re.compile(r"\b(AF_INET6?|AF_PACKET|PF_INET6?)\b")


def test_guard_blocks_and_records_inet_connections_and_lookups(tmp_path: Path) -> None:
    log = tmp_path / "net.log"
    netguard.install(log)
    try:
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", 9), timeout=1)
        with pytest.raises(OSError):
            urllib.request.urlopen("http://example.com/", timeout=1)
        with pytest.raises(netguard.NetworkBlockedError):
            socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        seen = netguard.attempts()
    finally:
        netguard.uninstall()
    assert any("127.0.0.1" in a for a in seen), seen
    assert any("example.com" in a for a in seen), seen
    assert any("AF_INET6" in a for a in seen), seen
    assert log.read_text().count("\n") >= 3


def test_guard_allows_unix_sockets(tmp_path: Path) -> None:
    """PulseAudio is a unix socket: the guard must let it through."""
    path = str(tmp_path / "s")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        got.append(conn.recv(10))
        conn.close()

    t = threading.Thread(target=serve)
    t.start()
    netguard.install()
    before = len(netguard.attempts())
    try:
        c = socket.socket(socket.AF_UNIX)
        c.connect(path)
        c.sendall(b"hello")
        c.close()
        a, b = socket.socketpair()
        a.sendall(b"x")
        assert b.recv(1) == b"x"
        a.close()
        b.close()
    finally:
        netguard.uninstall()
        t.join(5)
        server.close()
    assert got == [b"hello"]
    assert len(netguard.attempts()) == before


def _user_mic(tmp_path: Path, espeak: object) -> Path:
    """A mic track: a quiet room, and the user saying "ready" once the coach has asked."""
    from coach.app.demo import mic_track

    ready = read_wav(espeak("ready", "en-us", 150, 40))  # type: ignore[operator]
    ready = (ready * (0.5 / float(np.max(np.abs(ready))))).astype(np.float32)
    p = tmp_path / "mic.wav"
    write_wav(p, mic_track([(2.5, ready)], 5.0))
    return p


def _session_args(tmp_path: Path, mic: Path) -> list[str]:
    return [
        "run",
        "trunk-rotation",
        "--reps",
        "5",
        "--tempo",
        "10",
        "--mic-file",
        str(mic),
        "--speaker-file",
        str(tmp_path / "speaker.wav"),
        "--events",
        str(tmp_path / "events.jsonl"),
    ]


def _ended(tmp_path: Path) -> dict[str, object]:
    events = [json.loads(s) for s in (tmp_path / "events.jsonl").read_text().splitlines() if s]
    ended = [e for e in events if e["type"] == "ended"]
    assert ended, events[-5:]
    return ended[-1]


def test_whole_session_runs_with_network_impossible(tmp_path: Path, espeak: object) -> None:
    """`coach run` through the file back end with the guard installed before anything else, the
    whole process tree under strace: neither Python nor any C library tries the network."""
    strace = shutil.which("strace")
    assert strace, "strace is missing (scripts/setup --test installs it)"
    log = tmp_path / "net.log"
    trace = tmp_path / "trace.log"
    mic = _user_mic(tmp_path, espeak)
    r = subprocess.run(
        [strace, "-f", "-qq", "-e", "trace=socket,connect,sendto", "-o", str(trace)]
        + [sys.executable, "-m", "coach"]
        + _session_args(tmp_path, mic),
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, netguard.LOG_ENV: str(log)},
        cwd=tmp_path,
    )
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    assert (r.returncode, _ended(tmp_path)["reason"]) == (0, "completed"), r.stderr[-2000:]
    assert (tmp_path / "speaker.wav").stat().st_size > 16000 * 2 * 60  # it really coached
    assert not log.exists() or log.read_text() == "", log.read_text()
    inet = [c for c in trace.read_text().splitlines() if INET.search(c)]
    assert not inet, inet[:10]


def test_strace_layer_sees_an_inet_connect(tmp_path: Path) -> None:
    """Positive control: the same strace filter does catch a process that tries to connect."""
    strace = shutil.which("strace")
    assert strace, "strace is missing (scripts/setup --test installs it)"
    trace = tmp_path / "trace.log"
    code = "import socket; socket.socket().connect_ex(('127.0.0.1', 9))"
    subprocess.run(
        [strace, "-f", "-qq", "-e", "trace=socket,connect,sendto", "-o", str(trace)]
        + [sys.executable, "-c", code],
        check=True,
        timeout=60,
    )
    assert any(INET.search(c) for c in trace.read_text().splitlines())


def test_coach_offline_env_blocks_even_model_install(tmp_path: Path) -> None:
    """COACH_OFFLINE=1 turns the guard on for any command: the one command that downloads is
    refused with a clear message (and the attempt is logged), without a traceback."""
    log = tmp_path / "net.log"
    env = {**os.environ, "COACH_OFFLINE": "1", netguard.LOG_ENV: str(log)}
    r = subprocess.run(
        [sys.executable, "-m", "coach", "model", "install", "en"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert "network access blocked (offline mode)" in r.stderr, r.stderr[-1500:]
    assert "alphacephei.com" in log.read_text()
