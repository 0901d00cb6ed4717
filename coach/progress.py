"""Progress on long work (rendering speech, mixing an export, downloading a model), on stderr so
stdout stays clean for scripts. One bar for every command; a session's own status line
(coach/app/display.py) shows its rendering progress in that line instead."""

from __future__ import annotations

import sys
from collections.abc import Callable


class ProgressBar:
    """A one-line progress bar on stderr: redrawn in place on a terminal; elsewhere (a log, a
    pipe) only its first and last line. `unit` turns (done, total) into the words after it."""

    def __init__(
        self,
        label: str,
        enabled: bool = True,
        width: int = 30,
        unit: Callable[[int, int], str] | None = None,
    ) -> None:
        self.label, self.enabled, self.width, self.unit = label, enabled, width, unit
        self.tty = sys.stderr.isatty()
        self._last = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if total <= 0:  # no total known (a download without a size): how much so far
            if self.tty and self.unit:
                sys.stderr.write(f"\r{self.label:<9} {self.unit(done, total)}")
                sys.stderr.flush()
            return
        pct = min(100, done * 100 // total)
        if pct == self._last or (not self.tty and pct not in (0, 100)):
            return
        self._last = pct
        fill = self.width * pct // 100
        end = "\n" if pct == 100 else ("\r" if self.tty else "\n")
        extra = f"  {self.unit(done, total)}" if self.unit else ""
        sys.stderr.write(
            f"{self.label:<9} [{'#' * fill}{'.' * (self.width - fill)}] {pct:3d}%{extra}{end}"
        )
        sys.stderr.flush()
