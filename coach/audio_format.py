"""The one audio format inside the coach: 16 kHz mono float32 in [-1, 1], in 20 ms blocks.

Everything is converted to this at the edges (TTS output, user WAVs, device streams), so the
player, the listener and the session never have to think about formats.
"""

from __future__ import annotations

import wave
from fractions import Fraction
from math import gcd
from pathlib import Path

import numpy as np

from .errors import CoachError

RATE = 16_000
MIN_WAV_RATE, MAX_WAV_RATE, MAX_WAV_CHANNELS = 4_000, 384_000, 64
BLOCK = 320  # 20 ms: the player can be cut off within one block


def resample(x: np.ndarray, src_rate: int, dst_rate: int = RATE) -> np.ndarray:
    """Polyphase resampling (scipy), float32 out."""
    if src_rate == dst_rate:
        return np.asarray(x, dtype=np.float32)
    from scipy.signal import resample_poly

    g = gcd(src_rate, dst_rate)
    up, down = dst_rate // g, src_rate // g
    if max(up, down) > 1000:
        # An awkward ratio (e.g. 44101 Hz) would make the polyphase filter huge; a ratio within
        # 0.1 % is inaudible for speech and keeps memory bounded.
        f = Fraction(dst_rate, src_rate).limit_denominator(1000)
        up, down = f.numerator, f.denominator
    return resample_poly(x, up, down).astype(np.float32)


def to_int16(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)


def read_wav(path: Path | str, rate: int = RATE) -> np.ndarray:
    """Read a PCM WAV (8/16/24/32-bit, any rate, any channels) as mono float32 at `rate`.

    Raises CoachError with the file name for anything that is not a readable PCM WAV.
    """
    p = Path(path)
    if not p.exists():
        raise CoachError(f"{p}: no such file")
    if p.is_dir():
        raise CoachError(f"{p}: is a folder, not a WAV file")
    try:
        with wave.open(str(p), "rb") as w:
            ch, width, src_rate, n = (
                w.getnchannels(),
                w.getsampwidth(),
                w.getframerate(),
                w.getnframes(),
            )
            raw = w.readframes(n)
    except (wave.Error, EOFError, OSError, RuntimeError, ValueError) as e:
        raise CoachError(f"{p}: not a readable PCM WAV file ({e})") from None
    if not (1 <= ch <= MAX_WAV_CHANNELS and MIN_WAV_RATE <= src_rate <= MAX_WAV_RATE):
        raise CoachError(
            f"{p}: WAV header is invalid or unsupported (channels={ch}, rate={src_rate} Hz; "
            f"expected 1..{MAX_WAV_CHANNELS} channels at {MIN_WAV_RATE}..{MAX_WAV_RATE} Hz)"
        )
    raw = raw[: len(raw) // (width * ch) * (width * ch)]  # a truncated file ends mid-frame
    if width == 1:
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8)[: len(raw) // 3 * 3].reshape(-1, 3)
        v = (
            b[:, 0].astype(np.int32)
            | (b[:, 1].astype(np.int32) << 8)
            | (b[:, 2].astype(np.int32) << 16)
        )
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v.astype(np.float32) / float(1 << 23)
    elif width == 4:
        x = np.frombuffer(raw, "<i4").astype(np.float32) / float(1 << 31)
    else:
        raise CoachError(f"{p}: unsupported sample width {width} bytes")
    x = x[: len(x) // ch * ch]
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1)
    return resample(x, src_rate, rate)


def write_wav(path: Path | str, x: np.ndarray, rate: int = RATE) -> None:
    """Write mono 16-bit PCM atomically (temp file + rename): never a half-written file."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.part")
    try:
        with wave.open(str(tmp), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(to_int16(np.asarray(x, dtype=np.float32)).tobytes())
        tmp.replace(p)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise CoachError(f"{p}: cannot write WAV ({e.strerror or e})") from None
