"""What the person (or a log) sees while the coach talks: a status line on a terminal, plain
lines otherwise. It only reads events; it never decides anything, so it cannot delay a stop."""

from __future__ import annotations

import functools
import sys
from typing import Any, TextIO


class Display:
    """Status line (routine, side, rep x/y, breath phase, tempo, last command) on a TTY stderr;
    one plain line per state/command/tempo/ended/started event otherwise (or when `plain`).

    The status line shows a session under way: from its `ended` line on it is not drawn again
    (unless an alternative starts), and close() wipes what is left of it, so the terminal's last
    lines are the end and the summary, not a stale "ended | side left | rep 2/5". A write that
    fails (the terminal was closed: SIGHUP, EIO) makes it quiet: a display never fails a session."""

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
        self._over = False  # an `ended` line was written: no status line until a `started`

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
            self._write(f"[coach] {label}: {done}/{total}\n")

    def beat(self, side: str | None, rep: int, reps: int, phase: str) -> None:
        self.side = side or "-"
        self.rep = f"{rep}/{reps}" if rep else "-"
        self.phase = phase
        self._status()

    def event(self, t: float, type: str, detail: dict[str, Any]) -> None:
        if type == "state":
            self.state = detail["state"]
            if self.state != "ended":
                self._over = False  # pain after a stop: a session under way again
        elif type == "tempo":
            self.bpm = detail["bpm"]
        elif type == "command":
            self.last_command = detail["intent"]
        elif type == "started":
            self.routine = detail["routine"]
            self._over = False
        elif type == "ended":
            self._over = True
        if self.quiet:
            return
        if self.tty:
            if type in LINE_EVENTS:
                self._line(f"{_clock(t)} {type}: {self._describe(type, detail)}")
                self._newline()
            self._status()
        elif type != "cue":
            self._write(f"[coach] {_clock(t)} {type}: {self._describe(type, detail)}\n")
        else:
            self._write(f"[coach] {_clock(t)} says: {detail['text']}\n")

    def _describe(self, type: str, detail: dict[str, Any]) -> str:
        sided = routine_is_sided(self.routine) if type == "ended" and self.routine else None
        return describe_event(type, detail, sided)

    def close(self) -> None:
        """The end: wipe a status line still shown (what follows takes its place)."""
        if self.tty and self._width and not self.quiet:
            self._write("\r" + " " * self._width + "\r")
            self._width = 0
            self._shown = ""

    def _status(self) -> None:
        if self.quiet or not self.tty or self._over:
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
        self._write("\r" + text + " " * pad)
        self._width = len(text)

    def _newline(self) -> None:
        self._write("\n")
        self._width = 0

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except OSError:  # the terminal is gone: nobody can read it, the session goes on
            self.quiet = True


LINE_EVENTS = ("ended", "started", "mic-lost", "mic-back")  # a line of their own on a terminal


def _clock(t: float) -> str:
    m, s = divmod(t, 60)
    return f"{int(m):02d}:{s:04.1f}"


STATE_WORDS = {
    "checking-mic": "checking that it can hear you",
    "briefing": "explaining the exercise",
    "positioning": "getting you into position",
    "exercising": "exercising",
    "paused": "paused",
    "offering": "offering a gentler exercise",
    "resting": "resting before the next exercise",
    "getting-ready": "waiting for you to be in position",
    "ended": "ended",
}
REASON_WORDS = {
    "no-response": "no response",
    "fault": "a fault",
    "completed-early": "completed early",  # "skip"
}


def describe_event(type: str, detail: dict[str, Any], sided: bool | None = None) -> str:
    """An event as a person reads it (no Python reprs): `checking that it can hear you`,
    `heard "stop it" (stop)`, `stopped; reps right 1, left 0; suggested pelvic-tilt`. `sided`
    False shows an unsided exercise's one rep count (its events count each rep on both sides)."""
    d = dict(detail)
    if type == "cue":
        return f'says "{d.get("text", "")}"'
    if type == "state" and "state" in d:
        return STATE_WORDS.get(str(d["state"]), str(d["state"]))
    if type == "command" and "intent" in d:
        phrase, intent = d.get("phrase"), str(d["intent"])
        if not phrase:
            return f"heard {intent}"
        return f'heard "{phrase}"' + (f" ({intent})" if phrase != intent else "")
    if type == "mic-lost":  # the device went away (coach/session/mic_outage.py)
        wait = float(d.get("wait_s", 0.0))
        return f"{d.get('why') or 'the microphone went away'}; waiting {wait:g} s for it"
    if type == "mic-back":
        return f"the microphone is back after {float(d.get('after_s', 0.0)):.1f} s"
    if type == "tempo" and "bpm" in d:
        return f"{float(d['bpm']):g} breaths a minute"
    if type == "level" and "db" in d:  # louder, quieter (coach/session/comfort.py)
        return f"output level {float(d['db']):+g} dB"
    if type == "started" and "routine" in d:
        return f"{d['routine']} begins"
    if type == "ended" and "reason" in d:
        reason = str(d["reason"])
        parts = [REASON_WORDS.get(reason, reason)]
        reps = d.get("reps")
        if isinstance(reps, dict):
            left, right = reps.get("left", 0), reps.get("right", 0)
            if sided is False:
                n = max(left, right)
                parts.append(f"{n} rep{'' if n == 1 else 's'}")
            else:
                parts.append(f"reps right {right}, left {left}")
        if d.get("suggestion"):
            parts.append(f"suggested {d['suggestion']}")
        return "; ".join(parts)
    return _fmt(d)


def _fmt(detail: dict[str, Any]) -> str:
    """Any other event: `key value; key value`, nested values flattened, nothing as a repr."""

    def value(v: Any) -> str:
        if v is None:
            return "none"
        if isinstance(v, dict):
            return ", ".join(f"{k} {value(x)}" for k, x in v.items())
        if isinstance(v, list | tuple | set | frozenset):
            return ", ".join(value(x) for x in v)
        if isinstance(v, float):
            return f"{v:g}"
        return str(v)

    return "; ".join(f"{k} {value(v)}" for k, v in detail.items())


@functools.cache
def routine_is_sided(routine_id: str) -> bool | None:
    """Whether the routine has sides (None when it cannot be told). Looked up once per routine,
    only for an `ended` line (the session is over by then: nothing waits for it)."""
    try:
        from coach.exercise.routine import get_routine

        return bool(get_routine(routine_id).sides)
    except Exception:  # noqa: BLE001 (a display line must never fail the session)
        return None
