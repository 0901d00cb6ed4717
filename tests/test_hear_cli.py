"""`coach hear`: detections as text or JSON lines; bad input gives a clear error, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

from coach.audio.format import read_wav
from coach.cli import main


def _cat(out: Path, parts: list[np.ndarray], rate: int = 16000, channels: int = 1) -> Path:
    x = np.concatenate(parts)
    if rate != 16000:
        from coach.audio.format import resample

        x = resample(x, 16000, rate)
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    if channels == 2:
        pcm = np.repeat(pcm, 2)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return out


def test_hear_prints_json_lines(tmp_path: Path, speech_dir: Path, capsys) -> None:
    stop = read_wav(speech_dir / "stop" / "stop_1eddce1d_nohash_3.wav")
    bed = read_wav(speech_dir / "_none" / "bed_7ff085e1_nohash_0.wav")
    yes = read_wav(speech_dir / "yes" / "yes_439c84f4_nohash_1.wav")
    f = _cat(tmp_path / "seq.wav", [stop, bed, yes], rate=44100, channels=2)  # resampled, mixed
    assert main(["hear", "--json", "--engine", "pocketsphinx", str(f)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [d["intent"] for d in lines] == ["stop", "yes"]
    assert set(lines[0]) == {"intent", "phrase", "start", "end", "confidence"}
    assert lines[0]["end"] <= 1.1 and 2.0 <= lines[1]["start"] < lines[1]["end"] <= 3.1


def test_hear_bad_input_is_a_clear_error(tmp_path: Path, capsys) -> None:
    notwav = tmp_path / "x.wav"
    notwav.write_text("hello")
    empty = _cat(tmp_path / "empty.wav", [np.zeros(0, np.float32)])
    cases = {
        str(tmp_path / "missing.wav"): "no such file",
        str(notwav): "not a readable PCM WAV",
        str(empty): "holds no audio",
        str(tmp_path): "is a folder",
    }
    for path, message in cases.items():
        assert main(["hear", path]) == 1
        err = capsys.readouterr().err
        assert err.startswith("coach: ") and message in err and "Traceback" not in err


def test_hear_as_a_process_without_traceback(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "coach", "hear", str(tmp_path / "nope.wav")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1 and "no such file" in r.stderr and "Traceback" not in r.stderr
