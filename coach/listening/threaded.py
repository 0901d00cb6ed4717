"""A listener on its own thread: on real devices feed() must never wait for a decode.

The audio loop runs the listener's front on each block itself (the echo removed, the VAD, the
user's voice beginning: cheap, and what hushes the coach, so an onset never waits behind a decode)
and hands the result over; the decoding happens on the "coach-listener" thread, and the loop takes
whatever detections and voice ends are ready. Messages to it are small frozen values, one type per
request, so the loop and the thread agree on them by type, not by string tags.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

import numpy as np

from coach import threads
from coach.intents import Intent
from coach.listening.detection import Detection, VoiceActivity
from coach.listening.front import Heard
from coach.listening.listener import Listener


@dataclass(frozen=True)
class _Feed:
    heard: Heard


@dataclass(frozen=True)
class _Expect:
    intents: set[Intent]


@dataclass(frozen=True)
class _Speaking:
    text: str | None


@dataclass(frozen=True)
class _Quit:
    pass


_Message = _Feed | _Expect | _Speaking | _Quit


class ThreadedListener:
    """Runs a listener on its own thread: feed() never blocks on a decode (real devices)."""

    def __init__(self, listener: Listener) -> None:
        self.inner = listener
        self.engine_name = listener.engine_name
        self._in: queue.Queue[_Message] = queue.Queue()
        self._out: queue.Queue[Detection | VoiceActivity] = queue.Queue()
        self._voice: list[VoiceActivity] = []
        self._onset_seg: int | None = None  # the segment of the last onset the front reported
        self._error: BaseException | None = None
        self._quit = threading.Event()
        self._thread = threads.start(self._loop, "coach-listener")

    def _loop(self) -> None:
        while True:
            msg = self._in.get()
            try:
                if isinstance(msg, _Quit) or self._quit.is_set():  # a backlog is not decoded
                    return
                if isinstance(msg, _Feed):
                    for d in self.inner.hear(msg.heard):
                        self._out.put(d)
                    for v in self.inner.heard_voice():
                        if not v.began:  # (the onsets were the front's, told at once)
                            self._out.put(v)
                elif isinstance(msg, _Expect):
                    self.inner.expect(msg.intents)
                else:
                    self.inner.speaking(msg.text)
            except BaseException as e:  # reported to the loop, which ends the session as a fault
                self._error = e
                return

    def feed(self, mic: np.ndarray, ref: np.ndarray | None = None) -> list[Detection]:
        if self._error is not None:
            raise self._error
        heard = self.inner.front.process(mic, ref)  # here, not behind the thread's backlog
        if heard.onset is not None:
            self._onset_seg = heard.seg_start
            self._voice.append(VoiceActivity(True, heard.onset, seg=heard.seg_start))
        self._in.put(_Feed(heard))
        out: list[Detection] = []
        while True:
            try:
                got = self._out.get_nowait()
            except queue.Empty:
                return out
            if not isinstance(got, VoiceActivity):
                out.append(got)
            elif got.seg == self._onset_seg:
                self._voice.append(got)
            # else: the end of words that newer ones (already told) have superseded: the hush
            # lasts for those, and their own end comes

    def heard_voice(self) -> list[VoiceActivity]:
        out, self._voice = self._voice, []
        return out

    def expect(self, intents: set[Intent]) -> None:
        self._in.put(_Expect(intents))

    def speaking(self, text: str | None) -> None:
        self._in.put(_Speaking(text))

    @property
    def backlog(self) -> int:
        """Blocks handed over but not yet heard (a busy machine: the session's hush waits for them)."""
        return self._in.qsize()

    def close(self, wait: bool = True) -> None:
        """Stop the thread; what it has not decoded yet is dropped (under load the backlog took
        longer than the 2 s join). wait=False (an interrupt): nothing is waited for, not even
        the inner listener's close (a cascade joins its worker, up to 5 s mid-decode); both
        threads are daemons and the process is ending."""
        self._quit.set()
        self._in.put(_Quit())
        if not wait:
            return
        self._thread.join(timeout=2.0)
        self.inner.close()
