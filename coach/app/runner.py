"""The session loop: binds AudioIO + Player + Listener + Session + History + the events file.

    speech for every phrase the session may say is rendered first (nothing waits on TTS later);
    then, one 20 ms block at a time:
        out = player.next_block() -> mic = io.exchange(out) -> listener.feed(mic, ref=out)
            -> session.command / session.tick -> actions -> speech queue, history, events, display

What is said and when (the breath grid, cuts, hushes) is the speech queue's
(coach/app/speech_queue.py); every event goes to a list of sinks (coach/session/events.py).

The same loop runs on real devices (DeviceAudio, paced by the sound card) and on files (FileAudio,
simulated time). On devices the listener decodes on its own thread (ThreadedListener), so a slow
decode never makes the speaker stutter. Any error from a component, or an unexpected exception:
the player is cut, the session is recorded as `fault`, and the error goes up as a CoachError.
SIGINT/SIGTERM: the player is cut and the session is recorded as `stopped` (the user chose to
end); with `signals` (coach/app/interrupts.py) the interrupt is taken between blocks or in the wait
for the sound card, never halfway through a block.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from coach.app.events_file import EventsFile
from coach.app.history_recorder import HistoryRecorder
from coach.app.interrupts import StopSignals, within
from coach.app.mic_watchdog import MicWatchdog
from coach.app.speech_queue import SpeechQueue
from coach.audio.format import BLOCK, RATE
from coach.errors import AudioDeviceError, CoachError
from coach.exercise.choreography import render_pairs
from coach.exercise.routine import Counts
from coach.listening.detection import Listens
from coach.listening.threaded import ThreadedListener
from coach.outcomes import EndReason
from coach.session import safety
from coach.session.actions import (
    Action,
    Cancel,
    Expect,
    Finish,
    Hush,
    Log,
    Reps,
    Say,
    SetLevel,
    Started,
    Unhush,
)
from coach.session.events import EventSink, EventType, SessionEvent
from coach.session.machine import Session

if TYPE_CHECKING:
    from coach.app.display import Display
    from coach.audio.io import AudioIO
    from coach.history.db import History
    from coach.speech.player import Player

TAIL_S = 0.3  # silence written after the last word
LATE_PAIN_S = 2.0  # after a stop's last word the coach still listens this long ("stop ... ouch")
CLOSE_AFTER_SIGNAL_S = 0.3  # after a signal the sound device's close is waited for this long
MAX_SESSION_S = 4 * 3600.0  # a guard for the file back end: simulated time never runs away

Observer = Callable[[float, str, dict[str, Any]], None]


@dataclass(frozen=True)
class RunResult:
    reason: EndReason
    left: int
    right: int
    suggestion: str | None
    routines: list[str]
    seconds: float
    events: list[dict[str, Any]] = field(default_factory=list)


BLOCK_S = BLOCK / RATE


class _Call:
    """A function of (t, type, detail) as an EventSink (the display, an observer)."""

    def __init__(self, fn: Observer) -> None:
        self.fn = fn

    def event(self, e: SessionEvent) -> None:
        self.fn(e.t, str(e.type), dict(e.detail))


class Runner:
    """One run of a session on an AudioIO. `clips` maps (text, speed) -> 16 kHz audio for every
    entry of session.phrasebook(); `renderer` (optional) fills any gap."""

    def __init__(
        self,
        io: AudioIO,
        player: Player,
        session: Session,
        clips: Mapping[tuple[str, float], np.ndarray],
        listener: Listens | None = None,
        history: History | None = None,
        events: EventsFile | None = None,
        display: Display | None = None,
        voice_name: str = "",
        engine_name: str = "none",
        observer: Observer | None = None,
        watchdog: MicWatchdog | None = None,
        signals: StopSignals | None = None,
    ) -> None:
        self.io, self.player, self.session = io, player, session
        self.signals = signals or StopSignals()  # not installed: inert
        self.clips = dict(clips)
        self.listener = listener
        self.events = events or EventsFile(None)
        self.display = display
        self.voice_name, self.engine_name = voice_name, engine_name
        self.recorder = (
            HistoryRecorder(history, engine_name, voice_name, session.program_id)
            if history is not None
            else None
        )
        # every event goes to each of these, in this order (the events file first: it is the
        # record a person or a test reads when everything else failed)
        self.sinks: list[EventSink] = [self.events]
        if self.recorder is not None:
            self.sinks.append(self.recorder)
        if display is not None:
            self.sinks.append(_Call(display.event))
        if observer is not None:
            self.sinks.append(_Call(observer))
        self.watchdog = watchdog or MicWatchdog()
        self.log: list[dict[str, Any]] = []
        self.speech = SpeechQueue(io, player, self.clips, self._event)
        self._mic_gone: str | None = None  # the back end's microphone is gone: why
        self._last_finish: Finish | None = None
        self._routines = [session.routine.id]

    # --- time and records -------------------------------------------------------------------------
    def now(self) -> float:
        return self.io.clock.now()

    def _event(self, type: EventType, detail: dict[str, Any], delay_s: float = 0.0) -> None:
        e = SessionEvent(round(self.now() + delay_s, 3), type, detail)
        self.log.append(e.record())
        for sink in self.sinks:
            sink.event(e)

    def _start_history(self, routine_id: str, reps: int) -> None:
        if self.recorder is not None:
            self.recorder.start(routine_id, self.session.tempo.bpm, reps, self.now())

    # --- actions ------------------------------------------------------------------------------------
    def apply(self, acts: list[Action]) -> None:
        for a in acts:
            if isinstance(a, Cancel):
                self.speech.cancel()
            elif isinstance(a, Hush):
                self.speech.hush()
            elif isinstance(a, Unhush):
                self.speech.unhush(a.replies)
            elif isinstance(a, Say):
                self.speech.say(a)
            elif isinstance(a, Expect):
                if self.listener is not None:
                    self.listener.expect(set(a.intents))
            elif isinstance(a, Log):
                self._event(a.type, a.detail)
            elif isinstance(a, SetLevel):
                self.player.set_level(a.db)  # (the Say after it is heard at the new level)
            elif isinstance(a, Reps):
                if self.recorder is not None:
                    self.recorder.reps(a.left, a.right)
            elif isinstance(a, Finish):
                self._finish(a)
            elif isinstance(a, Started):
                self._routines.append(a.routine.id)
                self._start_history(a.routine.id, a.reps)
                self._event(EventType.STARTED, {"routine": a.routine.id, **a.detail})

    def _finish(self, f: Finish) -> None:
        self._last_finish = f
        self._event(
            EventType.ENDED,
            {
                "reason": str(f.reason),
                "reps": {"left": f.left, "right": f.right},
                "suggestion": f.suggestion,
            },
        )
        if self.recorder is not None:
            self.recorder.end(str(f.reason), f.left, f.right, self.session.tempo.bpm)

    # --- the loop -----------------------------------------------------------------------------------
    def _exchange(self, out: np.ndarray) -> np.ndarray:
        """The one wait of a block (the sound card paces it; a stalled stream waits seconds):
        a signal ends it at once."""
        with self.signals.interruptible():
            return self.io.exchange(out)

    def _step(self) -> None:
        self.signals.check()  # a signal is taken here, between blocks
        out, changed, text = self.speech.next_block()
        if changed and self.listener is not None:
            self.listener.speaking(text)
        mic = self._exchange(out)
        now = self.now()
        if self.listener is not None:
            for d in self.listener.feed(mic, ref=out):
                self.apply(self.session.command(now, d.intent, d.phrase))
            for v in self.listener.heard_voice():
                if v.began:
                    speaking = self.player.busy or self.speech.hushed
                    self.apply(self.session.voice_began(now, speaking))
                else:
                    self.session.voice_ended(now, verdict=v.verdict)
            gone = self.io.mic_missing()
            if (gone is None) != (self._mic_gone is None):  # unplugged, or back
                self._mic_gone = gone
                self.apply(self.session.mic_lost(now, gone) if gone else self.session.mic_back(now))
            elif gone is None and self.watchdog.update(mic, now, self.io.no_input_seconds()):
                self.apply(self.session.mic_lost(now))
        if isinstance(self.listener, ThreadedListener):  # the hush waits for what it has not heard
            self.session.listener_lag(self.listener.backlog * BLOCK_S)
        self.apply(self.session.tick(now, speaking=self.player.busy))
        if self.display is not None:
            b = self.session.current
            if b is not None:
                side = None if b.counts in (None, Counts.REP) else str(b.counts)
                self.display.beat(side, b.rep, self.session.reps, str(b.phase))

    def _listens_after_stop(self) -> bool:
        return self.listener is not None and self.session.reason == EndReason.STOPPED

    def run(self, max_seconds: float = MAX_SESSION_S) -> RunResult:
        """Run to the end. Raises CoachError after recording a fault; KeyboardInterrupt (SIGINT,
        SIGTERM) ends the session as stopped and is re-raised once everything is recorded."""
        try:
            try:
                with self.signals.interruptible():  # waits for the first mic frames (seconds)
                    self.io.open()
            except KeyboardInterrupt:
                with contextlib.suppress(Exception):
                    self._close_io()
                self.record_unstarted_stop()
                raise
            try:
                self._start_history(self.session.routine.id, self.session.reps)
                self.apply(self.session.start(self.now()))
                while True:
                    while not (self.session.done and not self.player.busy):
                        self._step()
                        if self.now() > max_seconds:
                            raise CoachError(f"the session ran longer than {max_seconds:g} s")
                    if not self._listens_after_stop():
                        break
                    # pain always wins, even just after "stop": hear it a moment longer
                    until = self.now() + LATE_PAIN_S
                    while self.session.done and not self.player.busy and self.now() < until:
                        self._step()
                    if self.session.done and not self.player.busy:
                        break
                for _ in range(round(TAIL_S * RATE / self.io.block)):
                    self.signals.check()
                    self._exchange(self.player.next_block())
            except KeyboardInterrupt:
                self._emergency(EndReason.STOPPED, speak=False)
                raise
            except AudioDeviceError:
                self._emergency(EndReason.FAULT, speak=False)  # the speaker may be gone too
                raise
            except CoachError:
                self._emergency(EndReason.FAULT, speak=True)
                raise
            except Exception as e:
                self._emergency(EndReason.FAULT, speak=True)
                raise CoachError(f"unexpected error: {type(e).__name__}: {e}") from e
            finally:
                self._close_io()
        finally:
            self.events.close()
            if isinstance(self.listener, ThreadedListener):
                self.listener.close(wait=not self.signals.received)
        return self._result()

    def _close_io(self) -> None:
        """Close the audio back end. After a signal a real device is closed on a helper thread
        and waited for at most CLOSE_AFTER_SIGNAL_S (it takes 15-60 ms): stopping a stream on a
        busy sound server can take the full 2 s of audio_device's close guard, and the pulse
        watcher's stop has a 2 s wait too; the process exit frees what is left."""
        if self.signals.received and self.io.realtime:
            within(CLOSE_AFTER_SIGNAL_S, self.io.close)
        else:
            self.io.close()

    def record_unstarted_stop(self) -> None:
        """Interrupted before the first word (preparing speech, loading the recognizer, opening
        the sound device): recorded like any stop, a history session that starts and ends at
        once, and its `ended` event. Closes the events file. Never raises."""
        self.signals.handled = True
        with contextlib.suppress(Exception):
            self._start_history(self.session.routine.id, self.session.reps)
        self._record_end(EndReason.STOPPED)
        with contextlib.suppress(Exception):
            self.events.close()

    def _emergency(self, reason: EndReason, speak: bool) -> None:
        """Silence first, then record what we can, then (a fault, if the speaker still works)
        say so. Never raises. A signal from here on is only noted (a Ctrl-C cuts the notice)."""
        self.signals.handled = True
        with contextlib.suppress(Exception):
            self.player.cancel()
            if self.signals.received and self.io.realtime:
                # a signal: what the device still holds fades out where it is, and nothing
                # waits on the sound card (a stalled stream would hold the exit for seconds)
                self.io.silence_queued()
            else:
                self.io.exchange(self.player.next_block())  # the fade-out block: silence from here
        self._record_end(reason)
        if speak:
            with contextlib.suppress(Exception):
                clip = self.clips[(safety.FAULT_SPOKEN, 1.0)]
                self.player.play(clip, "fault", delay=round(0.3 * RATE))
                for _ in range(len(clip) // self.io.block + 30):
                    self.io.exchange(self.player.next_block())
                    if not self.player.busy or self.signals.received:
                        break

    def _record_end(self, reason: EndReason) -> None:
        """The session's end in history and the events file (the events file alone if the
        history fails). Never raises."""
        try:
            if not self.session.done:
                acts = self.session.interrupt(self.now(), reason)
                self.apply([a for a in acts if not isinstance(a, Cancel)])
        except Exception:
            if self.recorder is not None:  # the history itself failed: the events file still
                self.sinks.remove(self.recorder)  # gets the end
                self.recorder = None
            with contextlib.suppress(Exception):
                reps = {"left": self.session.left, "right": self.session.right}
                self._event(EventType.ENDED, {"reason": str(reason), "reps": reps, "suggestion": None})

    def _result(self) -> RunResult:
        f = self._last_finish or Finish(EndReason.FAULT, self.session.left, self.session.right)
        return RunResult(
            self.session.reason or f.reason,  # (a program may end between two exercises)
            f.left,
            f.right,
            f.suggestion,
            list(self._routines),
            self.now(),
            list(self.log),
        )


def render_phrasebook(
    session: Session,
    renderer: Any,
    voice: Any,
    progress: Callable[[int, int], None] | None = None,
) -> dict[tuple[str, float], np.ndarray]:
    """Every (text, speed) the session may say, rendered before the first word."""
    return render_pairs(session.phrasebook(), renderer, voice, progress)
