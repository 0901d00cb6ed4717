"""The engine interface: decode one voiced segment against a small grammar of command phrases.

The listener does voice-activity detection, echo handling and rejection policy; an engine only
answers "which phrase of the grammar (if any) best explains this segment, and how sure are you".
Both pocketsphinx (bundled English model) and vosk (installed models) implement it; whisper and the
the cascades (phonemes+whisper, the default for English; pocketsphinx+whisper) put two in a row. An
engine may also answer *late* (a cascade in background mode): it then is a `LateEngine`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

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


@runtime_checkable
class LateEngine(Engine, Protocol):
    """An engine some of whose answers come later, from its own thread (a cascade in background
    mode: a slow second opinion must never hold up the next "stop")."""

    background: bool  # true: answers may come from late()
    ticket: int  # numbers each recognize() call; late answers carry it
    deferred: bool  # the last recognize() handed its segment to the worker

    def late(self) -> list[tuple[int, list[Hypothesis]]]:
        """Answers finished since the last call: (ticket, hypotheses)."""
        ...

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until every queued segment is answered; False on timeout."""
        ...

    def close(self) -> None:
        """Stop the worker thread."""
        ...


@runtime_checkable
class WeighsNearWords(Engine, Protocol):
    """An engine that knows, for its last segment, what each phrase cost and which stop/pain it
    kept only by their wider margin over a near word (the phoneme engine): a cascade's gate and
    its doubts read these."""

    last_costs: dict[str, float]  # phrase -> nats per required phoneme (lower: more likely)
    contested: set[str]  # stop/pain phrases a near word explained at least as cheaply


@runtime_checkable
class JudgesRivals(Engine, Protocol):
    """An engine that can say whether a near word explains a segment better than these phrases
    (Whisper's forced scoring): a cascade's veto asks it."""

    def prefers_rival(self, segment: np.ndarray, phrases: Collection[str]) -> bool: ...


@runtime_checkable
class Glimpses(Engine, Protocol):
    """An engine cheap enough to look at a word's end before the VAD's pause (the phoneme
    engine, alone or as a cascade's fast engine): a glimpse may only add a stop or pain, so it
    answers those alone, at once, and changes nothing the segment's own decode will decide. At a
    tail end (the word's fall held as long as a pause) its first look may answer any command."""

    def glimpse(self, segment: np.ndarray) -> list[Hypothesis]:
        """The stop/pain phrases heard in `segment` (best first); [] for anything else."""
        ...

    def first_look(self, segment: np.ndarray) -> list[Hypothesis]:
        """What this engine's decode would answer on `segment` without a slower opinion (a
        cascade's second engine): a tail end acts on it; [] leaves the segment to its decode."""
        ...
