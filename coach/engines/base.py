"""The engine interface: decode one voiced segment against a small grammar of command phrases.

The listener does voice-activity detection, echo handling and rejection policy; an engine only
answers "which phrase of the grammar (if any) best explains this segment, and how sure are you".
Both pocketsphinx (bundled English model) and vosk (installed models) implement it; whisper and the
pocketsphinx+whisper cascade are optional. An engine may also answer *late* (the cascade in
background mode, `background` true): it then has `ticket` (numbering its recognize calls),
`deferred` (the last call's segment went to the worker), `late()` (answers finished since, as
(ticket, hypotheses)) and `wait(timeout)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Hypothesis:
    """One recognized phrase in a segment. `phrase` is exactly one of the grammar's phrases.

    `confidence` is in [0, 1] and comparable across segments of the same engine (the listener's
    per-intent thresholds are set on it); `start`/`end` are seconds from the segment start.
    """

    phrase: str
    confidence: float
    start: float
    end: float


class Engine(Protocol):
    name: str  # "pocketsphinx" | "vosk"
    language: str  # language pack code, e.g. "en", "ko"

    def set_grammar(self, phrases: Sequence[str]) -> None:
        """Restrict recognition to these phrases (plus the engine's own garbage/rejection path)."""
        ...

    def recognize(self, segment: np.ndarray) -> list[Hypothesis]:
        """Decode one segment (16 kHz mono float32, real signal around the speech, no zero padding).

        Returns the grammar phrases heard, best first; [] when nothing in the grammar was said.
        """
        ...
