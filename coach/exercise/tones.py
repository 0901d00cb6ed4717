"""Soft breath tones (optional): a quiet hum that swells with each inhale and ebbs with each exhale.

Synthesized with numpy, no files. A gentle sine glide (up while breathing in, down while breathing
out) under a sin² envelope spanning the phase, so there is never an edge to click on, and low
enough (TONE_LEVEL_DB) to sit under the voice.
"""

from __future__ import annotations

import numpy as np

from coach.audio.format import RATE
from coach.exercise.routine import Phase

TONE_LEVEL_DB = -30.0  # peak, dBFS: well under speech (~-6 dBFS peaks)
LOW_HZ = 196.0  # G3
HIGH_HZ = 262.0  # C4


def breath_tone(phase: Phase | str, samples: int, rate: int = RATE) -> np.ndarray:
    """A tone `samples` long for one breath phase (rising for inhale, falling for exhale)."""
    if samples <= 0:
        return np.zeros(0, np.float32)
    frac = np.arange(samples) / samples
    lo, hi = (LOW_HZ, HIGH_HZ) if Phase(phase) == Phase.INHALE else (HIGH_HZ, LOW_HZ)
    freq = lo * (hi / lo) ** frac  # exponential glide sounds even
    phase_acc = 2 * np.pi * np.cumsum(freq) / rate
    env = np.sin(np.pi * frac) ** 2
    level = 10.0 ** (TONE_LEVEL_DB / 20.0)
    return (level * env * np.sin(phase_acc)).astype(np.float32)


def tone_track(phases: list[tuple[Phase, int, int]], length: int, rate: int = RATE) -> np.ndarray:
    """One tone per (phase, start, end) sample span, summed into one track `length` long."""
    track = np.zeros(length, np.float32)
    for phase, a, b in phases:
        seg = breath_tone(phase, min(b, length) - a, rate)
        track[a : a + len(seg)] += seg
    return track
