"""ALSA's C-level error messages stay off the terminal (coach/audio/alsa_quiet.py), for real: each case
runs in a fresh process (the handler is process-wide) that makes ALSA complain, and its stderr is
read. Two real complaints: opening a PCM that does not exist, and an underrun of a live stream on
the virtual devices (the `snd_pcm_recover` line a user sees when a busy machine starves audio)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests import ROOT

OPEN_MISSING_PCM = """
import ctypes
pcm = ctypes.c_void_p()
rc = ctypes.CDLL("libasound.so.2").snd_pcm_open(ctypes.byref(pcm), b"nosuchdevice", 0, 0)
assert rc < 0, rc
print("opened: no")
"""

UNDERRUNS = """
import time
import sounddevice as sd
n = 0
def callback(indata, outdata, frames, t, status):
    global n
    n += 1
    outdata.fill(0)
    if n % 20 == 5:
        time.sleep(0.3)  # ten times the stream's latency: the speaker runs dry
with sd.Stream(samplerate=16000, channels=1, dtype="float32", latency=0.03, callback=callback):
    time.sleep(2.5)
print("callbacks", n)
"""

QUIET = "from coach.audio.alsa_quiet import quiet_alsa\nassert quiet_alsa()\n"

# What PortAudio does with its failed checks (PaUtil_DebugPrint: vfprintf + fflush on C's global
# `stderr`). PortAudio's own print cannot be caused at will (it comes when a starved machine
# makes a poll fail), and its print function is not exported, so libc is called the same way.
C_STDERR = """
import ctypes, sys, time
libc = ctypes.CDLL(None)
libc.fputs.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
libc.fflush.argtypes = [ctypes.c_void_p]
err = ctypes.c_void_p.in_dll(libc, "stderr").value
libc.fputs(b"Expression 'r' failed in 'src/hostapi/alsa/pa_linux_alsa.c', line: 2097\\n", err)
libc.fflush(err)
libc.perror(b"perror too")
print("python's own line", file=sys.stderr)
time.sleep(0.2)  # the reader thread logs it
"""


def run(code: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COACH_DEBUG"}
    if debug:
        env["COACH_DEBUG"] = "1"
    r = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return r


def test_alsa_prints_onto_stderr_without_the_handler() -> None:
    """The baseline: ALSA's default handler writes straight to fd 2."""
    r = run(OPEN_MISSING_PCM)
    assert "ALSA lib" in r.stderr and "Unknown PCM nosuchdevice" in r.stderr, r.stderr


def test_the_handler_keeps_alsa_off_stderr() -> None:
    r = run(QUIET + OPEN_MISSING_PCM)
    assert r.stdout == "opened: no\n"
    assert r.stderr == ""


def test_coach_debug_prints_what_alsa_said() -> None:
    r = run(QUIET + OPEN_MISSING_PCM, debug=True)
    assert "ALSA lib" not in r.stderr
    assert "coach: ALSA pcm.c:" in r.stderr and "(snd_pcm_open_noupdate): Unknown PCM" in r.stderr


def test_c_stderr_prints_reach_the_terminal_without_it() -> None:
    r = run(C_STDERR)
    assert "pa_linux_alsa.c" in r.stderr and "perror too" in r.stderr, r.stderr


def test_portaudio_style_prints_stay_off_the_terminal() -> None:
    """C's `stderr` stream goes to the debug log; Python's own stderr (descriptor 2) still shows."""
    r = run(QUIET + C_STDERR)
    assert r.stderr == "python's own line\n", r.stderr
    shown = run(QUIET + C_STDERR, debug=True)
    assert "coach: native: Expression 'r' failed in 'src/hostapi/alsa/pa_linux_alsa.c'" in (
        shown.stderr
    ), shown.stderr
    assert "coach: native: perror too" in shown.stderr, shown.stderr


def test_child_processes_keep_the_real_stderr() -> None:
    """espeak-ng, paplay and the like are children: what they print is theirs to show."""
    r = run(QUIET + "import subprocess\nsubprocess.run(['sh', '-c', 'echo child >&2'])\n")
    assert r.stderr == "child\n", r.stderr


def test_installing_twice_is_harmless() -> None:
    r = run(QUIET + QUIET + OPEN_MISSING_PCM)
    assert r.stderr == ""


@pytest.mark.audio
@pytest.mark.slow
def test_underruns_of_a_live_stream_stay_off_the_terminal(virtual_audio: dict[str, str]) -> None:
    loud = run(UNDERRUNS)
    assert "(snd_pcm_recover) underrun occurred" in loud.stderr, loud.stderr  # the real symptom
    quiet = run(QUIET + UNDERRUNS)
    assert quiet.stdout.startswith("callbacks ") and "ALSA" not in quiet.stderr, quiet.stderr
    shown = run(QUIET + UNDERRUNS, debug=True)
    assert "coach: ALSA pcm.c:" in shown.stderr and "(snd_pcm_recover)" in shown.stderr


@pytest.mark.audio
def test_listing_devices_installs_the_handler(virtual_audio: dict[str, str]) -> None:
    """`coach devices`, `coach check` and sessions reach PortAudio through these two paths."""
    r = run(
        "from coach.audio.devices import list_devices\nassert list_devices()\n" + OPEN_MISSING_PCM
    )
    assert r.stderr == ""


@pytest.mark.audio
def test_opening_the_device_stream_installs_the_handler(virtual_audio: dict[str, str]) -> None:
    code = "from coach.audio.device import DeviceAudio\nio = DeviceAudio()\nio.open()\nio.close()\n"
    r = run(code + OPEN_MISSING_PCM)
    assert "ALSA" not in r.stderr, r.stderr
    assert r.stdout.endswith("opened: no\n")
