"""The edges of the audio format: WAVs of any common shape come in as 16 kHz mono float32, and
headers that lie are refused with the file name instead of exhausting memory."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from coach.audio.format import RATE, read_wav, resample, write_wav
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


# --- float, 24-bit and extensible WAVs; empty and cut files say what is wrong ------------------


def _riff(
    path: Path, data: bytes, tag: int, bits: int, rate: int = 16_000, ch: int = 1, ext: bool = False
) -> Path:
    """A WAV built byte by byte (the stdlib wave module writes integer PCM only)."""
    align = ch * bits // 8
    fmt = struct.pack("<HHIIHH", 0xFFFE if ext else tag, ch, rate, rate * align, align, bits)
    if ext:  # WAVE_FORMAT_EXTENSIBLE: cbSize, valid bits, channel mask, sub-format GUID
        guid = struct.pack("<H", tag) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt += struct.pack("<HHI", 22, bits, 0x3 if ch == 2 else 0x4) + guid
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def _tone(n: int = RATE, rate: int = RATE, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * 440 * np.arange(n) / rate)).astype(np.float64)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_wavs_written_by_scipy_are_read(tmp_path: Path, dtype: str) -> None:
    from scipy.io import wavfile  # an independent writer: WAVE_FORMAT_IEEE_FLOAT (tag 3)

    t = _tone(44_100, 44_100)
    wavfile.write(tmp_path / "f.wav", 44_100, np.stack([t, t], axis=1).astype(dtype))
    assert struct.unpack_from("<H", (tmp_path / "f.wav").read_bytes(), 20)[0] == 3
    x = read_wav(tmp_path / "f.wav")
    assert x.dtype == np.float32 and abs(len(x) - RATE) <= 2
    assert abs(float(np.max(np.abs(x[100:-100]))) - 0.5) < 0.01


def test_float_wav_out_of_range_and_nan_is_clipped(tmp_path: Path) -> None:
    f = np.array([0.25, 2.0, -3.0, np.nan, np.inf], "<f4")
    x = read_wav(_riff(tmp_path / "f.wav", f.tobytes(), tag=3, bits=32))
    assert np.allclose(x, [0.25, 1.0, -1.0, 0.0, 1.0])


def test_24_bit_and_extensible_wavs(tmp_path: Path) -> None:
    t = _tone()
    v = np.round(t * (2**23 - 1)).astype("<i4")
    b24 = np.stack([v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF], axis=1).astype(np.uint8)
    x = read_wav(_riff(tmp_path / "i24.wav", b24.tobytes(), tag=1, bits=24))
    assert np.max(np.abs(x - t)) < 1e-5
    x = read_wav(_riff(tmp_path / "e24.wav", b24.tobytes(), tag=1, bits=24, ext=True))
    assert np.max(np.abs(x - t)) < 1e-5
    st = np.repeat(t.astype("<f4"), 2).tobytes()
    x = read_wav(_riff(tmp_path / "ef.wav", st, tag=3, bits=32, ch=2, ext=True))
    assert np.max(np.abs(x - t)) < 1e-6


@pytest.mark.parametrize(
    "cut,reason",
    [
        (0, r"e\.wav: not a readable PCM WAV file: the file is empty \(0 bytes\)"),
        (10, r"the file is cut short: 10 bytes, not even a whole WAV header"),
        (30, r"'fmt ' chunk claims 16 bytes but only 10 are left: the file is cut short"),
        (40, r"the file is cut short: 40 bytes, a header and no audio \('data' chunk\)"),
    ],
)
def test_empty_and_cut_files_say_why(tmp_path: Path, cut: int, reason: str) -> None:
    good = _wav(tmp_path / "g.wav", np.zeros(1600), 16_000).read_bytes()
    (tmp_path / "e.wav").write_bytes(good[:cut])
    with pytest.raises(CoachError, match=reason):
        read_wav(tmp_path / "e.wav")


@pytest.mark.parametrize(
    "tag,bits,reason",
    [
        (6, 8, r"the audio is A-law \(format tag 6\), not PCM; save it as a PCM WAV"),
        (0x55, 16, r"the audio is MP3 \(format tag 85\)"),
        (3, 16, r"16-bit float samples are not supported"),
        (1, 40, r"40-bit integer samples are not supported"),
    ],
)
def test_unsupported_encodings_are_named(tmp_path: Path, tag: int, bits: int, reason: str) -> None:
    with pytest.raises(CoachError, match="u.wav: not a readable PCM WAV file: " + reason):
        read_wav(_riff(tmp_path / "u.wav", bytes(64), tag=tag, bits=bits))


def test_another_kind_of_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "s.wav").write_bytes(b"ID3\x04\x00" + bytes(200))
    with pytest.raises(
        CoachError, match="s.wav: not a readable PCM WAV file: it looks like an MP3"
    ):
        read_wav(tmp_path / "s.wav")
