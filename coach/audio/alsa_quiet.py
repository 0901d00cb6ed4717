"""Keep ALSA's and PortAudio's own messages off the user's terminal.

PortAudio reaches the sound devices through ALSA (libasound), and ALSA prints its complaints
straight onto stderr from C: `ALSA lib pcm.c:8570:(snd_pcm_recover) underrun occurred` in the
middle of a session, or a screen of device-probing lines when PortAudio starts. They are not
addressed to the user (the coach reports what matters: AudioDeviceError, the mic watchdog) and the
PortAudio in Debian (19.6) does not silence them itself. `quiet_alsa()` replaces ALSA's error
handler, once per process, with one that hands each message to the `coach.alsa` logger at DEBUG.
Nothing configures that logger, so the messages are dropped; run with COACH_DEBUG=1 to have them
printed on stderr (as `coach: ALSA pcm.c:8570 (snd_pcm_recover): %s occurred`).

PortAudio prints its own failed checks too — `Expression 'alsa_snd_pcm_poll_descriptors_revents(
...)' failed in 'src/hostapi/alsa/pa_linux_alsa.c', line: 3665` on a starved machine, at a stream's
start, mid-session or at its close — with `fprintf` on C's `stderr` stream, and Debian's
libportaudio2 does not export the function that would redirect them (PaUtil_SetDebugPrintFunction).
So C's `stderr` stream (the `FILE *`, not file descriptor 2) is pointed at a pipe whose lines a
daemon thread hands to the same logger. Python's own `sys.stderr` writes to descriptor 2 itself,
as do faulthandler and child processes, so the coach's lines and real crashes still show.

Call it before the first `import sounddevice`: importing it initializes PortAudio, which probes
ALSA. The C handler is variadic (file, line, function, err, fmt, ...); ctypes cannot take the
variable arguments, so the format string is logged unexpanded. The handler runs on whatever
thread ALSA complains on (PortAudio's audio thread for an underrun) and takes the GIL there, as
sounddevice's stream callback does on that thread every block anyway.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading

from coach import threads

log = logging.getLogger("coach.alsa")

_HANDLER_TYPE = ctypes.CFUNCTYPE(
    None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
)
_lock = threading.Lock()
_installed: object = None  # the ctypes callback: kept alive for as long as ALSA may call it


def _text(b: bytes | None) -> str:
    return b.decode("utf-8", "replace") if b else "?"


def _on_alsa_error(file: bytes, line: int, function: bytes, err: int, fmt: bytes) -> None:
    try:
        msg = f"ALSA {_text(file)}:{line} ({_text(function)}): {_text(fmt)}"
        log.debug(msg + (f" (error {err})" if err else ""))
    except Exception:  # never let an exception reach ALSA's C caller
        pass


def _read_lines(fd: int) -> None:
    """The pipe's reader: each line C wrote to `stderr`, to the logger (until the exit)."""
    pending = b""
    while chunk := os.read(fd, 4096):
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            if line.strip():
                log.debug("native: %s", line.decode("utf-8", "replace"))


def _quiet_c_stderr() -> bool:
    """Point C's `stderr` FILE at a pipe read by `_read_lines` (see the module doc)."""
    try:
        libc = ctypes.CDLL(None)
        stderr_ptr = ctypes.c_void_p.in_dll(libc, "stderr")
        libc.fdopen.restype = ctypes.c_void_p
        libc.fdopen.argtypes = [ctypes.c_int, ctypes.c_char_p]
        libc.setvbuf.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_size_t]
    except (OSError, AttributeError, ValueError):
        return False
    r, w = os.pipe()  # both close-on-exec: children keep the real descriptor 2
    stream = libc.fdopen(w, b"w")
    if not stream:
        os.close(r)
        os.close(w)
        return False
    libc.setvbuf(stream, None, 1, 0)  # _IOLBF: a line reaches the reader when it is written
    threads.start(_read_lines, "coach-c-stderr", r)
    stderr_ptr.value = stream
    return True


def quiet_alsa() -> bool:
    """Route ALSA's error messages to the `coach.alsa` logger (idempotent). False when there is
    no libasound (not Linux, or no ALSA): then there is nothing to quiet."""
    global _installed
    with _lock:
        if _installed is not None:
            return True
        if not sys.platform.startswith("linux"):
            return False
        try:
            lib = ctypes.CDLL("libasound.so.2")
            set_handler = lib.snd_lib_error_set_handler
        except (OSError, AttributeError):
            return False
        set_handler.argtypes = [_HANDLER_TYPE]
        set_handler.restype = ctypes.c_int
        handler = _HANDLER_TYPE(_on_alsa_error)
        if set_handler(handler) != 0:
            return False
        _installed = handler
        _quiet_c_stderr()
        if os.environ.get("COACH_DEBUG") and not log.handlers:
            out = logging.StreamHandler(sys.stderr)
            out.setFormatter(logging.Formatter("coach: %(message)s"))
            log.addHandler(out)
            log.setLevel(logging.DEBUG)
            log.propagate = False
        return True
