"""Shared fixtures: isolated coach folders, the virtual audio server, espeak-ng speech, real clips."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests import ROOT
from tests.audio_rig import start_virtual_audio

SPEECH = ROOT / "tests" / "data" / "speech"  # human recordings, CC-BY-4.0: LICENSE, SOURCES.txt
# clips per folder: tests pick files by position (`sorted(glob)[5::13]`), so a changed folder
# would silently change what they test; it fails here instead
SPEECH_COUNTS = {"stop": 5, "yes": 5, "no": 6, "_none": 132}
SPEECH_CACHE = ROOT / ".pytest_cache" / "espeak"


class WallClock:
    """A `now` for History (an aware datetime) that only moves when told to: days pass at once.
    (Session time is coach.clock.ManualClock's.)"""

    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


def coach_cli(
    *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`coach ARGS...` in a fresh process from the repo (what a user types), output captured;
    `env` adds to (or overrides) this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "coach", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def pytest_configure(config: pytest.Config) -> None:
    """Start the virtual audio devices before any test module imports sounddevice: PortAudio
    reads PULSE_SERVER once, when it initializes, so setting it later would show no devices."""
    start_virtual_audio()


@pytest.fixture(autouse=True)
def coach_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own data/config dirs and database; the TTS cache is shared (it is a cache)."""
    base = tmp_path_factory.mktemp("coach")
    monkeypatch.setenv("COACH_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("COACH_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("COACH_CACHE_DIR", str(ROOT / ".pytest_cache" / "tts"))
    monkeypatch.delenv("COACH_DB", raising=False)
    return base


@pytest.fixture(scope="session")
def virtual_audio() -> dict[str, str]:
    """The real PulseAudio virtual speaker/microphone (started if needed)."""
    return start_virtual_audio()


def clip(name: str | Path) -> Path:
    """The human recording `name` (e.g. "stop/stop_1eddce1d_nohash_3.wav") in tests/data/speech;
    a missing file fails the test as a missing fixture, not later as a word never heard."""
    path = SPEECH / name
    if not path.is_file():
        pytest.fail(f"test fixture missing: {path}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def speech_dir() -> Path:
    """tests/data/speech: <intent>/<word>_<speaker>_nohash_<n>.wav, checked to be complete."""
    for folder, n in SPEECH_COUNTS.items():
        found = len(list((SPEECH / folder).glob("*.wav")))
        if found != n:
            pytest.fail(
                f"test fixture incomplete: {SPEECH / folder} has {found} clips, expected {n}",
                pytrace=False,
            )
    return SPEECH


def espeak_wav(text: str, voice: str = "en-us", rate: int = 160, pitch: int = 50) -> Path:
    """Synthesize `text` with the espeak-ng command (a real TTS voice, made at test time)."""
    SPEECH_CACHE.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() else "_" for c in text)[:40]
    # a stable key (hash() changes per process, so the cache never hit across runs)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    out = (
        SPEECH_CACHE
        / f"{safe}-{voice.replace('/', '_')}-{rate}-{pitch}-{digest}.wav"
    )
    if not out.exists():
        exe = shutil.which("espeak-ng")
        assert exe, "espeak-ng is not installed (scripts/setup)"
        part = out.with_suffix(f".{os.getpid()}.part")  # a cut-off run leaves no half file
        subprocess.run(
            [exe, "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", str(part), text], check=True
        )
        part.replace(out)
    return out


@pytest.fixture
def espeak() -> object:
    return espeak_wav
