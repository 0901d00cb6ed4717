"""The one audio format inside the coach: 16 kHz mono float32 in [-1, 1], in 20 ms blocks.

Everything is converted to this at the edges (TTS output, user WAVs, device streams), so the
player, the listener and the session never have to think about formats.
"""

from __future__ import annotations

import struct
import wave
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from pathlib import Path

import numpy as np

from coach.errors import CoachError

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


# WAV format tags (the fmt chunk's first field); WAVE_FORMAT_EXTENSIBLE carries the real one in
# the first two bytes of its sub-format GUID, followed by this fixed tail.
WAVE_PCM, WAVE_FLOAT, WAVE_EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
_TAG_NAMES = {
    0x0002: "Microsoft ADPCM",
    0x0006: "A-law",
    0x0007: "mu-law",
    0x0011: "IMA ADPCM",
    0x0031: "GSM 6.10",
    0x0050: "MPEG",
    0x0055: "MP3",
}
_SAVE_AS = "save it as a PCM WAV (8/16/24/32-bit integer or 32/64-bit float)"


@dataclass(frozen=True)
class _Fmt:
    tag: int  # WAVE_PCM or WAVE_FLOAT (an extensible header's sub-format)
    channels: int
    rate: int
    bits: int


def _what_else(raw: bytes) -> str:
    if raw[:3] == b"ID3" or raw[:2] in (b"\xff\xfb", b"\xff\xf3"):
        return "it looks like an MP3, not a WAV"
    if raw[:4] == b"RF64":
        return "it is an RF64 (very large) WAV, which is not supported"
    return "it does not start with RIFF...WAVE (is it another kind of file?)"


def _parse_wav(p: Path, raw: bytes) -> tuple[_Fmt, memoryview, int]:
    """The format and the audio bytes of a RIFF/WAVE file, or CoachError saying what is wrong.

    A data chunk that claims more than the file holds (a cut recording, or a streaming writer's
    placeholder size) gives the bytes that are there; the size it claimed comes third."""

    def bad(reason: str) -> CoachError:
        return CoachError(f"{p}: not a readable PCM WAV file: {reason}")

    n = len(raw)
    if n == 0:
        raise bad("the file is empty (0 bytes)")
    if n < 12 and raw[:4] == b"RIFF"[: min(n, 4)]:
        raise bad(f"the file is cut short: {n} bytes, not even a whole WAV header")
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise bad(_what_else(raw))
    fmt: _Fmt | None = None
    pos = 12
    while pos + 8 <= n:
        cid, size = raw[pos : pos + 4], struct.unpack_from("<I", raw, pos + 4)[0]
        body = pos + 8
        if cid == b"data":
            if fmt is None:
                raise bad("the audio data comes before its format ('fmt ' chunk)")
            return fmt, memoryview(raw)[body : min(body + size, n)], size
        if body + size > n:
            if fmt is None or cid == b"fmt ":
                raise bad(
                    f"its {cid.decode('latin-1')!r} chunk claims {size} bytes but only "
                    f"{n - body} are left: the file is cut short or corrupt"
                )
            break  # some other chunk runs off the end: no data chunk can follow it
        if cid == b"fmt ":
            fmt = _parse_fmt(raw[body : body + size], bad)
        pos = body + size + (size & 1)  # chunks are padded to an even size
    if fmt is None:
        raise bad(f"the file is cut short: {n} bytes and no format ('fmt ') chunk")
    raise bad(f"the file is cut short: {n} bytes, a header and no audio ('data' chunk)")


def _parse_fmt(b: bytes, bad: Callable[[str], CoachError]) -> _Fmt:
    if len(b) < 16:
        raise bad(f"its format chunk is {len(b)} bytes, less than the 16 a WAV needs")
    tag, ch, rate, _byte_rate, _align, bits = struct.unpack_from("<HHIIHH", b)
    if tag == WAVE_EXTENSIBLE:
        if len(b) < 40 or b[26:40] != _GUID_TAIL:
            raise bad("its extensible format chunk is cut or has an unknown sub-format")
        tag = struct.unpack_from("<H", b, 24)[0]
    if tag not in (WAVE_PCM, WAVE_FLOAT):
        name = _TAG_NAMES.get(tag, "an unknown encoding")
        raise bad(f"the audio is {name} (format tag {tag}), not PCM; {_SAVE_AS}")
    return _Fmt(tag, ch, rate, bits)


@dataclass(frozen=True)
class WavInfo:
    """What a readable WAV holds, from its header (nothing decoded)."""

    path: Path
    channels: int
    rate: int
    bits: int
    kind: str  # "integer" or "float"
    frames: int  # whole frames in the file
    claimed_frames: int  # what the header says (more than `frames` when the file is cut short)

    @property
    def seconds(self) -> float:
        return self.frames / self.rate


def _open_wav(path: Path | str) -> tuple[WavInfo, memoryview]:
    p = Path(path)
    if not p.exists():
        raise CoachError(f"{p}: no such file")
    if p.is_dir():
        raise CoachError(f"{p}: is a folder, not a WAV file")
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise CoachError(f"{p}: cannot read the file ({e.strerror or e})") from None
    fmt, data, claimed = _parse_wav(p, raw)
    ch, src_rate = fmt.channels, fmt.rate
    if not (1 <= ch <= MAX_WAV_CHANNELS and MIN_WAV_RATE <= src_rate <= MAX_WAV_RATE):
        raise CoachError(
            f"{p}: WAV header is invalid or unsupported (channels={ch}, rate={src_rate} Hz; "
            f"expected 1..{MAX_WAV_CHANNELS} channels at {MIN_WAV_RATE}..{MAX_WAV_RATE} Hz)"
        )
    width = (fmt.bits + 7) // 8
    kind = "float" if fmt.tag == WAVE_FLOAT else "integer"
    if (kind, width) not in {("integer", 1), ("integer", 2), ("integer", 3), ("integer", 4),
                             ("float", 4), ("float", 8)}:  # fmt: skip
        raise CoachError(
            f"{p}: not a readable PCM WAV file: {fmt.bits}-bit {kind} samples are not supported; "
            f"{_SAVE_AS}"
        )
    frame = width * ch
    info = WavInfo(p, ch, src_rate, fmt.bits, kind, len(data) // frame, claimed // frame)
    return info, data[: info.frames * frame]  # a truncated file ends mid-frame


def wav_info(path: Path | str) -> WavInfo:
    """The header of a WAV read_wav can read (CoachError, with the reason, for any other file)."""
    return _open_wav(path)[0]


def read_wav(path: Path | str, rate: int = RATE) -> np.ndarray:
    """Read a WAV (8/16/24/32-bit integer or 32/64-bit float PCM, also WAVE_FORMAT_EXTENSIBLE;
    any rate, any channels) as mono float32 at `rate`.

    Raises CoachError with the file name and the reason for anything else: empty, cut short,
    another kind of file, a compressed encoding, a header that lies.
    """
    info, b = _open_wav(path)
    kind, width, ch = info.kind, (info.bits + 7) // 8, info.channels
    if kind == "float":
        f = np.frombuffer(b, "<f4" if width == 4 else "<f8")
        x = np.clip(np.nan_to_num(f, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
        x = x.astype(np.float32)
    elif width == 1:
        x = (np.frombuffer(b, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(b, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        u = np.frombuffer(b, np.uint8).reshape(-1, 3)
        v = (
            u[:, 0].astype(np.int32)
            | (u[:, 1].astype(np.int32) << 8)
            | (u[:, 2].astype(np.int32) << 16)
        )
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v.astype(np.float32) / float(1 << 23)
    else:
        x = np.frombuffer(b, "<i4").astype(np.float32) / float(1 << 31)
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1)
    return resample(x, info.rate, rate)


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
