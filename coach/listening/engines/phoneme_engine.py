"""The phoneme engine: hama's phoneme CTC model (a 4.7 MB waveform -> IPA model in the `hama` wheel,
Apache-2.0, no onnxruntime) read by the keyword spotter in phoneme_spotter.py.

Why: the bundled pocketsphinx heard 20-70 % of real people's "stop"; a model that outputs phonemes
hears voices it never saw, and each command is a pattern written by hand in the language pack
(`[intents.X.phonemes]`), so nothing is trained on our own synthetic voices. ~0.06 s of CPU per
second of audio, and it runs on voiced segments only.

Confidence = exp(-cost / required phonemes): the nats a pattern gives up against the model's free
reading, per phoneme it must hear, so a long phrase and a short one share one threshold scale.

Near words (the pack's `[competitors]`: "top", "pay", "oh" ...) are patterns in the same graph that
mean "not a command": a command whose audio one of them explains better is dropped, so the cascade
asks Whisper about it as about a segment where nothing was heard.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Collection, Sequence
from enum import StrEnum
from typing import Any

import numpy as np

from coach.errors import ModelError
from coach.intents import SAFETY_INTENTS
from coach.listening.engines.base import Hypothesis
from coach.listening.engines.phoneme_spotter import (
    PatternError,
    Slot,
    Spotter,
    near,
    parse_pattern,
    unbeaten,
)
from coach.listening.langpack import LanguagePack

EXTRA_PENALTY = 2.0  # nats per frame of speech the pattern leaves unexplained (tuned, README)
# a near word of the pack's [competitors] vetoes a command when it explains the same audio at least
# this many nats more cheaply (phoneme_spotter.unbeaten) ...
COMPETITOR_MARGIN = 0.0
# ... and stop or pain only by this many: the phoneme model hears some real stops as "step",
# "star", "stock" or "top" (0.5-2.3 nats better on the development clips); they must stay on the
# fast path (README "Listening": measured designs)
SAFETY_MARGIN = 3.0
MIN_SAMPLES = 640  # two model frames: shorter input has nothing to align
# A glimpse (base.Glimpses) acts on a confident stop/pain only: it hears the word before its
# tail is over, and a hearing near the phrase's floor is left to the segment's own decode (with
# Whisper's opinion). Real stops glimpsed on speech-v2: 31 of 33 at 0.3 or more (29 at 0.5);
# "one" said over the coach's speech glimpsed as pain at 0.23 (README, "Where the stop's
# decision time goes").
GLIMPSE_FLOOR = 0.3


class BandFill(StrEnum):
    """What the phoneme engine takes from its second look at a band-limited segment (band.py)."""

    OFF = "off"  # no second look
    SAFETY = "safety"  # a stop or pain only
    ALL = "all"  # any phrase


_model_lock = threading.Lock()
_model: Any = None


def load_model() -> Any:
    """The hama ASR model (loaded once per process; ~20 ms)."""
    global _model
    with _model_lock:
        if _model is None:
            try:
                from hama import ASRModel
            except ImportError as e:
                raise ModelError(
                    f"the phoneme model cannot load: {e}",
                    hint="./scripts/setup installs it (the 'hama' package), or --engine pocketsphinx",
                ) from None
            try:
                _model = ASRModel()
            except (OSError, RuntimeError) as e:
                raise ModelError(f"the phoneme model cannot load: {e}") from None
        return _model


def competitors_of(pack: LanguagePack, phrases: Collection[str]) -> list[str]:
    """The pack's near words one phoneme slot from one of `phrases` (phoneme_spotter.near): for
    stop "top", "step", "star", "stock"; for pain "pay", "paid", "main", "plane", "page"; for
    ouch "out", "our", "each". Whisper's forced scoring weighs them against stop and pain."""
    patterns = pack.phoneme_patterns()
    own = [parse_pattern(patterns[p]) for p in phrases if p in patterns]
    return [w for w, t in pack.competitors.items() if any(near(o, parse_pattern(t)) for o in own)]


class PhonemeEngine:
    """Engine protocol (coach.listening.engines.base) over hama + the spotter."""

    name = "phonemes"

    def __init__(
        self,
        pack: LanguagePack,
        extra_penalty: float = EXTRA_PENALTY,
        margin: float = COMPETITOR_MARGIN,
        safety_margin: float = SAFETY_MARGIN,
    ) -> None:
        patterns = pack.phoneme_patterns()
        if not patterns:
            raise ModelError(
                f"the language pack '{pack.code}' has no phoneme patterns",
                hint="use --engine pocketsphinx or vosk for this language",
            )
        self.language = pack.code
        self.model = load_model()
        tokens = self.model.decoder_tokens
        self._ids = {t: i for i, t in enumerate(tokens)}
        self._slots: dict[str, tuple[Slot, ...]] = {}
        for phrase, text in patterns.items():
            try:
                self._slots[phrase] = parse_pattern(text, tokens)
            except PatternError as e:
                raise pack.phoneme_error(phrase, f"{phrase!r}: {e}") from None
        self._rivals: dict[str, tuple[Slot, ...]] = {}
        for word, text in pack.competitors.items():
            try:
                self._rivals[word] = parse_pattern(text, tokens)
            except PatternError as e:
                raise pack.phoneme_error(word, f"{word!r}: {e}") from None
        self.margin = margin
        self.margins = {p: safety_margin for p, i in pack.phrases().items() if i in SAFETY_INTENTS}
        self._required = {p: sum(not s.optional for s in sl) for p, sl in self._slots.items()}
        # a phrase counts as heard at its intent's threshold (the listener applies the same one)
        self.floors = {
            p: pack.threshold(i, self.name) for p, i in pack.phrases().items() if p in self._slots
        }
        self.extra_penalty = extra_penalty
        self._spotters: dict[tuple[str, ...], Spotter] = {}
        self._spotter: Spotter | None = None
        self.last_costs: dict[str, float] = {}
        # the stop/pain phrases of the last segment that a near word explained better, by less
        # than their safety margin: heard (recall first), but a cascade may ask its second engine
        self.contested: set[str] = set()
        # a band-limited segment in which nothing was heard is read again with a mirrored upper
        # band (band.py): BandFill.SAFETY keeps only a stop or pain from that reading
        self.band_fill = BandFill.OFF

    def set_grammar(self, phrases: Sequence[str]) -> None:
        key = tuple(sorted(p for p in phrases if p in self._slots))
        if key not in self._spotters:
            self._spotters[key] = Spotter(
                # the near words are read beside the commands, to veto them (never alone)
                {p: self._slots[p] for p in key} | (self._rivals if key else {}),
                self._ids,
                self.model.blank_id,
                self._ids["<wb>"],
                self.extra_penalty,
            )
        self._spotter = self._spotters[key]

    def log_probs(self, segment: np.ndarray) -> np.ndarray:
        """frames x tokens log-probabilities of the model for a 16 kHz float segment."""
        wav = np.ascontiguousarray(np.clip(segment, -1.0, 1.0), dtype=np.float32).reshape(1, -1)
        lp, n = self.model.session.run(
            ["log_probs", "out_lengths"],
            {"waveform": wav, "waveform_lengths": np.array([wav.shape[1]], dtype=np.int64)},
        )
        return np.asarray(lp[0][: int(np.asarray(n).reshape(-1)[0])])

    def recognize(self, segment: np.ndarray) -> list[Hypothesis]:
        out = self._recognize(segment)
        if not out and self.band_fill != BandFill.OFF and len(segment) >= MIN_SAMPLES:
            from coach.listening.engines import band

            if band.narrow(segment):  # a second look with an upper band (band.py)
                out = self._recognize(band.fill(segment))
                if self.band_fill == BandFill.SAFETY:
                    out = [h for h in out if h.phrase in self.margins]
        return out

    def glimpse(self, segment: np.ndarray) -> list[Hypothesis]:
        """base.Glimpses: stop/pain only (the near words' veto as in recognize), and only those
        heard at GLIMPSE_FLOOR or better."""
        return [
            h
            for h in self._recognize(segment)
            if h.phrase in self.margins and h.confidence >= GLIMPSE_FLOOR
        ]

    def first_look(self, segment: np.ndarray) -> list[Hypothesis]:
        """base.Glimpses: this engine has no slower opinion; its decode is its first look."""
        return self.recognize(segment)

    def _recognize(self, segment: np.ndarray) -> list[Hypothesis]:
        self.last_costs, self.contested = {}, set()
        if self._spotter is None or not self._spotter.keys or len(segment) < MIN_SAMPLES:
            return []
        scores = self._spotter.score(self.log_probs(segment))
        # every phrase's cost per required phoneme, heard or not (a cascade's gate reads it)
        self.last_costs = {s.key: s.cost / n for s in scores if (n := self._required.get(s.key))}
        self.contested = set()
        if self._rivals:
            kept = unbeaten(scores, self._rivals, self.margin, self.margins)
            plain = {s.key for s in unbeaten(scores, self._rivals, self.margin)}
            # stop/pain kept only by their wider margin: a near word explains the audio better
            self.contested = {s.key for s in kept if s.key not in plain}
            scores = kept
        out = [
            Hypothesis(s.key, math.exp(-s.cost / self._required[s.key]), s.start, s.end)
            for s in scores
        ]
        out = [h for h in out if h.confidence >= self.floors[h.phrase]]
        out.sort(key=lambda h: -h.confidence)
        return out
