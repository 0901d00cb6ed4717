"""Letting go of a PortAudio stream without hanging the program on a dead sound server.

When the audio server dies under a stream, PortAudio's stop or close can hang for good (measured:
about 1 in 5 kills of the server), and then so would the program's exit. `let_go` closes on a
helper thread and gives up after a wait; `exit_now_if_hung` then ends the program at once.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import Any

from coach import threads

CLOSE_WAIT_S = 2.0  # a stream close that takes longer is left behind (dead server: it can hang)

STREAM_HUNG = threading.Event()  # a stream's stop/close hung (see let_go, exit_now_if_hung)


def exit_now_if_hung(code: int) -> None:
    """Called as the program ends. After a stream's close hung, PortAudio's threads are stuck
    and the C libraries' exit handlers (ALSA, PulseAudio) wait on them, measured up to a minute
    after Python had finished: the user would see the error and then nothing. So in that case
    flush and leave at once with `code` (os._exit); otherwise return."""
    if STREAM_HUNG.is_set():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def let_go(stream: Any, wait_s: float = CLOSE_WAIT_S) -> bool:
    """Stop and close a stream, but never block the session on it for more than `wait_s`: when
    the audio server died under a stream, PortAudio's stop or abort can hang for good (measured:
    about 1 in 5 kills of the server, either call). Returns False if it hung."""

    def close() -> None:
        try:
            stream.stop(ignore_errors=True)
        finally:
            stream.close(ignore_errors=True)

    t = threads.start(close, "coach-stream-close")
    t.join(wait_s)
    if not t.is_alive():
        return True
    STREAM_HUNG.set()
    # sounddevice terminates PortAudio at exit, which waits for every open stream: with this
    # one hung the program would never end (measured). The process exit frees it instead.
    import sounddevice as sd

    handler = getattr(sd, "_exit_handler", None)
    if handler is not None:
        atexit.unregister(handler)
    return False
