"""Self-hearing protection: remove what the coach itself played from the microphone signal.

The player's output block is the sample-aligned reference. A room (or the file back end's echo)
returns it to the mic delayed and scaled, so we estimate that delay and gain by normalized
cross-correlation over the last second, only when the correlation is high (the user talking over
the coach lowers it, so double talk does not corrupt the estimate), and subtract the delayed,
scaled reference. We also track how much echo is left after subtraction (`leak_db`), so the
listener can ignore residual energy that the echo alone explains.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from coach.audio.format import BLOCK, RATE
from coach.audio.levels import level_db

MIN_COUPLING_BLOCKS = 15  # blocks of the coach playing before the mic/reference ratio is trusted
UNKNOWN_MARGIN_DB = -4.0  # see process(): with the listener's +10 dB, speech 6 dB over the echo


@dataclass(frozen=True)
class EchoConfig:
    max_delay_s: float = 0.4  # longest speaker->mic delay searched
    window_s: float = 1.0  # correlation window
    min_window_s: float = 0.3  # first estimate after this much of the coach's speech
    update_every_s: float = 0.1
    min_corr: float = 0.6  # accept an estimate only when the mic is clearly the reference
    active_db: float = -50.0  # the reference counts as "playing" above this level
    leak_init_db: float = -10.0  # assumed residual echo before it is measured


class EchoCanceller:
    """Per-block: residual = mic - gain * ref[n - delay]."""

    def __init__(self, config: EchoConfig | None = None) -> None:
        self.config = config or EchoConfig()
        c = self.config
        self._max_delay = round(c.max_delay_s * RATE)
        self._win = round(c.window_s * RATE)
        self._every = max(1, round(c.update_every_s * RATE / BLOCK))
        self._min_win = round(c.min_window_s * RATE)
        self._ref_len = self._win + self._max_delay + BLOCK
        self.reset()

    def reset(self) -> None:
        self._ref = np.zeros(self._ref_len, np.float32)
        self._mic: deque[np.ndarray] = deque()
        self._mic_n = 0
        self._blocks = 0
        self._since_ref = 10**9  # blocks since the reference last played
        self.delay: int | None = None
        self.gain = 0.0
        self.corr = 0.0
        self.leak_db = self.config.leak_init_db
        self._active_recent = 0
        self._last_ref_db = -120.0
        self._coupling: deque[float] = deque(maxlen=50)  # mic dB - reference dB, last second

    @property
    def playing(self) -> bool:
        """The reference played within the last max-delay (its echo may still be arriving)."""
        return self._since_ref * BLOCK <= self._max_delay + BLOCK

    def process(self, mic: np.ndarray, ref: np.ndarray | None) -> tuple[np.ndarray, float | None]:
        """Returns (residual block, level in dB of the echo we removed, None if none expected)."""
        n = len(mic)
        r = np.zeros(n, np.float32) if ref is None else np.asarray(ref, np.float32)[:n]
        if len(r) < n:
            r = np.pad(r, (0, n - len(r)))
        self._ref = np.roll(self._ref, -n)
        self._ref[-n:] = r
        self._mic.append(np.asarray(mic, np.float32))
        self._mic_n += n
        while self._mic_n - len(self._mic[0]) >= self._win:
            self._mic_n -= len(self._mic.popleft())
        ref_on = ref is not None and level_db(r) > self.config.active_db
        self._since_ref = 0 if ref_on else self._since_ref + 1
        self._blocks += 1
        if ref_on or self.playing:
            self._active_recent += 1
            have = min(self._active_recent * BLOCK, self._win)
            if self._blocks % self._every == 0 and have >= self._min_win:
                self._estimate(have)
        else:
            self._active_recent = 0
        if not self.playing:
            return np.asarray(mic, np.float32), None
        if self.delay is None:
            # echo path unknown yet: assume the mic hears the coach as loud as it plays
            # echo path unknown yet (or there is no echo at all, e.g. headphones or the virtual
            # devices): judge by how loud the mic is relative to what we play. The median keeps
            # the user's words from making the coach look louder in the mic than it is.
            ref_db = level_db(r)
            self._last_ref_db = max(ref_db, self._last_ref_db - 1.0)
            if ref_on:
                self._coupling.append(level_db(mic) - ref_db)
            # until 0.3 s of it are measured, as loud as it plays: the first blocks of the first
            # cue come before its echo does, and would make the room look silent (the echo then
            # arriving was taken for the user's voice, a hush at 0.12 s)
            enough = len(self._coupling) >= MIN_COUPLING_BLOCKS
            coupling = float(np.median(self._coupling)) if enough else 0.0
            # the listener adds leak_db + its margin; without subtraction there is no leak
            echo_db = self._last_ref_db + min(coupling, 0.0) + UNKNOWN_MARGIN_DB - self.leak_db
            return np.asarray(mic, np.float32), echo_db
        d = self.delay
        echo = self.gain * self._ref[self._ref_len - n - d : self._ref_len - d]
        res = (mic - echo).astype(np.float32)
        echo_db = level_db(echo)
        if echo_db > -45.0 and self.corr >= self.config.min_corr:
            # how much echo survives subtraction; a slow max-tracker toward what we measure
            ratio = level_db(res) - echo_db
            self.leak_db += (
                0.05 * (ratio - self.leak_db)
                if ratio < self.leak_db
                else 0.01 * (ratio - self.leak_db)
            )
        return res, echo_db

    def _estimate(self, win: int) -> None:
        if self._mic_n < win:
            return
        y = np.concatenate(self._mic)[-win:].astype(np.float64)
        x = self._ref[-(win + self._max_delay) :].astype(np.float64)
        if float(np.dot(x, x)) < 1e-6 or float(np.dot(y, y)) < 1e-9:
            return
        # c[k] = sum_n y[n] * x[n + max_delay - k]: mic now vs reference k samples earlier
        size = 1 << int(np.ceil(np.log2(len(x) + len(y))))
        c = np.fft.irfft(np.fft.rfft(y, size).conj() * np.fft.rfft(x, size), size)
        lags = np.arange(self._max_delay + 1)
        cc = c[self._max_delay - lags]
        # energy of each reference window
        csum = np.concatenate(([0.0], np.cumsum(x * x)))
        starts = self._max_delay - lags
        ex = csum[starts + win] - csum[starts]
        ey = float(np.dot(y, y))
        norm = cc / np.sqrt(np.maximum(ex, 1e-12) * ey)
        k = int(np.argmax(norm))
        if norm[k] < self.config.min_corr:
            return
        gain = float(cc[k] / max(ex[k], 1e-12))
        if self.delay == k:
            self.gain += 0.5 * (gain - self.gain)
        else:
            self.delay, self.gain = k, gain
        self.corr = float(norm[k])
