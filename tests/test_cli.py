"""The CLI basics: version, help, and `coach devices` with and without sound devices."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from coach import __version__


def coach(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coach", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_version() -> None:
    r = coach("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"coach {__version__}"


def test_help_lists_commands() -> None:
    r = coach("--help")
    assert r.returncode == 0
    assert "devices" in r.stdout


@pytest.mark.audio
def test_devices_lists_virtual_devices(virtual_audio: dict[str, str]) -> None:
    r = coach("devices", env={**os.environ})
    assert r.returncode == 0, r.stderr
    assert "default" in r.stdout


def test_devices_without_any_sound_server_says_how_to_fix() -> None:
    # A real absence, not a mock: point PulseAudio at a socket that does not exist.
    env = {**os.environ, "PULSE_SERVER": "unix:/nonexistent/socket"}
    env.pop("PULSE_SINK", None)
    env.pop("PULSE_SOURCE", None)
    r = coach("devices", env=env)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert "virtual-audio" in r.stderr
