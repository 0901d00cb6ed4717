"""coach/app/interrupts.py in this process: which signals a session takes over (SIGINT, SIGTERM,
SIGHUP, but not a SIGHUP ignored by nohup), and that a signal ends a wait at once, once. The
same on a real `coach run` at many moments: tests/test_signals.py."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from coach.app.interrupts import StopSignals


def test_stop_signals_take_over_an_inherited_ignore_and_give_it_back() -> None:
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a background job inherits it
    try:
        with StopSignals() as s:
            signal.raise_signal(signal.SIGINT)  # noted, not raised here (not in a wait)
            assert s.signum == signal.SIGINT
            with pytest.raises(KeyboardInterrupt):
                s.check()
            s.handled = True
            s.check()  # handled: a second look changes nothing
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, old)


def test_a_signal_ends_an_interruptible_wait_at_once_and_only_once() -> None:
    main = threading.main_thread().ident
    assert main is not None
    with StopSignals() as s:
        threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT)).start()
        t = time.monotonic()
        with pytest.raises(KeyboardInterrupt), s.interruptible():
            threading.Event().wait(20)
        assert time.monotonic() - t < 5.0  # at once (measured ~0.2 s); 20 s if it were lost
        s.handled = True  # the session is ending: later signals are only noted
        with s.interruptible():
            signal.raise_signal(signal.SIGTERM)
        assert s.signum == signal.SIGINT


def test_the_preparation_helper_is_interrupted_and_hands_back_errors() -> None:
    main = threading.main_thread().ident
    assert main is not None
    with StopSignals() as s:
        assert s.call(lambda a, b: a + b, 2, 3) == 5
        with pytest.raises(ZeroDivisionError):
            s.call(lambda: 1 / 0)
        threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT)).start()
        t = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            s.call(time.sleep, 20)
        assert time.monotonic() - t < 5.0


def test_a_signal_another_thread_took_still_ends_the_preparation() -> None:
    """The kernel may give a process's signal to any thread that does not block it (PortAudio's,
    started from the main thread): CPython's C handler then only notes it, and the main thread,
    blocked in one long join, acted on it only when the whole preparation had ended (issue #14:
    still running 10 s after SIGTERM). Here a plain thread takes it; the helper would take 20 s."""
    done, finished = threading.Event(), threading.Event()

    def prepare() -> None:
        done.wait(20)
        finished.set()

    other = threading.Thread(
        target=lambda: (time.sleep(0.2), signal.pthread_kill(threading.get_ident(), signal.SIGTERM))
    )
    with StopSignals() as s:
        other.start()
        with pytest.raises(KeyboardInterrupt):
            s.call(prepare)
        stopped_early = not finished.is_set()
        done.set()
    other.join()
    assert s.signum == signal.SIGTERM
    assert stopped_early  # before the helper ended by itself (20 s)


def test_sighup_is_a_stop_like_sigterm() -> None:
    """Closing the terminal: noted like SIGTERM, ends a wait at once, handler given back."""
    old = signal.signal(signal.SIGHUP, signal.SIG_DFL)  # what a shell's child inherits
    main = threading.main_thread().ident
    assert main is not None
    try:
        with StopSignals() as s:
            assert signal.getsignal(signal.SIGHUP) == s._handle
            threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGHUP)).start()
            t = time.monotonic()
            with pytest.raises(KeyboardInterrupt), s.interruptible():
                threading.Event().wait(20)
            assert time.monotonic() - t < 5.0  # at once; 20 s (or the process killed) if lost
            assert s.signum == signal.SIGHUP
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGHUP, old)


def test_sighup_ignored_by_nohup_stays_ignored() -> None:
    """`nohup coach run ...` asks for the session to outlive the terminal: left as it is."""
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with StopSignals() as s:
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            signal.raise_signal(signal.SIGHUP)
            assert not s.received
            s.check()  # nothing to act on
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, old)
