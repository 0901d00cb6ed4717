"""Voice profiles (validated against the real espeak-ng voice list) and `coach voices` / `coach say`."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from coach.audio.format import read_wav
from coach.cli import main
from coach.errors import DataFileError, UsageError
from coach.speech.tts import SpeechRenderer
from coach.speech.voice import DEFAULT_VOICE, get_voice, load_voice, load_voices
from tests.conftest import coach_cli

GOOD = """description = "test voice"
voice = "gmw/en-us"
rate = 150
volume = 0.7
pitch = 45
"""


def write(d: Path, name: str, text: str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"{name}.toml"
    p.write_text(text)
    return p


def test_builtin_voices() -> None:
    vs = load_voices()
    assert {"calm", "clear", "slow"} <= set(vs)
    assert DEFAULT_VOICE == "calm" and get_voice().name == "calm"
    calm, clear, slow = vs["calm"], vs["clear"], vs["slow"]
    assert clear.volume > calm.volume and slow.rate < calm.rate
    assert calm.espeak == "gmw/en-us" and calm.path.name == "calm.toml"


def test_user_voice_overrides_and_adds(coach_dirs: Path) -> None:
    user = coach_dirs / "config" / "voices"
    write(user, "calm", GOOD.replace("150", "120"))
    write(user, "mine", GOOD)
    vs = load_voices()
    assert vs["calm"].rate == 120 and vs["calm"].path.parent == user
    assert vs["mine"].pitch == 45 and vs["mine"].volume == 0.7


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        (GOOD.replace("gmw/en-us", "gmw/en-xx"), 2, "voice", "unknown espeak-ng voice"),
        (GOOD.replace("rate = 150\n", ""), None, "rate", "missing required field"),
        (GOOD.replace("rate = 150", "rate = 400"), 3, "rate", "out of range 80..300"),
        (GOOD.replace("rate = 150", "rate = 79"), 3, "rate", "out of range"),
        (GOOD.replace("rate = 150", 'rate = "fast"'), 3, "rate", "must be int"),
        (GOOD.replace("volume = 0.7", "volume = 1.5"), 4, "volume", "out of range 0.0..1.0"),
        (GOOD.replace("pitch = 45", "pitch = 120"), 5, "pitch", "out of range"),
        (GOOD + "speed = 2\n", 6, "speed", "unknown field 'speed'"),
        (GOOD.replace("rate = 150", "rate = = 150"), 3, None, "invalid TOML"),
    ],
)
def test_bad_voice_files_name_file_line_and_field(
    tmp_path: Path, text: str, line: int | None, field: str | None, words: str
) -> None:
    p = write(tmp_path, "bad", text)
    with pytest.raises(DataFileError) as e:
        load_voice(p)
    msg = str(e.value)
    assert words in msg and str(p) in msg
    assert e.value.line == line and e.value.field == field
    if line:
        assert f"bad.toml:{line}" in msg


def test_unknown_voice_id_suggests_close_ones(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="did you mean 'gmw/en-us'"):
        load_voice(write(tmp_path, "typo", GOOD.replace("gmw/en-us", "gmw/en-su")))


def test_bad_file_name(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="file name"):
        load_voice(write(tmp_path, "My Voice", GOOD))


def run_cli(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return coach_cli(*args, timeout=60, env=env)


def test_get_voice_unknown_lists_known() -> None:
    with pytest.raises(UsageError, match="known: calm, clear, natural, slow"):
        get_voice("shouty")




def test_coach_voices_lists_the_three(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["voices"]) == 0
    out = capsys.readouterr().out
    for name in ("calm *", "clear", "slow", "gmw/en-us", "140"):
        assert name in out
    assert main(["voices", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["name"] for r in rows} >= {"calm", "clear", "slow"}
    assert next(r for r in rows if r["name"] == "calm")["default"] is True


def test_coach_voices_with_a_broken_user_voice(coach_dirs: Path) -> None:
    """Listed without it, and said (issue #13: one bad file used to stop everything, exit 2)."""
    bad = write(
        coach_dirs / "config" / "voices", "broken", GOOD.replace("rate = 150", "rate = 999")
    )
    p = coach_cli("voices", timeout=60)
    assert p.returncode == 0 and "calm" in p.stdout and "broken" not in p.stdout
    assert f"coach: warning: skipped a broken voice file: {bad}:3: field 'rate'" in p.stderr
    assert "Traceback" not in p.stderr


def test_a_broken_voice_fails_only_when_asked_for(
    coach_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user = coach_dirs / "config" / "voices"
    bad = write(user, "broken", GOOD.replace("pitch = 45", "pitch = 120"))
    write(user, "mine", GOOD)
    assert get_voice().name == "calm" and get_voice("mine").pitch == 45
    assert set(load_voices()) >= {"calm", "mine"} and "broken" not in load_voices()
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"coach: warning: skipped a broken voice file: {bad}:5: field 'pitch': "
        "120 is out of range 0..99"
    ], err  # once per process
    with pytest.raises(DataFileError) as e:
        get_voice("broken")
    assert (e.value.path, e.value.line, e.value.field) == (bad, 5, "pitch")
    write(user, "calm", GOOD.replace("rate = 150", "rate = 999"))  # the default, overridden badly
    with pytest.raises(DataFileError, match="calm.toml:3: field 'rate'"):
        get_voice()  # the user's own calm is meant, not silently the built-in one


def test_coach_say_writes_a_16k_wav(tmp_path: Path) -> None:
    out = tmp_path / "hello.wav"
    p = coach_cli("say", "Lie on your back, knees bent.", "--voice", "clear", "-o", str(out), timeout=60)
    assert p.returncode == 0, p.stderr
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        assert w.getnframes() > 16000  # over a second of speech
    x = read_wav(out)
    assert np.sqrt(np.mean(x**2)) > 0.03
    assert not list(tmp_path.glob(".*part"))  # atomic: no temp file left
    fast = tmp_path / "fast.wav"
    p = run_cli(
        [
            "say",
            "Lie on your back, knees bent.",
            "--voice",
            "clear",
            "--speed",
            "1.5",
            "-o",
            str(fast),
        ]
    )
    assert p.returncode == 0 and len(read_wav(fast)) < 0.8 * len(x)


def test_coach_say_user_mistakes_exit_cleanly(tmp_path: Path) -> None:
    for args, code, words in [
        (["say", "hi", "--voice", "nope"], 2, "unknown voice 'nope'"),
        (["say", "hi", "--speed", "9"], 2, "out of range"),
        (["say", "  "], 2, "empty"),
        (["say", "hi", "-o", str(tmp_path / "no" / "dir" / "x.wav")], 2, "not a writable"),
    ]:
        p = run_cli(args)
        assert p.returncode == code and words in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_coach_say_without_a_speaker(tmp_path: Path) -> None:
    """No device at all: PulseAudio pointed at a socket nobody listens on (a real, failing setup)."""
    env = {"PULSE_SERVER": f"unix:{tmp_path}/nothing"}
    p = run_cli(["say", "hello"], env)
    assert p.returncode == 1, p.stderr
    assert "no speaker found" in p.stderr and "-o FILE" in p.stderr
    assert "Traceback" not in p.stderr


def record_speaker_while(fn: Callable[[], object]) -> np.ndarray:
    """parecord on speaker.monitor, started and *connected* (first bytes in) before fn runs: on a
    loaded machine parecord can take over a second to connect and would miss the beginning."""
    proc = subprocess.Popen(
        ["parecord", "--device=speaker.monitor", "--rate=16000", "--channels=1"]
        + ["--format=s16le", "--raw", "--latency-msec=10"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    chunks: list[bytes] = []
    first = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        while data := os.read(proc.stdout.fileno(), 4096):
            chunks.append(data)
            first.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert first.wait(10), "parecord delivered nothing from speaker.monitor"
        fn()
        time.sleep(0.5)  # the last buffers
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        reader.join(timeout=10)
    raw = b"".join(chunks)
    return np.frombuffer(raw[: len(raw) // 2 * 2], "<i2").astype(np.float32) / 32768.0


@pytest.mark.audio
def test_coach_say_plays_on_the_speaker(virtual_audio: dict[str, str]) -> None:
    text = "Breathe in slowly, and let your belly rise."
    done: list[subprocess.CompletedProcess[str]] = []
    heard = record_speaker_while(lambda: done.append(run_cli(["say", text], virtual_audio)))
    assert done[0].returncode == 0, done[0].stderr
    loud = np.flatnonzero(np.abs(heard) > 0.05)
    assert len(loud), "nothing was heard on the speaker"
    assert np.sqrt(np.mean(heard[loud[0] : loud[-1]] ** 2)) > 0.03
    clip = SpeechRenderer().render(text, get_voice())
    span = (loud[-1] - loud[0]) / 16000
    assert span > 0.9 * len(clip) / 16000, (span, len(clip) / 16000)  # the whole sentence


def test_missing_espeak_data_is_a_clear_error(tmp_path: Path) -> None:
    """A real broken install: espeak-ng pointed at an empty data folder. Unchecked, espeak_Initialize
    prints one line and exit()s the process; the coach must say what is wrong instead."""
    env = {"ESPEAK_DATA_PATH": str(tmp_path), "COACH_CACHE_DIR": str(tmp_path / "cache")}
    for args in (["voices"], ["say", "hello", "-o", str(tmp_path / "x.wav")]):
        p = run_cli(args, env)
        assert p.returncode == 1, p.stderr
        assert (
            "coach: espeak-ng's voice data is missing" in p.stderr and "Traceback" not in p.stderr
        )
    assert not (tmp_path / "x.wav").exists()
