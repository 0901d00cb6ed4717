"""The output level ("louder", "quieter") remembered per voice profile, in the data folder.

Why per voice: the profiles differ in loudness (`volume`, rate, pitch), so a level chosen for
one is no guide to another. `output-level.json` holds {"calm": -4.0, ...} (dB against the
profile as rendered, on coach/session/comfort.py's step grid), written atomically. A missing, unreadable
or damaged file, or a value out of range, only means the profile's own level (0 dB, or the
nearest allowed one): it can never stop a session.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from coach import paths
from coach.errors import HistoryError
from coach.history.export import atomic_write_bytes
from coach.session.comfort import clamp_level

FILE = "output-level.json"


def record_path(data_dir: Path | None = None) -> Path:
    return (data_dir or paths.data_dir()) / FILE


def _levels(data_dir: Path | None = None) -> dict[str, float]:
    try:
        data = json.loads(record_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(k): float(v)
        for k, v in data.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }


def load(voice: str, data_dir: Path | None = None) -> float:
    """The level remembered for `voice` (0.0: none), within the limits."""
    return clamp_level(_levels(data_dir).get(voice, 0.0))


def remember(voice: str, db: float, data_dir: Path | None = None) -> bool:
    """Keep `db` for `voice` (atomically: never a half-written file). False when it could not
    be written (a read-only data folder): the level is then the profile's own next time."""
    levels = _levels(data_dir)
    levels[voice] = clamp_level(db)
    path = record_path(data_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, json.dumps(levels, indent=1, sort_keys=True).encode())
    except (OSError, HistoryError):  # (the one atomic writer there is says HistoryError)
        return False
    return True
