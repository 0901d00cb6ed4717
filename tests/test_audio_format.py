"""The edges of the audio format: WAVs of any common shape come in as 16 kHz mono float32, and
headers that lie are refused with the file name instead of exhausting memory."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from coach.audio_format import RATE, read_wav, resample, write_wav
from coach.errors import CoachError


def _wav(path: Path, x: np.ndarray, rate: int, channels: int = 1, width: int = 2) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        if width == 2:
            w.writeframes((x * 32767).astype("<i2").tobytes())
        else:
            w.writeframes(((x * 127) + 128).astype(np.uint8).tobytes())
    return path


def test_stereo_48k_is_read_as_16k_mono(tmp_path: Path) -> None:
    t = np.arange(48_000) / 48_000
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([tone, tone], axis=1).reshape(-1)
    x = read_wav(_wav(tmp_path / "s.wav", stereo, 48_000, channels=2))
    assert abs(len(x) - RATE) <= 2
    spec = np.abs(np.fft.rfft(x))
    assert abs(np.fft.rfftfreq(len(x), 1 / RATE)[np.argmax(spec)] - 440) < 3


def test_8bit_and_odd_rate(tmp_path: Path) -> None:
    x = read_wav(_wav(tmp_path / "u8.wav", np.zeros(44_101), 44_101, width=1))
    assert abs(len(x) - RATE) < 20 and np.max(np.abs(x)) < 0.02


@pytest.mark.parametrize("rate", [1, 100, 4_294_967_295])
def test_lying_sample_rate_is_refused_with_the_file_name(tmp_path: Path, rate: int) -> None:
    p = _wav(tmp_path / "ok.wav", np.zeros(1600), 16_000)
    raw = bytearray(p.read_bytes())
    raw[24:28] = struct.pack("<I", rate)  # the fmt chunk's sample rate
    p.write_bytes(bytes(raw))
    with pytest.raises(CoachError, match="ok.wav: WAV header is invalid"):
        read_wav(p)


def test_not_a_wav_and_missing(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"hello, not audio")
    with pytest.raises(CoachError, match="a.wav: not a readable PCM WAV"):
        read_wav(tmp_path / "a.wav")
    with pytest.raises(CoachError, match="no such file"):
        read_wav(tmp_path / "missing.wav")


def test_write_is_atomic_and_round_trips(tmp_path: Path) -> None:
    x = (0.25 * np.sin(np.arange(RATE) / 10)).astype(np.float32)
    write_wav(tmp_path / "o.wav", x)
    assert not list(tmp_path.glob("*.part"))
    assert np.max(np.abs(read_wav(tmp_path / "o.wav") - x)) < 1e-3
    assert len(resample(x, RATE)) == RATE


def test_truncated_mid_frame_and_corrupt_chunk_size(tmp_path: Path) -> None:
    p = _wav(tmp_path / "t.wav", np.full(1600, 0.1), 16_000)
    good = p.read_bytes()
    p.write_bytes(good[:-1])  # odd byte count: the last sample is half there
    assert abs(len(read_wav(p)) - 1599) <= 1
    bad = bytearray(good)
    bad[16:20] = struct.pack("<I", 0xFFFFFFF0)  # fmt chunk claims 4 GB
    p.write_bytes(bytes(bad))
    with pytest.raises(CoachError, match="t.wav"):
        read_wav(p)
