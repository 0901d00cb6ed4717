"""Fuzz-style bad input: hundreds of broken data files and WAVs, each must be refused cleanly.

Mutations of the real trunk-rotation.toml (deleted lines, wrong types, bad enums, truncation,
binary garbage, non-UTF-8) and of a real WAV (headers cut, wrong magic, absurd rates and sizes)
are fed to the loaders in-process: every one either loads or raises a CoachError that names the
file (and the line/field when the mutation targeted one) — never any other exception. A sample
goes through the real CLI in a subprocess: non-zero exit and no traceback.
"""

from __future__ import annotations

import os
import random
import re
import resource
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from coach import paths
from coach.audio.format import read_wav, write_wav
from coach.errors import CoachError, DataFileError
from coach.exercise.routine import load_routine

SEED_ROUTINE = paths.BUILTIN_ROUTINES / "trunk-rotation.toml"
SEED = 20261126


def _value_lines(lines: list[str]) -> list[int]:
    return [i for i, s in enumerate(lines) if re.match(r"^\s*[A-Za-z_]+\s*=", s)]


def _set_value(lines: list[str], i: int, value: str) -> tuple[list[str], str, int]:
    key = lines[i].split("=", 1)[0].strip()
    out = list(lines)
    out[i] = f"{key} = {value}"
    return out, key, i + 1


WRONG_VALUES = ["42", "-1", "3.5", "true", '"text"', "[1, 2]", '["x"]', "{ a = 1 }", '""', "0"]
BAD_ENUMS = {
    "position": '"upside-down"',
    "intensity": '"extreme"',
    "phase": '"hold"',
    "counts": '"middle"',
    "motion": '["twirl"]',
    "sides": '["up"]',
    "id": '"another-name"',
    "voice": '"zz/no-such-voice"',
    "rate": "1000",
    "pitch": "-5",
    "volume": "7.5",
    "threshold": "2.0",
    "phrases": '[""]',
    "code": "42",
}


def routine_mutations(
    text: str, rng: random.Random, n: int
) -> Iterator[tuple[str, bytes, str | None, int | None]]:
    """(kind, file bytes, field expected in the message or None, line expected or None)."""
    lines = text.splitlines()
    vals = _value_lines(lines)
    kinds = [
        "delete",
        "wrong-type",
        "bad-enum",
        "truncate",
        "garbage",
        "non-utf8",
        "dup",
        "unknown",
    ]
    for k in range(n):
        kind = kinds[k % len(kinds)]
        if kind == "delete":
            i = rng.randrange(len(lines))
            out = lines[:i] + lines[i + 1 :]
            yield kind, "\n".join(out).encode(), None, None
        elif kind == "wrong-type":
            i = rng.choice(vals)
            out, key, line = _set_value(lines, i, rng.choice(WRONG_VALUES))
            # the value may happen to be valid for that key (e.g. "0" where an int is wanted)
            yield kind, "\n".join(out).encode(), None, None
        elif kind == "bad-enum":
            cands = [i for i in vals if lines[i].split("=")[0].strip() in BAD_ENUMS]
            if not cands:
                continue
            i = rng.choice(cands)
            key = lines[i].split("=")[0].strip()
            out, key, line = _set_value(lines, i, BAD_ENUMS[key])
            yield kind, "\n".join(out).encode(), key, line
        elif kind == "truncate":
            cut = rng.randrange(len(text))
            yield kind, text.encode()[:cut], None, None
        elif kind == "garbage":
            raw = bytearray(text.encode())
            at = rng.randrange(len(raw))
            raw[at : at + rng.randint(1, 40)] = bytes(rng.randrange(256) for _ in range(20))
            yield kind, bytes(raw), None, None
        elif kind == "non-utf8":
            i = rng.randrange(len(lines))
            enc = [s.encode() for s in lines]
            raw = b"\n".join([*enc[:i], b"\xff\xfe\xc3(" + enc[i], *enc[i + 1 :]])
            yield kind, raw, None, i + 1
        elif kind == "dup":
            i = rng.choice(vals)
            out = lines[: i + 1] + [lines[i]] + lines[i + 1 :]
            yield kind, ("\n".join(out) + "\n").encode(), None, i + 2
        else:
            i = rng.choice(vals)
            out = lines[: i + 1] + ["colour = 'blue'"] + lines[i + 1 :]
            yield kind, ("\n".join(out) + "\n").encode(), "colour", i + 2


def test_fuzzed_routines_fail_cleanly(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    text = SEED_ROUTINE.read_text(encoding="utf-8")
    path = tmp_path / "trunk-rotation.toml"
    failures, loaded = 0, 0
    for kind, raw, field, line in routine_mutations(text, rng, 320):
        path.write_bytes(raw)
        try:
            load_routine(path)
            loaded += 1
            continue
        except DataFileError as e:
            failures += 1
            msg = str(e)
            assert msg.startswith(str(path)), (kind, msg)
            if field is not None:
                assert f"'{field}'" in msg or e.field and e.field.endswith(field), (kind, msg)
            if line is not None:
                assert e.line == line, (kind, line, msg)
        except CoachError as e:  # pragma: no cover - must be a DataFileError for data files
            pytest.fail(f"{kind}: {type(e).__name__} instead of DataFileError: {e}")
        except Exception as e:
            pytest.fail(f"{kind}: {type(e).__name__}: {e}\n--- file ---\n{raw[:2000]!r}")
    # the generator really breaks files (a test that cannot fail proves nothing)
    assert failures > 200 and loaded < failures, (failures, loaded)


def _wav_bytes(x: np.ndarray, rate: int = 16000, ch: int = 1, width: int = 2) -> bytes:
    data = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes() if width == 2 else bytes(len(x))
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, ch, rate, rate * ch * width, ch * width, width * 8)
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


def _set(raw: bytes, at: int, fmt: str, v: int) -> bytes:
    b = bytearray(raw)
    struct.pack_into(fmt, b, at, v)
    return bytes(b)


def wav_cases(good: bytes, rng: random.Random, n: int) -> Iterator[tuple[str, bytes]]:
    fixed: list[tuple[str, Callable[[bytes], bytes]]] = [
        ("empty", lambda r: b""),
        ("header-cut-10", lambda r: r[:10]),
        ("header-cut-30", lambda r: r[:30]),
        ("header-only", lambda r: r[:44]),
        ("wrong-magic", lambda r: b"RIFX" + r[4:]),
        ("not-wave", lambda r: r[:8] + b"AVI " + r[12:]),
        ("mp3-ish", lambda r: b"ID3\x04" + r[4:]),
        ("float-format", lambda r: _set(r, 20, "<H", 3)),
        ("alaw", lambda r: _set(r, 20, "<H", 6)),
        ("zero-channels", lambda r: _set(r, 22, "<H", 0)),
        ("zero-rate", lambda r: _set(r, 24, "<I", 0)),
        ("rate-1hz", lambda r: _set(r, 24, "<I", 1)),
        ("rate-4ghz", lambda r: _set(r, 24, "<I", 0xFFFFFFFF)),
        ("rate-odd", lambda r: _set(r, 24, "<I", 44_101)),
        ("width-0", lambda r: _set(r, 34, "<H", 0)),
        ("width-12", lambda r: _set(r, 34, "<H", 12)),
        ("width-64", lambda r: _set(r, 34, "<H", 64)),
        ("huge-data-claim", lambda r: _set(r, 40, "<I", 0xFFFFFFF0)),
        ("huge-riff-claim", lambda r: _set(r, 4, "<I", 0xFFFFFFF0)),
        ("channels-65535", lambda r: _set(r, 22, "<H", 65535)),
        ("odd-bytes", lambda r: r + b"\x01"),
        ("text-file", lambda r: b"this is not audio\n" * 10),
    ]
    for name, f in fixed:
        yield name, f(good)
    for k in range(n):
        raw = bytearray(good)
        mode = k % 3
        if mode == 0:  # flip header bytes
            for _ in range(rng.randint(1, 6)):
                raw[rng.randrange(44)] = rng.randrange(256)
        elif mode == 1:  # truncate anywhere
            raw = raw[: rng.randrange(len(raw))]
        else:  # random header field values
            at, fmt = rng.choice([(22, "<H"), (24, "<I"), (32, "<H"), (34, "<H"), (40, "<I")])
            raw = bytearray(
                _set(bytes(raw), at, fmt, rng.randrange(2 ** (8 * struct.calcsize(fmt))))
            )
        yield f"fuzz-{k}", bytes(raw)


@contextmanager
def memory_cap(extra_bytes: int = 3 << 30) -> Iterator[None]:
    """Cap this process's address space for the block, so a loader that trusts an absurd header
    fails with MemoryError (reported as a bug) instead of exhausting the shared machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        vm = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (vm + extra_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def test_fuzzed_wavs_load_or_fail_cleanly(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    x = np.sin(np.arange(8000) * 2 * np.pi * 440 / 16000).astype(np.float32) * 0.5
    good = _wav_bytes(x)
    path = tmp_path / "clip.wav"
    errors, bad = 0, []
    for name, raw in wav_cases(good, rng, 300):
        path.write_bytes(raw)
        try:
            with memory_cap():
                y = read_wav(path)
        except CoachError as e:
            errors += 1
            if str(path) not in str(e):
                bad.append(f"{name}: message does not name the file: {e}")
            continue
        except Exception as e:
            bad.append(f"{name}: {type(e).__name__}: {str(e)[:120]} (header {raw[:44]!r})")
            continue
        if not (y.dtype == np.float32 and y.ndim == 1 and np.all(np.isfinite(y))):
            bad.append(f"{name}: loaded as {y.dtype} {y.shape} with non-finite samples")
        elif len(y) and np.max(np.abs(y)) > 1.0001:
            bad.append(f"{name}: samples out of [-1, 1]")
    assert not bad, "\n".join(bad)
    assert errors > 50, errors


@pytest.mark.parametrize(
    "name,kind",
    [("stereo", "ok"), ("48k", "ok"), ("8bit", "ok"), ("zero-frames", "ok")],
)
def test_unusual_but_valid_wavs_load(tmp_path: Path, name: str, kind: str) -> None:
    import wave

    p = tmp_path / f"{name}.wav"
    t = np.arange(4800) / 48000
    with wave.open(str(p), "wb") as w:
        w.setnchannels(2 if name == "stereo" else 1)
        w.setsampwidth(1 if name == "8bit" else 2)
        w.setframerate(48000 if name == "48k" else 16000)
        if name == "zero-frames":
            w.writeframes(b"")
        elif name == "8bit":
            w.writeframes((np.sin(2 * np.pi * 440 * t) * 100 + 128).astype(np.uint8).tobytes())
        else:
            s = (np.sin(2 * np.pi * 440 * t) * 10000).astype("<i2")
            w.writeframes(np.repeat(s, 2).tobytes() if name == "stereo" else s.tobytes())
    y = read_wav(p)
    assert y.dtype == np.float32
    if name == "zero-frames":
        assert len(y) == 0
    else:
        assert 0.1 < float(np.max(np.abs(y))) <= 1.0


def _coach(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coach", *args], capture_output=True, text=True, timeout=60, env=env
    )


def test_cli_rejects_broken_routine_files_without_traceback(tmp_path: Path) -> None:
    """A sample of the mutations through the real `coach run` (user routine file given by path)."""
    rng = random.Random(SEED + 1)
    text = SEED_ROUTINE.read_text(encoding="utf-8")
    cases = list(routine_mutations(text, rng, 16))
    for n, (kind, raw, _field, _line) in enumerate(cases[:8]):
        p = tmp_path / f"broken{n}" / "trunk-rotation.toml"
        p.parent.mkdir()
        p.write_bytes(raw)
        try:
            load_routine(p)
            continue  # this mutation happened to be valid
        except DataFileError:
            pass
        mic, out = tmp_path / "mic.wav", tmp_path / "out.wav"
        write_wav(mic, np.zeros(1600, np.float32))
        r = _coach("run", str(p), "--mic-file", str(mic), "--speaker-file", str(out))
        assert r.returncode != 0, (kind, r.stdout)
        assert "Traceback" not in r.stderr, (kind, r.stderr)
        assert str(p) in r.stderr, (kind, r.stderr)


def _fuzz_loader(
    src: Path, dest: Path, load: Callable[[Path], object], n: int, seed: int
) -> tuple[int, int, list[str]]:
    """Feed `n` mutations of `src` (written to `dest`) to `load`; (refused, loaded, problems)."""
    rng = random.Random(seed)
    text = src.read_text(encoding="utf-8")
    refused, loaded, bad = 0, 0, []
    for kind, raw, field, line in routine_mutations(text, rng, n):
        dest.write_bytes(raw)
        try:
            load(dest)
            loaded += 1
        except DataFileError as e:
            refused += 1
            if not str(e).startswith(str(dest)):
                bad.append(f"{kind}: message does not start with the file: {e}")
            named = f"'{field}'" in str(e) or (e.field or "").rsplit(".", 1)[-1] == field
            if field is not None and field != "id" and not named:
                bad.append(f"{kind}: message does not name field {field!r}: {e}")
            if line is not None and e.line != line:
                bad.append(f"{kind}: line {e.line} instead of {line}: {e}")
        except CoachError as e:
            bad.append(f"{kind}: {type(e).__name__} instead of DataFileError: {e}")
        except Exception as e:
            bad.append(f"{kind}: {type(e).__name__}: {e}")
    return refused, loaded, bad


def test_fuzzed_voice_files_fail_cleanly(tmp_path: Path) -> None:
    from coach.speech.tts import espeak_voice_ids
    from coach.speech.voice import load_voice

    ids = espeak_voice_ids()
    src = paths.BUILTIN_VOICES / "calm.toml"
    refused, loaded, bad = _fuzz_loader(
        src, tmp_path / "calm.toml", lambda p: load_voice(p, ids), 160, SEED + 2
    )
    assert not bad, "\n".join(bad[:20])
    assert refused > 80, (refused, loaded)


def test_fuzzed_language_packs_fail_cleanly(tmp_path: Path) -> None:
    from coach.listening.langpack import load_langpack_file

    for lang in ("en", "ko"):
        src = paths.BUILTIN_LANG / f"{lang}.toml"
        refused, loaded, bad = _fuzz_loader(
            src, tmp_path / f"{lang}.toml", load_langpack_file, 160, SEED + 3
        )
        assert not bad, "\n".join(bad[:20])
        assert refused > 60, (lang, refused, loaded)


def test_broken_model_folders_are_refused_with_the_folder_named(tmp_path: Path) -> None:
    from coach.errors import ModelError
    from coach.listening.models import validate_model_dir

    def make(name: str, files: dict[str, bytes]) -> Path:
        d = tmp_path / name
        d.mkdir()
        for rel, data in files.items():
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            (d / rel).write_bytes(data)
        return d

    junk = os.urandom(256)
    cases = [
        tmp_path / "missing",
        make("empty", {}),
        make("only-am", {"am/final.mdl": junk}),
        make("no-graph", {"am/final.mdl": junk, "conf/mfcc.conf": b"--x\n"}),
        make("half-graph", {"am/final.mdl": junk, "conf/mfcc.conf": b"", "graph/HCLr.fst": junk}),
        make(
            "broken-ivector",
            {
                "am/final.mdl": junk,
                "conf/mfcc.conf": b"",
                "graph/HCLG.fst": junk,
                "ivector/x": junk,
            },
        ),
        make("zip-not-folder", {}) / "model.zip",
    ]
    cases[-1].write_bytes(b"PK\x03\x04" + junk)
    for c in cases:
        with pytest.raises(ModelError) as e:
            validate_model_dir(c)
        assert str(c) in str(e.value), str(e.value)


def test_cli_hear_rejects_broken_wavs_without_traceback(tmp_path: Path) -> None:
    """A sample of the broken WAVs through the real `coach hear` (and `coach run --mic-file`)."""
    x = np.sin(np.arange(8000) * 2 * np.pi * 440 / 16000).astype(np.float32) * 0.5
    good = _wav_bytes(x)
    picks = {"empty", "header-cut-30", "wrong-magic", "float-format", "rate-4ghz", "text-file"}
    cases = [(n, raw) for n, raw in wav_cases(good, random.Random(SEED), 0) if n in picks]
    assert len(cases) == len(picks)
    for name, raw in cases:
        p = tmp_path / f"{name}.wav"
        p.write_bytes(raw)
        r = _coach("hear", str(p))
        assert r.returncode != 0, (name, r.stdout)
        assert "Traceback" not in r.stderr, (name, r.stderr)
        assert str(p) in r.stderr, (name, r.stderr)
    out = tmp_path / "out.wav"
    r = _coach("run", "trunk-rotation", "--mic-file", str(p), "--speaker-file", str(out))
    assert r.returncode != 0 and "Traceback" not in r.stderr and str(p) in r.stderr, r.stderr
