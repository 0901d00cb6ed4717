"""Remembering, per user, that the coach heard their safety words on a microphone.

The first live session on a machine (and again whenever the recognizer or the microphone
changes) asks the person to say "stop" and then "pain" before anything begins
(session.State.PROVING); `coach check` asks every time. A pass is kept in the data folder as
`safety-words.json`: [{"engine": ..., "microphone": ..., "passed": ISO time}, ...]. A missing,
unreadable or damaged file only means "ask again": it can never stop a session.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from coach import paths

FILE = "safety-words.json"
KEEP = 20  # passes remembered (engines x microphones)


def record_path(data_dir: Path | None = None) -> Path:
    return (data_dir or paths.data_dir()) / FILE


def microphone_name() -> str:
    """The microphone a live stream lands on: PulseAudio's source name, else "default"."""
    from coach.audio.devices import pulse_route

    route = pulse_route()
    if route is not None and route.source.name:
        return route.source.name
    return "default"


def _passes(data_dir: Path | None = None) -> list[dict[str, Any]]:
    try:
        data = json.loads(record_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [p for p in data if isinstance(p, dict)] if isinstance(data, list) else []


def proven(engine: str, microphone: str) -> bool:
    """Were stop and pain heard with this engine on this microphone before?"""
    return any(p.get("engine") == engine and p.get("microphone") == microphone for p in _passes())


def remember(engine: str, microphone: str, data_dir: Path | None = None) -> bool:
    """Record a pass (atomically: never a half-written file). False when it could not be
    written (a read-only data folder): the person is then simply asked again next time."""
    keep = [
        p
        for p in _passes(data_dir)
        if not (p.get("engine") == engine and p.get("microphone") == microphone)
    ]
    keep.append(
        {
            "engine": engine,
            "microphone": microphone,
            "passed": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
    )
    path = record_path(data_dir)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".safety-words-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(keep[-KEEP:], f, indent=1)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return False
    return True
