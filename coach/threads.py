"""The coach's own helper threads, started with the stop signals blocked.

The kernel hands a process's signal to any thread that does not block it. On a helper thread
CPython's C handler only notes it for the main thread, and a main thread blocked in a wait sees
it only when that wait returns: a SIGTERM sent while speech was being prepared was acted on only
once all of it was rendered (issue #14, one run in ~200). Blocked here, the signal goes to the
main thread, which is woken at once; threads a helper starts (the speech engine's) inherit the
mask. Threads started in native code from the main thread (PortAudio's) can still take one,
which is why the main thread's waits also poll (coach/app/interrupts.py, POLL_S).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def start(target: Callable[..., object], name: str, *args: Any) -> threading.Thread:
    """Start target(*args) on a daemon thread that never receives STOP_SIGNALS."""

    def run() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        target(*args)

    t = threading.Thread(target=run, name=name, daemon=True)
    t.start()
    return t
