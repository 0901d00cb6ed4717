"""What `coach check` says about each part, and what its checks share.

Kept apart from the checks themselves (coach/app/check.py, coach/app/check_words.py) so that
neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coach.errors import CoachError


@dataclass(frozen=True)
class CheckResult:
    name: str  # database | speech | recognizer | speaker | microphone
    ok: bool
    detail: str
    fix: str | None = None


@dataclass(frozen=True)
class CheckOptions:
    engine: str = "auto"
    lang: str = "en"
    model: str | None = None
    voice: str | None = None
    db: str | None = None
    prompt: bool = True  # ask the user to say "ready" and run the listener on it
    listen_s: float = 10.0  # how long to wait for "ready"
    level_s: float = 2.0  # level meter before the prompt


def failed(name: str, e: BaseException, fix: str | None = None) -> CheckResult:
    """A failed check from an error: a CoachError's own message and hint, else its type."""
    if isinstance(e, CoachError):
        return CheckResult(name, False, e.message, e.hint or fix)
    return CheckResult(name, False, f"{type(e).__name__}: {e}", fix)


def open_device() -> Any:
    """The sound card, opened as a session would open it (the speaker and mic checks use it)."""
    from coach.audio.device import DeviceAudio

    io = DeviceAudio()
    io.open()
    return io
