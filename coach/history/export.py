"""Sessions as plain records for other tools: JSON dicts and CSV rows (read back with errors that
name file, line and field), and the atomic file write every export uses (never a half-written
file). The report around them (table, streak, dose) is coach/history/report.py.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path
from typing import Any

from coach.errors import DataFileError, HistoryError
from coach.history.records import SessionRecord, parse_iso, utc_iso

CSV_COLUMNS = (
    "id",
    "routine",
    "started",
    "ended",
    "end_reason",
    "reps_left",
    "reps_right",
    "reps_target",
    "tempo_start",
    "tempo_end",
    "engine",
    "voice",
)


def session_to_dict(s: SessionRecord) -> dict[str, Any]:
    return {
        "id": s.id,
        "routine": s.routine,
        "started": utc_iso(s.started),
        "ended": utc_iso(s.ended) if s.ended else None,
        "end_reason": s.end_reason,
        "reps_left": s.reps_left,
        "reps_right": s.reps_right,
        "reps_target": s.reps_target,
        "tempo_start": s.tempo_start,
        "tempo_end": s.tempo_end,
        "engine": s.engine,
        "voice": s.voice,
        "program_run": s.program_run,
    }


def session_from_dict(d: dict[str, Any]) -> SessionRecord:
    return SessionRecord(
        id=int(d["id"]),
        routine=str(d["routine"]),
        started=parse_iso(d["started"]),
        ended=parse_iso(d["ended"]) if d.get("ended") else None,
        end_reason=d.get("end_reason"),
        reps_left=int(d["reps_left"]),
        reps_right=int(d["reps_right"]),
        reps_target=None if d.get("reps_target") is None else int(d["reps_target"]),
        tempo_start=None if d.get("tempo_start") is None else float(d["tempo_start"]),
        tempo_end=None if d.get("tempo_end") is None else float(d["tempo_end"]),
        engine=d.get("engine"),
        voice=d.get("voice"),
        program_run=None if d.get("program_run") is None else int(d["program_run"]),
    )


def sessions_from_json(obj: dict[str, Any]) -> list[SessionRecord]:
    return [session_from_dict(d) for d in obj["sessions"]]


# --- CSV ---------------------------------------------------------------------------------------


def _file_mode(path: Path) -> int:
    """The mode a plain open() would give: the existing file's, else 0666 minus the umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0o022)
        os.umask(mask)
        return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temp file in the same folder + rename: never a half-written file."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise HistoryError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), _file_mode(path))  # mkstemp makes 0600; keep the usual mode
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise HistoryError(f"cannot write {path}: {e.strerror or e}") from None


def sessions_csv(sessions: list[SessionRecord]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for s in sessions:
        d = session_to_dict(s)
        w.writerow(
            [
                "" if d[c] is None else repr(d[c]) if isinstance(d[c], float) else d[c]
                for c in CSV_COLUMNS
            ]
        )
    return buf.getvalue()


def write_csv(path: Path, sessions: list[SessionRecord]) -> None:
    atomic_write_bytes(path, sessions_csv(sessions).encode("utf-8"))


def read_csv(path: Path) -> list[SessionRecord]:
    """Read an export back (the round trip the tests check). Errors name file, line and field."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataFileError(path, f"cannot read: {e}") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(rows[0]) != CSV_COLUMNS:
        raise DataFileError(path, f"the header must be {','.join(CSV_COLUMNS)}", line=1)
    out = []
    for n, row in enumerate(rows[1:], start=2):
        if len(row) != len(CSV_COLUMNS):
            raise DataFileError(path, f"expected {len(CSV_COLUMNS)} columns, got {len(row)}", n)
        d: dict[str, Any] = {}
        for field, value in zip(CSV_COLUMNS, row, strict=True):
            try:
                d[field] = _CSV_TYPES[field](value) if value != "" else None
            except ValueError as e:
                raise DataFileError(path, f"bad value {value!r} ({e})", n, field) from None
            if d[field] is None and field in _CSV_REQUIRED:
                raise DataFileError(path, "a value is required", n, field)
        out.append(SessionRecord(**d))
    return out


_CSV_TYPES: dict[str, Any] = {
    **{c: str for c in CSV_COLUMNS},
    **{c: int for c in ("id", "reps_left", "reps_right", "reps_target")},
    **{c: float for c in ("tempo_start", "tempo_end")},
    **{c: parse_iso for c in ("started", "ended")},
}
_CSV_REQUIRED = ("id", "routine", "started", "reps_left", "reps_right")
