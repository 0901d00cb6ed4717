"""An offline guard: makes network access impossible for this process and records every attempt.

The coach promises to work offline and never to send audio anywhere. Tests prove it by running a
whole session with this guard installed (and, separately, under strace to catch C libraries);
a user can ask for the same with `COACH_OFFLINE=1` (or `COACH_NETGUARD_LOG=FILE` to record attempts).

The guard wraps Python's socket layer: creating any socket other than AF_UNIX (PulseAudio talks
over a unix socket), connecting, sending to an address, and name lookups all raise
NetworkBlockedError and are recorded (in memory, and appended to a log file when one is given, so
a parent process can read what its child tried).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coach.errors import CoachError

LOG_ENV = "COACH_NETGUARD_LOG"
OFFLINE_ENV = "COACH_OFFLINE"

_ALLOWED_FAMILIES = {socket.AF_UNIX}
_attempts: list[str] = []
_lock = threading.Lock()
_log: Path | None = None
_originals: dict[str, Any] = {}


class NetworkBlockedError(CoachError, ConnectionRefusedError):
    """A network access was attempted while the offline guard is on. Also an OSError, so code that
    handles a refused connection handles this one the same way (the attempt is still recorded)."""

    def __init__(self, what: str) -> None:
        CoachError.__init__(
            self,
            f"network access blocked (offline mode): {what}",
            hint="the coach runs offline; only `coach model install` downloads, when asked",
        )


def _record(what: str) -> None:
    with _lock:
        _attempts.append(what)
        if _log is not None:
            try:
                with _log.open("a", encoding="utf-8") as f:
                    f.write(what + "\n")
            except OSError:
                pass  # the in-memory record still has it
    raise NetworkBlockedError(what)


def _family_name(family: int) -> str:
    try:  # an int that is no known family, or whatever a caller passed instead of an int
        return socket.AddressFamily(family).name
    except (ValueError, TypeError):
        return str(family)


def _guarded_init(self: socket.socket, family: int = -1, *args: Any, **kwargs: Any) -> None:
    fam = socket.AF_INET if family in (-1, None) and kwargs.get("fileno") is None else family
    if fam not in (-1, None) and fam not in _ALLOWED_FAMILIES:
        _record(f"socket({_family_name(fam)})")
    _originals["init"](self, family, *args, **kwargs)
    if self.family not in _ALLOWED_FAMILIES:  # e.g. socket(fileno=...) of an inet socket
        self.close()
        _record(f"socket({_family_name(self.family)}) from a file descriptor")


def _guard_method(name: str) -> Callable[..., Any]:
    original = getattr(socket.socket, name)

    def guarded(self: socket.socket, *args: Any, **kwargs: Any) -> Any:
        if self.family not in _ALLOWED_FAMILIES:
            _record(f"{name}({_family_name(self.family)}, {args[:1]!r})")
        return original(self, *args, **kwargs)

    _originals[name] = original
    return guarded


def _guard_lookup(name: str) -> Callable[..., Any]:
    original = getattr(socket, name)

    def guarded(*args: Any, **kwargs: Any) -> Any:
        _record(f"{name}{args[:2]!r}")
        return original(*args, **kwargs)  # pragma: no cover - _record always raises

    _originals[name] = original
    return guarded


def install(log: Path | str | None = None) -> None:
    """Block and record network access from now on, for the whole process. Idempotent."""
    global _log
    if log is None and os.environ.get(LOG_ENV):
        log = os.environ[LOG_ENV]
    _log = Path(log) if log is not None else None
    if "init" in _originals:
        return
    _originals["init"] = socket.socket.__init__
    socket.socket.__init__ = _guarded_init  # type: ignore[method-assign]  # monkeypatch, on purpose
    for m in ("connect", "connect_ex", "sendto", "sendmsg", "bind"):
        setattr(socket.socket, m, _guard_method(m))
    for f in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        setattr(socket, f, _guard_lookup(f))


def uninstall() -> None:
    """Restore the socket module (tests that install the guard in-process use this)."""
    global _log
    if "init" not in _originals:
        return
    socket.socket.__init__ = _originals.pop("init")  # type: ignore[method-assign]  # undoes install()
    for m in ("connect", "connect_ex", "sendto", "sendmsg", "bind"):
        setattr(socket.socket, m, _originals.pop(m))
    for f in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        setattr(socket, f, _originals.pop(f))
    _log = None


def installed() -> bool:
    return "init" in _originals


def attempts() -> list[str]:
    """Every network access attempted since install(), in order."""
    with _lock:
        return list(_attempts)


def install_from_env() -> bool:
    """Install the guard when COACH_OFFLINE=1 (or a log is requested); returns whether it did."""
    if os.environ.get(OFFLINE_ENV, "") not in ("", "0") or os.environ.get(LOG_ENV):
        install()
        return True
    return False
