"""A rendered phrase trimmed to its sound, so its first sound lands where the choreography puts it
on the breath: leading and trailing silence cut down to a few milliseconds, with tiny fades at the
new edges. Both speech engines (espeak-ng through coach/speech/tts.py, Piper through
coach/speech/piper_voice.py) trim this way."""

from __future__ import annotations

import numpy as np

LEAD_S = 0.005  # silence kept before the first sound (onset lands on the beat)
TAIL_S = 0.020  # kept after the last sound (lets the release ring out)
FADE_S = 0.002  # raised-cosine edges so a trimmed clip never starts or ends with a click


def trim_silence(x: np.ndarray, rate: int) -> np.ndarray:
    """Cut leading/trailing silence down to LEAD_S/TAIL_S, with tiny fades at the new edges.

    Sound = a 1 ms window whose peak is above 1 % of the clip's peak (-40 dB), so quiet onsets
    such as an 's' are kept but espeak-ng's padding is not."""
    import numpy as np

    if not len(x):
        return x
    win = max(1, rate // 1000)
    n = len(x) // win * win
    env = np.abs(x[:n]).reshape(-1, win).max(axis=1) if n else np.abs(x)
    peak = float(env.max()) if len(env) else 0.0
    if peak < 1e-4:
        return x[:0]
    loud = np.flatnonzero(env > max(0.01 * peak, 1e-4))
    start = max(0, int(loud[0]) * win - round(LEAD_S * rate))
    end = min(len(x), (int(loud[-1]) + 1) * win + round(TAIL_S * rate))
    y = np.array(x[start:end], dtype=np.float32)
    f = min(len(y) // 2, round(FADE_S * rate))
    if f:
        ramp = (0.5 - 0.5 * np.cos(np.pi * np.arange(f) / f)).astype(np.float32)
        y[:f] *= ramp
        y[-f:] *= ramp[::-1]
    return y
