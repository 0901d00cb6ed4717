"""Two engines in a row, recall first: the fast one decides; where it hears nothing, the second
listens again for stop and pain only.

Why: the bundled pocketsphinx and Whisper tiny.en miss *different* people's "stop" (measured on the
human clips: each misses one of five, not the same one), and a missed stop is the one error that
hurts. pocketsphinx answers in ~30 ms and keeps the fast path; Whisper (~0.5 s CPU) only runs on
short segments pocketsphinx rejected, and only stop/pain phrases count from it — its other
verdicts are not asked for, so it cannot add a false "slower" or "yes". `--engine
pocketsphinx+whisper`; needs the optional whisper extra.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from ..audio_format import RATE
from .base import Engine, Hypothesis

SECOND_MAX_S = 2.0  # longer segments are sentences, not a word to look at twice


class CascadeEngine:
    """Engine protocol (coach.engines.base): `fast` first, `second` for `recall_phrases`."""

    def __init__(
        self,
        fast: Engine,
        second: Engine,
        recall_phrases: Collection[str],
        second_min_confidence: float = 0.0,
    ) -> None:
        self.fast, self.second = fast, second
        self.name = f"{fast.name}+{second.name}"
        self.threshold_key = fast.name  # the listener's per-intent thresholds: the fast engine's
        self.language = fast.language
        self.recall_phrases = set(recall_phrases)
        self.second_min_confidence = second_min_confidence
        self.second_calls = 0

    def set_grammar(self, phrases: Sequence[str]) -> None:
        self.fast.set_grammar(phrases)
        self.second.set_grammar([p for p in phrases if p in self.recall_phrases])

    def recognize(self, segment: np.ndarray) -> list[Hypothesis]:
        hyps = self.fast.recognize(segment)
        if hyps or len(segment) > SECOND_MAX_S * RATE:
            return hyps
        self.second_calls += 1
        return [
            h
            for h in self.second.recognize(segment)
            if h.phrase in self.recall_phrases and h.confidence >= self.second_min_confidence
        ]
