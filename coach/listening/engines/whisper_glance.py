"""Whisper's glance: a cheap first look at a segment on a short encoder window, so that the full
look (the encoder on its fixed 30 s window, ~0.5 s of CPU) runs only where a command may be.

Why: in the default cascade Whisper looks at every segment the phoneme engine heard nothing in,
and on a session-like stream that is nearly every ordinary word (37 of 39 segments); all but a
few of those looks end in "no command". The encoder on a 3 s window costs ~15 ms instead of
~500 ms. On it the free transcript is unreliable (it repeats words: "yes yes yes", or changes
them), so the glance decides no intent by its transcript; it scores every grammar phrase by
teacher forcing (one batch), which the short window barely moves. Verdicts: a stop/pain scored
over ACCEPT is answered at once; any phrase over ESCALATE, or a short reading that holds a
phrase of the grammar (or a homophone), gets the full look exactly as before; anything else is
no command. README "Listening" has the measurements that set the two floors.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from coach.listening.engines.base import Hypothesis

FRAMES = 300  # 10 ms feature frames: 3 s; a segment Whisper is asked about is <= 2 s + 0.3 s lead
TOKENS = 10  # the short reading: enough for a command phrase and a filler word
# words that sound like a command word but are spelled otherwise: the short reading of a real
# "no" was "you know you know"
HOMOPHONES = frozenset(["know", "knows", "noe", "weight", "pane", "yep", "yup", "nah"])
# mean log-probabilities of a forced phrase on the short window, set on the tune espeak-ng voices
# and the human development clips (README): a stop/pain this likely is answered at once (the
# non-commands of those sets scored at most -3.14), and any phrase this likely gets the full look
ACCEPT = -2.5
ESCALATE = -3.5
# score every grammar phrase on the short window (True), or only stop and pain, the other intents
# escalating by the short reading alone (False): the batch of ~33 phrases was 3/4 of a glance's CPU
SCORE_ALL = True
# phrases scored in one call: the encoder output repeated per phrase; 33 in one batch cost 0.20-0.37 s
# of CPU on a loaded machine, batches of 8 of similar length 0.15 (a pass over 1, 0.31)
BATCH = 8


def _batches(phrases: Sequence[str], tokens: Any, size: int) -> list[list[str]]:
    """The phrases in batches of `size`, similar lengths together (less padding)."""
    order = sorted(phrases, key=lambda p: len(tokens(p)))
    return [order[i : i + size] for i in range(0, len(order), size)]


def normalize(text: str) -> str:
    """Lowercase words and apostrophes only: "Stop!" -> "stop", "I’m ready." -> "i'm ready"."""
    t = text.lower().replace("\u2019", "'")
    t = re.sub(r"[^\w']+", " ", t)
    return " ".join(w.strip("'") for w in t.split() if w.strip("'"))


class Glance:
    """The short look, over a loaded faster-whisper model and its tokenizer."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        forced_tokens: Any,
        full_floor: float,
        accept: float = ACCEPT,
        escalate: float = ESCALATE,
        score_all: bool = SCORE_ALL,
        batch: int = BATCH,
    ) -> None:
        """`forced_tokens(phrase)`: a phrase's forced token ids (WhisperEngine's); `full_floor`:
        the full look's floor for a forced phrase, onto which `accept` maps a confidence;
        `score_all`: score every grammar phrase on the short window, not only stop/pain."""
        self.model = model
        self.full_floor = full_floor
        self.tokenizer = tokenizer
        self.forced_tokens = forced_tokens
        self.accept = accept
        self.escalate = escalate
        self.score_all = score_all
        self.batch = batch  # phrases teacher-forced in one call
        self.last_scores: dict[str, float] = {}
        self.last_text = ""
        self.glances = 0  # segments looked at
        self.escalated = 0  # ... of which were given the full look
        self.accepted = 0  # ... of which were a stop/pain at once

    def fits(self, audio: np.ndarray) -> bool:
        return len(audio) < (FRAMES - 1) * 160

    def look(
        self, audio: np.ndarray, phrases: Sequence[str], safety: Collection[str], dur: float
    ) -> list[Hypothesis] | None:
        """[hypothesis] (a `safety` phrase over `accept`), [] (no command), or None: give it the
        full look. `phrases`: the grammar's phrases, every one scored (`score_all`; in batches)."""
        import ctranslate2  # type: ignore[import-untyped]

        self.glances += 1
        self.last_text = ""
        feats = self.model.feature_extractor(audio)
        frames = min(feats.shape[-1] - 1, FRAMES)
        feats = np.ascontiguousarray(np.pad(feats[:, :frames], ((0, 0), (0, FRAMES - frames))))
        encoded = self.model.model.encode(ctranslate2.StorageView.from_array(feats[None]))
        self.last_scores = {}
        scored = phrases if self.score_all else [p for p in phrases if p in safety]
        for part in _batches(scored, self.forced_tokens, self.batch):
            batch = np.ascontiguousarray(np.repeat(np.asarray(encoded), len(part), 0))
            res = self.model.model.align(
                ctranslate2.StorageView.from_array(batch),
                self.tokenizer.sot_sequence,
                [self.forced_tokens(p) for p in part],
                [frames] * len(part),
            )
            self.last_scores.update(
                (p, float(np.mean(np.log(np.asarray(r.text_token_probs) + 1e-9))))
                for p, r in zip(part, res, strict=True)
            )
        safe = [(v, p) for p, v in self.last_scores.items() if p in safety]
        if safe and max(safe)[0] >= self.accept:
            self.accepted += 1
            score, phrase = max(safe)
            # on the full look's scale (its confidence exp(score / 3)): accept maps to its floor
            conf = math.exp((score - self.accept + self.full_floor) / 3)
            return [Hypothesis(phrase, conf, 0.0, dur)]
        if self.last_scores and max(self.last_scores.values()) >= self.escalate:
            self.escalated += 1
            return None
        out = self.model.model.generate(
            encoded,
            [[*self.tokenizer.sot_sequence, self.tokenizer.no_timestamps]],
            max_length=TOKENS,
            beam_size=1,
        )
        self.last_text = normalize(self.tokenizer.decode(out[0].sequences_ids[0]))
        said = f" {self.last_text} "
        if any(f" {normalize(p)} " in said for p in phrases) or HOMOPHONES & set(said.split()):
            self.escalated += 1
            return None
        return []
