"""Ctrl-C (SIGINT), SIGTERM and SIGHUP while `coach run` prepares or runs a session: the user
ends it. SIGHUP is the terminal being closed: a stop like the others, or the session would stay
open until history closed it as `interrupted` (issue #13).

SIGINT and SIGTERM are taken over for the session, whatever the process inherited. That was the lost
Ctrl-C of issue #14: a process started with SIGINT *ignored* keeps it ignored, because Python puts
its KeyboardInterrupt handler only over the default action. Background jobs of a non-interactive
shell start that way (how CI and scripts run things, `coach run ... &`), and so do their
children: the test's SIGINT did nothing and the coach went on prompting "I didn't catch that";
SIGTERM, which had a handler of its own, always worked. (Checked: no library here installs a
handler or blocks either signal; `signal.getsignal` and the C `sigaction` are unchanged after
PortAudio, espeak-ng, pocketsphinx and whisper start.)

The handler only notes the signal. KeyboardInterrupt is raised where the session handles it:
by `check()`, which the runner calls before every 20 ms block, and inside `interruptible()`
waits, where the handler raises at once: waiting for the preparation (speech, then the
recognizer, on a helper thread that stops after the phrase it is rendering), for the sound
device to open, for the sound card. So neither a stalled stream nor the speech engine's start
delays the stop, and it never comes halfway through recording the end, writing the speech cache
or saying the fault notice, nor inside a finalizer, where Python would print and swallow it. A
second signal while the session is already ending changes nothing.

A wait on the main thread sees a signal only if the signal wakes *it*: the kernel may hand a
process's signal to any thread that does not block it, and there CPython's C handler only notes
it for the main thread, which, blocked in a join, would see it when the join returns (lost for
the whole preparation of issue #14: SIGTERM at 1 s into "preparing speech", still running 10 s
later, one run in ~200). So the helpers started here block SIGNALS (the speech engine's threads,
started from the helper, inherit that), and the waits here poll every POLL_S, so a signal that
still lands on another thread (PortAudio's, started from the main thread) is acted on within it
(coach/threads.py).

SIGHUP inherited *ignored* is left ignored: that is `nohup coach run ...`, someone asking for the
session to outlive the terminal (a background job is started with SIGINT ignored, never SIGHUP).

Before a session installs its handlers, `catch_early()` (the CLI's first line) holds the signals:
the ~0.3 s of imports, argument parsing and opening the device would otherwise get the inherited
disposition — SIGTERM killed the coach without a word, and an ignored SIGINT was lost for good,
the session then starting anyway. There the signal raises KeyboardInterrupt at once (nothing has
begun, so nothing needs recording: "coach: interrupted", exit 130), and is also noted, so that a
KeyboardInterrupt swallowed on the way (raised inside a finalizer) still ends the session that
would start next (`StopSignals` takes the note over).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, TypeVar

from coach import threads

T = TypeVar("T")

SIGNALS = threads.STOP_SIGNALS
KEEP_IGNORED = (signal.SIGHUP,)  # inherited ignored (nohup): the person wants it ignored
# Set once a session that a signal ended is recorded and everything it opened is closed: the
# program may then leave at once (cli.leave_now).
SESSION_CLOSED = threading.Event()
SETTLE_S = 0.3  # after a signal, how long a preparing helper may take to stop (see call())
POLL_S = 0.05  # a main-thread wait looks for a signal noted on another thread this often


_early: list[int] = []  # signals caught before a session's handlers (catch_early)
_early_armed = False  # while True the early handler raises KeyboardInterrupt


def _early_handle(signum: int, _frame: FrameType | None) -> None:
    _early.append(signum)
    if _early_armed and len(_early) == 1:
        raise KeyboardInterrupt


def _take_over(handler: Callable[[int, FrameType | None], None]) -> dict[int, Any]:
    """Install `handler` for SIGNALS (leaving an inherited ignored SIGHUP alone); the old ones."""
    saved: dict[int, Any] = {}
    for s in SIGNALS:
        if s in KEEP_IGNORED and signal.getsignal(s) is signal.SIG_IGN:
            continue
        saved[s] = signal.signal(s, handler)
    return saved


def catch_early() -> None:
    """Install the early handlers (main thread only); `disarm_early()` when the program leaves."""
    global _early_armed
    if threading.current_thread() is not threading.main_thread():
        return
    _early_armed = True
    _take_over(_early_handle)


def disarm_early() -> None:
    """From now on an early handler only notes a signal (the program is leaving)."""
    global _early_armed
    _early_armed = False


class StopSignals:
    """`with StopSignals() as s:` installs the handlers (main thread only; elsewhere it does
    nothing) and restores the old ones after. Not installed, it is inert: `check()` never
    raises and `interruptible()` changes nothing, so a Runner can always use one."""

    def __init__(self) -> None:
        self.signum: int | None = None  # the first signal received
        self.handled = False  # its KeyboardInterrupt reached the code that ends the session
        self._raised = False  # the handler raises at most once (never into its own unwinding)
        self._waiting = 0  # depth of interruptible() sections
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            self._saved = _take_over(self._handle)
            if _early and self.signum is None:  # came before: its KeyboardInterrupt was lost
                self.signum = _early[0]
        return self

    def __exit__(self, *exc: object) -> None:
        for s, old in self._saved.items():
            signal.signal(s, signal.SIG_DFL if old is None else old)
        self._saved.clear()

    @property
    def received(self) -> bool:
        return self.signum is not None

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
        if self._waiting and not self._raised and not self.handled:
            self._raised = True
            raise KeyboardInterrupt

    def check(self) -> None:
        """Raise KeyboardInterrupt if a signal came and the session has not acted on it yet
        (also one that was raised in a wait and swallowed on its way up)."""
        if self.signum is not None and not self.handled:
            self._raised = True
            raise KeyboardInterrupt

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """A wait that a signal ends at once (the handler raises inside it)."""
        self.check()
        self._waiting += 1
        try:
            yield
        finally:
            self._waiting -= 1

    def stop_point(self) -> None:
        """For a helper thread's loop: stop its work (KeyboardInterrupt, on that thread) once a
        signal came; the main thread has already been interrupted."""
        if self.signum is not None:
            raise KeyboardInterrupt

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args) on a helper thread, waited for interruptibly: the preparation is mostly
        native code (the speech engine's start took 1.6 s idle, the recognizer's load 0.4 s;
        more under load), which would hold a signal on this thread until it returns. After a
        signal the helper is given SETTLE_S to reach a `stop_point()` or its end, so a phrase
        being rendered (~30 ms) and its cache write are finished; one still busy then is in
        the engine's start, which writes nothing, and is left to the process exit."""
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = fn(*args)
            except BaseException as e:  # handed to the waiting thread below
                box["error"] = e

        t = threads.start(run, "coach-prepare")
        try:
            with self.interruptible():
                while t.is_alive():  # (not one join: see the module doc)
                    t.join(POLL_S)
        except KeyboardInterrupt:
            t.join(SETTLE_S)
            raise
        if "error" in box:
            raise box["error"]
        value: T = box["value"]
        return value


def within(seconds: float, fn: Callable[[], object], name: str = "coach-close") -> bool:
    """fn() on a daemon helper thread, waited for at most `seconds`; errors are dropped. For
    closing things after a signal, when the process is about to exit: returns whether it was
    done in time (if not, it goes on alone, or the exit cuts it short)."""

    def run() -> None:
        with contextlib.suppress(Exception):
            fn()

    t = threads.start(run, name)
    t.join(seconds)
    return not t.is_alive()
