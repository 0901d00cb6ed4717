"""The file back end: WAV mic in, WAV speaker out, noise floor, room echo."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from coach.audio.files import FileAudio
from coach.audio.format import BLOCK, RATE, read_wav
from coach.errors import CoachError


def run(io: FileAudio, outs: list[np.ndarray]) -> np.ndarray:
    with io:
        return np.concatenate([io.exchange(o) for o in outs])


def test_mic_comes_from_a_wav_at_any_rate_then_speaker_is_written(
    tmp_path: Path, espeak: object
) -> None:
    src = espeak("breathe in slowly")  # espeak-ng writes 22050 Hz
    with wave.open(str(src)) as w:
        assert w.getframerate() != RATE
    voice = read_wav(src)
    rng = np.random.default_rng(1)
    outs = [
        rng.uniform(-0.5, 0.5, BLOCK).astype(np.float32) for _ in range(len(voice) // BLOCK + 20)
    ]
    spk = tmp_path / "speaker.wav"
    io = FileAudio(src, spk)
    mic = run(io, outs)
    assert np.allclose(mic[: len(voice)], voice)
    assert io.mic_done
    assert io.clock.now() == pytest.approx(len(outs) * BLOCK / RATE)
    back = read_wav(spk)
    assert len(back) == len(outs) * BLOCK
    assert np.max(np.abs(back - np.concatenate(outs))) < 1e-4  # 16-bit rounding only
    assert not list(tmp_path.glob(".*part"))


def test_after_the_wav_the_mic_is_a_quiet_noise_floor_not_zeros(tmp_path: Path) -> None:
    io = FileAudio(None, None, noise_floor_db=-60, seed=3)
    mic = run(io, [np.zeros(BLOCK, np.float32)] * 100)
    assert io.mic_done
    assert np.count_nonzero(mic) == len(mic)  # never dead-flat
    level_db = 20 * np.log10(np.sqrt(np.mean(mic.astype(np.float64) ** 2)))
    assert -61.0 < level_db < -59.0
    again = run(
        FileAudio(None, None, noise_floor_db=-60, seed=3), [np.zeros(BLOCK, np.float32)] * 100
    )
    assert np.array_equal(mic, again)  # seeded: reproducible runs


def test_room_echo_mixes_the_speaker_back_into_the_mic_after_the_delay() -> None:
    t = np.arange(BLOCK * 50) / RATE
    played = (0.5 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    outs = list(played.reshape(-1, BLOCK))
    io = FileAudio(None, None, echo_gain=0.3, echo_delay_s=0.05, noise_floor_db=-90)
    mic = run(io, outs)
    d = round(0.05 * RATE)
    assert np.max(np.abs(mic[:d])) < 1e-3  # nothing before the echo arrives
    assert np.allclose(mic[d:], 0.3 * played[:-d], atol=1e-3)
    dry = run(FileAudio(None, None, noise_floor_db=-90), outs)
    assert np.max(np.abs(dry)) < 1e-3


def test_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(CoachError, match="no such file"):
        FileAudio(tmp_path / "missing.wav").open()
    with pytest.raises(CoachError, match="does not exist"):
        FileAudio(None, tmp_path / "nope" / "out.wav").open()
    with pytest.raises(CoachError, match="before open"):
        FileAudio().exchange(np.zeros(BLOCK, np.float32))


# --- the mic WAV is checked before anything else (a usage error, exit 2) -----------------------


def _zero_frames(path: Path) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(b"")
    return path


def _bad_mic_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = tmp_path / "good.wav"
    with wave.open(str(good), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(bytes(3200))
    raw = good.read_bytes()
    files = {
        "missing": (tmp_path / "missing.wav", "no such file"),
        "folder": (tmp_path, "is a folder"),
        "empty": (tmp_path / "empty.wav", "the file is empty \\(0 bytes\\)"),
        "cut-header": (
            tmp_path / "cut.wav",
            "the file is cut short: 30 bytes|cut short or corrupt",
        ),
        "header-only": (tmp_path / "hdr.wav", "cut short \\(its header promises 0.10 s of audio"),
        "zero-frames": (_zero_frames(tmp_path / "zero.wav"), "it holds no audio \\(0 frames\\)"),
        "text": (tmp_path / "notes.wav", "does not start with RIFF"),
    }
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "cut.wav").write_bytes(raw[:30])
    (tmp_path / "hdr.wav").write_bytes(raw[:44])
    (tmp_path / "notes.wav").write_text("not audio\n")
    return files


def test_check_mic_file_refuses_unusable_recordings_as_usage_errors(tmp_path: Path) -> None:
    from coach.audio.files import check_mic_file
    from coach.errors import UsageError

    for name, (path, reason) in _bad_mic_files(tmp_path).items():
        with pytest.raises(UsageError, match=reason) as e:
            check_mic_file(path)
        assert e.value.exit_code == 2 and str(path) in str(e.value), name
        with pytest.raises(UsageError, match=reason):
            FileAudio(path, tmp_path / "out.wav")  # refused when the back end is made
    floats = tmp_path / "float.wav"
    from scipy.io import wavfile

    wavfile.write(floats, 48_000, np.full(4800, 0.25, np.float32))
    info = check_mic_file(floats)
    assert (info.kind, info.bits, info.rate, info.frames) == ("float", 32, 48_000, 4800)


def test_cli_run_refuses_an_empty_mic_wav_before_preparing_speech(tmp_path: Path) -> None:
    import time

    from tests.conftest import coach_cli

    (tmp_path / "empty.wav").write_bytes(b"")
    for path in (_zero_frames(tmp_path / "zero.wav"), tmp_path / "empty.wav"):
        out = tmp_path / "out.wav"
        t0 = time.monotonic()
        r = coach_cli("run", "trunk-rotation", "--mic-file", str(path), "--speaker-file", str(out))
        assert r.returncode == 2, r.stderr
        assert r.stderr.startswith(f"coach: {path}: not a"), r.stderr
        assert "preparing speech" not in r.stderr and "Traceback" not in r.stderr
        assert not out.exists() and time.monotonic() - t0 < 20
