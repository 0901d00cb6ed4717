"""The mic watchdog: a microphone that delivers no frames, or a dead-flat signal, is a coach that
cannot hear "stop". The runner asks it once per block; the session pauses when it fires."""

from __future__ import annotations

import numpy as np

WATCHDOG_S = 3.0  # mic silent-flat (or no frames) this long mid-session -> pause
FLAT_PEAK = 1e-6  # a block whose samples all lie within this of their mean is "dead flat"


class MicWatchdog:
    """Tells when the microphone has gone dead: no frames, or a dead-flat signal, for WATCHDOG_S.
    Fires once per outage; re-arms when a live signal comes back."""

    def __init__(self, seconds: float = WATCHDOG_S) -> None:
        self.seconds = seconds
        self._flat_since: float | None = None
        self._fired = False

    def update(self, mic: np.ndarray, now: float, no_input_s: float = 0.0) -> bool:
        flat = len(mic) == 0 or float(np.ptp(mic)) <= 2 * FLAT_PEAK
        if not flat and no_input_s < self.seconds:
            self._flat_since = None
            self._fired = False
            return False
        if self._flat_since is None:
            self._flat_since = now
        dead = now - self._flat_since >= self.seconds or no_input_s >= self.seconds
        if dead and not self._fired:
            self._fired = True
            return True
        return False
