"""The microphone going away mid-session and coming back: the session's pure bookkeeping of it.

Two signals say the coach cannot hear. The mic watchdog (coach/app/mic_watchdog.py): no frames or a
dead-flat signal for a few seconds, as from a muted microphone. And the audio back end: the device
itself is gone (unplugged; PulseAudio moved our capture stream away), while the speaker still
plays on an output-only stream (coach/audio/device.py). Either way the session pauses and says
so. An unplugged microphone is waited for up to `wait_s` (MIC_WAIT_S): when it is back the coach
says so and "resume" (or "ready") carries on; if it never comes back the session ends as a fault,
said aloud. The session (coach/session/machine.py) calls this; it holds no audio and no clock of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from coach.session.actions import Action, Log
from coach.session.events import EventType

MIC_WAIT_S = 120.0  # an unplugged microphone is waited for this long, then the session ends


@dataclass
class MicOutage:
    """Whether the session paused for the microphone, and since when the device is gone."""

    wait_s: float = MIC_WAIT_S
    paused: bool = False  # the pause is the microphone's: "ready" works like "resume"
    gone_at: float | None = None  # the device went away (None: it is there)

    def gone(self, now: float, why: str) -> list[Action]:
        """The device went away: the event (the session decides what is said)."""
        if self.gone_at is None:
            self.gone_at = now
        return [Log(EventType.MIC_LOST, {"why": why, "wait_s": self.wait_s})]

    def back(self, now: float) -> list[Action]:
        """The device is there again: the event, with how long it was away."""
        if self.gone_at is None:
            return []
        away, self.gone_at = round(now - self.gone_at, 3), None
        return [Log(EventType.MIC_BACK, {"after_s": away})]

    def given_up(self, now: float) -> bool:
        """Still gone `wait_s` after it went: time to end the session."""
        return self.gone_at is not None and now - self.gone_at >= self.wait_s

    def resumed(self) -> None:
        """The user carried on: the pause is over (a device still gone stays gone)."""
        self.paused = False
