"""Hush on voice: the session's pure bookkeeping of a hush, from the person's first sound to the
verdict on what they said.

The coach falls silent the moment the person's voice begins while it speaks (the echo gate tells
it from the coach's own); it carries on once the words were no command (HUSH_GRACE_S after the
verdict), or when no verdict came in time. The bounds count the audio the listener has heard.
"""

from __future__ import annotations

HUSH_GRACE_S = 0.1  # after the user's words were no command (their verdict is in), then carry on
HUSH_MAX_S = 1.5  # a hush with no verdict this long after it began ends (the coach carries on)
# ... unless the words have ended and only their decode is still running: a busy machine took
# 2.3-4 s for a "stop" (measured live), and carrying on first talks over it; a stop may be in
# them, so the coach stays quiet until the verdict, for at most this long
HUSH_VERDICT_MAX_S = 6.0
# Those bounds count the audio the listener has heard: on a loaded machine its thread lags the
# speaker (a backlog of blocks, seconds at load 9), and a hush must not end before the words were
# even heard. At most this much lag is allowed for, so a stuck listener cannot hold it forever.
HUSH_BACKLOG_MAX_S = 3.0


class HushState:
    """Whether a hush is under way, and what ends it."""

    def __init__(self) -> None:
        self.began_at: float | None = None  # a hush under way: when it began
        self._voice_ended_at: float | None = None  # ... and when the user's voice ended
        self._awaiting_verdict = False  # ... their words ended, a decode is still running
        self._unheard_s = 0.0  # the listener's lag (listener_lag)

    @property
    def active(self) -> bool:
        return self.began_at is not None

    def begin(self, now: float) -> bool:
        """The voice began; True when this starts a hush (more words only extend one)."""
        if self.began_at is not None:
            self._voice_ended_at = None  # more words: the hush lasts (up to HUSH_MAX_S)
            return False
        self.began_at, self._voice_ended_at = now, None
        return True

    def voice_ended(self, now: float, verdict: bool) -> None:
        if self.began_at is None:
            return
        if verdict:
            self._voice_ended_at = now
        else:
            self._awaiting_verdict = True

    def lag(self, unheard_s: float) -> None:
        self._unheard_s = max(unheard_s, 0.0)

    def due(self, now: float) -> str | None:
        """Why the hush ends now ("nothing": the words were no command; "timeout"), or None."""
        if self.began_at is None:
            return None
        ended = self._voice_ended_at
        heard = now - self.began_at - min(self._unheard_s, HUSH_BACKLOG_MAX_S)
        if ended is not None and now - ended >= HUSH_GRACE_S:
            return "nothing"
        if heard >= (HUSH_VERDICT_MAX_S if self._awaiting_verdict else HUSH_MAX_S):
            return "timeout"
        return None

    def clear(self) -> None:
        """Dropped with what it held (a pause or an end cuts everything)."""
        self.began_at = self._voice_ended_at = None
        self._awaiting_verdict = False

    def end(self, now: float) -> float:
        """The hush is over; how long it held the coach (seconds)."""
        assert self.began_at is not None
        held_s = round(now - self.began_at, 3)
        self.clear()
        return held_s
