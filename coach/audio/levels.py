"""How loud a block is, and the quiet room noise the coach puts where no recording is.

One of each on purpose: the VAD, the echo canceller, `coach check` and the tests all measure
levels the same way, and every place that needs "a quiet room" (the file back end after the mic
WAV ends, the device back end's resync gap, the demo's recording, `coach hear`'s lead-in, the
listener's final hangover) takes it from one seeded generator — never digital zeros, which hurt
recognizers (docs/design-facts.md).
"""

from __future__ import annotations

import numpy as np


def level_db(x: np.ndarray) -> float:
    """Level in dB full scale (mean square); an empty or all-zero block is about -120 dBFS."""
    ms = float(np.mean(np.square(x, dtype=np.float64))) if len(x) else 0.0
    return float(10.0 * np.log10(ms + 1e-12))


class RoomNoise:
    """White Gaussian noise at `level_db` dBFS (RMS) from one generator: successive blocks are one
    continuous noise, and the same seed gives the same room again (tests, benchmarks)."""

    def __init__(self, level_db: float = -60.0, seed: int = 0) -> None:
        self.sigma = float(10.0 ** (level_db / 20.0))
        self._rng = np.random.default_rng(seed)

    def take(self, n: int) -> np.ndarray:
        return self._rng.standard_normal(n).astype(np.float32) * self.sigma


def room_noise(n: int, level_db: float = -60.0, seed: int = 0) -> np.ndarray:
    """`n` samples of a quiet room (float32)."""
    return RoomNoise(level_db, seed).take(n)
