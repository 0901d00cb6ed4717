"""The two pieces the PortAudio callback leans on: a sample FIFO and a wall-clock lock.

They run on PortAudio's thread, so they allocate little and hold their lock briefly. Kept apart
from `audio_device.py` (the stream's life: open, exchange, reopen, close) because they are plain
numpy with no device behind them.
"""

from __future__ import annotations

import threading
from collections import deque

import numpy as np


class SampleFifo:
    """A lock-protected sample FIFO (float32), small and allocation-light."""

    def __init__(self, capacity: int) -> None:
        self.buf = np.zeros(capacity, np.float32)
        self.cap = capacity
        self.start = 0
        self.size = 0
        self.lock = threading.Lock()

    def write(self, x: np.ndarray) -> int:
        """Append; when full, the oldest samples are dropped. Returns how many were dropped."""
        with self.lock:
            x = x[-self.cap :]
            dropped = max(0, self.size + len(x) - self.cap)
            if dropped:
                self.start = (self.start + dropped) % self.cap
                self.size -= dropped
            end = (self.start + self.size) % self.cap
            k = min(len(x), self.cap - end)
            self.buf[end : end + k] = x[:k]
            self.buf[: len(x) - k] = x[k:]
            self.size += len(x)
            return dropped

    def read_into(self, out: np.ndarray) -> int:
        """Fill `out` from the front; returns how many samples there were (rest untouched)."""
        with self.lock:
            n = min(len(out), self.size)
            k = min(n, self.cap - self.start)
            out[:k] = self.buf[self.start : self.start + k]
            out[k:n] = self.buf[: n - k]
            self.start = (self.start + n) % self.cap
            self.size -= n
            return n

    def drop(self, n: int) -> int:
        with self.lock:
            n = min(n, self.size)
            self.start = (self.start + n) % self.cap
            self.size -= n
            return n

    def fade_out(self, fade: int) -> int:
        """Zero what is queued after a raised-cosine fade over its first `fade` samples (no
        click); the length stays. Returns how many queued samples were silenced."""
        with self.lock:
            n = self.size
            if not n:
                return 0
            idx = (self.start + np.arange(n)) % self.cap
            f = min(fade, n)
            ramp = (0.5 + 0.5 * np.cos(np.pi * np.arange(f) / max(1, f))).astype(np.float32)
            self.buf[idx[:f]] *= ramp
            self.buf[idx[f:]] = 0.0
            return n

    def __len__(self) -> int:
        return self.size


class WallLock:
    """Keeps the stream's sample count on real time. On a loaded machine PulseAudio can underrun
    our stream (silence inserted: everything after plays late) or drop mic frames; either way the
    samples counted fall behind real time for good and the cues would drift off the breath.

    Each callback gives the time its first output sample reaches the speaker (PortAudio's
    outputBufferDacTime; measured here: steady within 1.5 ms, and after an underrun it steps at
    once to the new delay). Lag = that time minus where the sample count says it should be.
    `update` returns how many samples the stream fell behind beyond `tolerance` (judged on the
    minimum lag over a short window) so the caller skips ahead by exactly that much. Without DAC
    times (some host APIs give 0) the callback's wall time is used, with a longer window."""

    def __init__(
        self, rate: int, window_s: float = 0.05, tolerance: int = 160, warmup_s: float = 1.0
    ) -> None:
        self.rate, self.window_s, self.tolerance, self.warmup_s = (
            rate,
            window_s,
            tolerance,
            warmup_s,
        )
        self.reset()

    def reset(self) -> None:
        self.t0: float | None = None
        self.n = 0
        self.base: float | None = None
        self.win: deque[tuple[float, float]] = deque()

    def update(self, frames: int, stamp: float) -> int:
        """`stamp`: when this callback's first sample plays (seconds, any monotonic origin)."""
        if self.t0 is None:
            self.t0 = stamp
        lag = (stamp - self.t0) * self.rate - self.n
        self.n += frames
        self.win.append((stamp, lag))
        while self.win[0][0] < stamp - self.window_s:
            self.win.popleft()
        if stamp - self.t0 < self.warmup_s:
            return 0  # at the start PortAudio primes the output in a burst: no baseline yet
        low = min(v for _, v in self.win)
        if self.base is None:
            self.base = low
            return 0
        # The baseline is never lowered: after an underrun PortAudio refills the output in a
        # burst (count briefly ahead); taking that as the new baseline made later skips false.
        behind = int(low - self.base)
        if behind <= self.tolerance:
            return 0
        self.n += behind
        self.win = deque((t, v - behind) for t, v in self.win)
        return behind
