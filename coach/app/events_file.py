"""The events file (`coach run --events EVENTS.jsonl`): one JSON object per line, written as the
session goes to EVENTS.jsonl.part and renamed into place when it ends, so a reader never sees a
half-written file under the final name. The line format is in the README (Sessions and safety)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from coach.errors import CoachError
from coach.session.events import SessionEvent


class EventsFile:
    """EVENTS.jsonl written line by line to EVENTS.jsonl.part, renamed into place when closed."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._f = None
        if path is not None:
            self._part = path.with_name(path.name + ".part")
            try:
                self._f = open(self._part, "w", encoding="utf-8")  # noqa: SIM115
            except OSError as e:
                raise CoachError(f"{path}: cannot write ({e.strerror or e})") from None

    def event(self, e: SessionEvent) -> None:
        self.write(e.record())

    def write(self, obj: dict[str, Any]) -> None:
        if self._f is not None:
            self._f.write(json.dumps(obj, ensure_ascii=False) + "\n")
            self._f.flush()

    def close(self) -> None:
        if self._f is not None and self.path is not None:
            self._f.close()
            self._f = None
            os.replace(self._part, self.path)
