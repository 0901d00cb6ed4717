"""A clipped segment repaired before an engine reads it.

Why: close-talk input driven into the converter's rail loses the tops of its waveform, and both
models misread what is left. speech-v2 played 12 dB into clipping (`eval_commands.py --condition
loud`), the phoneme engine alone: yes 95 -> 79 %, no 90 -> 74 %, 9 of 121 ordinary words taken
for commands (0 clean). The samples on the rail are re-drawn by a cubic spline through the ones
that are not (the waveform's own shape, a few samples either side of each flat top), and the
segment is brought down to a peak the models read well. A segment that is not clipped passes
through untouched (README "Listening": the measurements).
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline

RAIL = 0.995  # a sample this close to the segment's peak is on the rail ...
MIN_PEAK = 0.25  # ... when that peak is a loud one (-12 dBFS or more) ...
MIN_ON_RAIL = 8  # ... and this many samples sit there, two of them side by side
MAX_REDRAWN = 4.0  # a re-drawn top is at most this many times the rail (12 dB)
PEAK = 0.5  # a repaired segment's peak (-6 dBFS)


def on_rail(x: np.ndarray) -> np.ndarray | None:
    """The mask of `x`'s samples on a converter's rail, or None when `x` is not clipped. An
    unclipped loud vowel reaches within 0.5 % of its peak at a sample or two of its loudest
    period; a clipped one sits there for runs of samples at every period."""
    if len(x) < 4:
        return None
    mag = np.abs(np.asarray(x, dtype=np.float64))
    peak = float(mag.max())
    if peak < MIN_PEAK:
        return None
    rail = mag >= RAIL * peak
    if int(rail.sum()) < MIN_ON_RAIL or not np.any(rail[1:] & rail[:-1]):
        return None
    return rail


def declip(x: np.ndarray) -> np.ndarray:
    """`x` with its clipped tops re-drawn and scaled to PEAK (float32); `x` itself if it is not
    clipped."""
    rail = on_rail(x)
    if rail is None:
        return x
    y = np.asarray(x, dtype=np.float64).copy()
    keep = np.flatnonzero(~rail)
    if len(keep) < 4:
        return x  # nothing but the rail: no shape to follow
    level = float(np.abs(y).max())
    bad = np.flatnonzero(rail)
    drawn = CubicSpline(keep, y[keep])(bad)
    # the top keeps its sign and never falls under the rail it was cut at
    y[bad] = np.sign(y[bad]) * np.clip(np.abs(drawn), level, MAX_REDRAWN * level)
    return (y * (PEAK / float(np.abs(y).max()))).astype(np.float32)
