"""The runner's one door to the history: sessions started, reps counted, ends and every event.

Each exercise is a history session (a pain's alternative, a program's next exercise: a new one);
a program's exercises also belong to one program run (coach/history/program_runs.py).
What is said and heard while an exercise's last words play (a late "pain" after "stop", the
goodbye cues) still belongs to the exercise that just ended, so events go to the open session or
else to the one that ended last; an end said twice (pain right after stop) amends that end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coach.history.program_runs import end_program, start_program
from coach.session.events import EventType, SessionEvent

if TYPE_CHECKING:
    from coach.history.db import History


class HistoryRecorder:
    """Writes one run's exercises and events into a History (an EventSink)."""

    def __init__(self, history: History, engine: str, voice: str, program: str | None = None) -> None:
        self.history = history
        self.engine, self.voice = engine, voice
        self.program = program  # a program's id: its exercises are one program run
        self._run: int | None = None  # that run, from its first exercise on
        self._sid: int | None = None  # the exercise under way
        self._ended: int | None = None  # the exercise that ended last
        self._t0 = 0.0  # session seconds when the open exercise's history session began

    @property
    def open(self) -> bool:
        return self._sid is not None

    def start(self, routine_id: str, bpm: float, reps: int, now: float) -> None:
        if self.program is not None and self._run is None:
            self._run = start_program(self.history, self.program)
        self._sid = self.history.start_session(
            routine_id, bpm, self.engine, self.voice, reps, program_run=self._run
        )
        self._t0 = now

    def reps(self, left: int, right: int) -> None:
        if self._sid is not None:
            self.history.set_reps(self._sid, left, right)

    def end(self, reason: str, left: int, right: int, bpm: float) -> None:
        sid = self._sid if self._sid is not None else self._ended  # or amend the last end
        if sid is not None:
            self.history.end_session(sid, reason, left, right, bpm)
        self._sid, self._ended = None, sid

    def event(self, e: SessionEvent) -> None:
        sid = self._sid if self._sid is not None else self._ended
        if sid is not None:
            self.history.log_event(sid, e.t - self._t0, str(e.type), dict(e.detail))
        if e.type == EventType.PROGRAM and self._run is not None:
            left_out = e.detail.get("left_out", [])
            end_program(self.history, self._run, str(e.detail.get("reason")), left_out)
