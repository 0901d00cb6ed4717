"""coach/threads.py: the coach's helper threads never take a stop signal, so the kernel hands it
to the main thread (the lost SIGTERM of issue #14)."""

from __future__ import annotations

import signal
import threading

from coach import threads


def test_a_helper_blocks_the_stop_signals_and_the_main_thread_does_not() -> None:
    seen: dict[str, set[int]] = {}

    def look(name: str) -> None:
        seen[name] = set(signal.pthread_sigmask(signal.SIG_BLOCK, []))
        inner = threading.Thread(target=lambda: seen.update(inner=set(
            signal.pthread_sigmask(signal.SIG_BLOCK, []))))  # fmt: skip
        inner.start()  # a thread the helper starts (the speech engine's) inherits the mask
        inner.join()

    threads.start(look, "coach-test", "helper").join(10)
    assert set(threads.STOP_SIGNALS) <= seen["helper"]
    assert set(threads.STOP_SIGNALS) <= seen["inner"]
    assert not set(threads.STOP_SIGNALS) & set(signal.pthread_sigmask(signal.SIG_BLOCK, []))
