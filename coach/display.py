"""What the person (or a log) sees while the coach talks: a status line on a terminal, plain
lines otherwise. It only reads events; it never decides anything, so it cannot delay a stop."""

from __future__ import annotations

import sys
from typing import Any, TextIO


class Display:
    """Status line (routine, side, rep x/y, breath phase, tempo, last command) on a TTY stderr;
    one plain line per state/command/tempo/ended/started event otherwise (or when `plain`)."""

    def __init__(
        self, stream: TextIO | None = None, plain: bool | None = None, quiet: bool = False
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if plain is None else not plain
        self.quiet = quiet
        self.routine = ""
        self.side = "-"
        self.rep = "-"
        self.phase = "-"
        self.bpm = 0.0
        self.state = ""
        self.last_command = "-"
        self._width = 0
        self._shown = ""

    def progress(self, label: str, done: int, total: int) -> None:
        """Rendering progress before the session (speech is made before the first word)."""
        if self.quiet or total <= 0:
            return
        pct = done * 100 // total
        if self.tty:
            self._line(f"{label}: {done}/{total} ({pct}%)")
            if done == total:
                self._newline()
        elif done == total or done == 0:
            print(f"[coach] {label}: {done}/{total}", file=self.stream, flush=True)

    def beat(self, side: str | None, rep: int, reps: int, phase: str) -> None:
        self.side = side or "-"
        self.rep = f"{rep}/{reps}" if rep else "-"
        self.phase = phase
        self._status()

    def event(self, t: float, type: str, detail: dict[str, Any]) -> None:
        if type == "state":
            self.state = detail["state"]
        elif type == "tempo":
            self.bpm = detail["bpm"]
        elif type == "command":
            self.last_command = detail["intent"]
        elif type == "started":
            self.routine = detail["routine"]
        if self.quiet:
            return
        if self.tty:
            if type in ("ended", "started"):
                self._line(f"{_clock(t)} {type}: {_fmt(detail)}")
                self._newline()
            self._status()
        elif type != "cue":
            print(f"[coach] {_clock(t)} {type}: {_fmt(detail)}", file=self.stream, flush=True)
        else:
            print(f"[coach] {_clock(t)} says: {detail['text']}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.tty and self._width and not self.quiet:
            self._newline()

    def _status(self) -> None:
        if self.quiet or not self.tty:
            return
        text = (
            f"{self.routine} | {self.state} | side {self.side} | rep {self.rep} | "
            f"{self.phase} | {self.bpm:g} breaths/min | last: {self.last_command}"
        )
        if text != self._shown or not self._width:  # redraw only on change (called per block)
            self._shown = text
            self._line(text)

    def _line(self, text: str) -> None:
        pad = max(0, self._width - len(text))
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._width = len(text)

    def _newline(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
        self._width = 0


def _clock(t: float) -> str:
    m, s = divmod(t, 60)
    return f"{int(m):02d}:{s:04.1f}"


def _fmt(detail: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in detail.items())
