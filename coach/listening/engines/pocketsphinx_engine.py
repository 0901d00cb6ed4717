"""pocketsphinx engine: the bundled US-English model, restricted to the command phrases, with a
word-level garbage path so that ordinary speech is NOT forced onto a command.

Why garbage words: a grammar of only the command phrases maps almost every sound to a command
(docs/design-facts.md: 96 % of ordinary words). A phone loop is the textbook filler, but in pocketsphinx 5 an
FSG phone loop decodes ~100x slower than real time and the allphone search's scores are not
comparable with the grammar's. So the grammar is `command | garbage-word+`, where the garbage words
are a fixed, deterministic sample of the bundled dictionary's short words, minus any word that
sounds like a command word (phone edit distance <= 1), so "stop" still wins for "stop" but "bed" is
explained by "bed"-like garbage. Measured in README "Listening" (scripts/eval_commands.py).
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path

import numpy as np

from coach.audio.format import RATE, to_int16
from coach.errors import ModelError
from coach.listening.engines.base import Hypothesis

DEFAULT_GARBAGE_WORDS = 600
GARBAGE_MAX_PHONES = 6  # longer garbage words swallow whole multi-word commands
RECALL_NEAR = 2  # ... and of a stop/pain word (recall first)
NEAR = 1  # garbage words within this phone edit distance of a command word are left out
FRAME_S = 0.01  # pocketsphinx frames are 10 ms
EXTRA_SPEECH_S = 0.25  # loud speech outside the recognized phrase beyond this: not a command


def model_dir() -> Path:
    import pocketsphinx

    return Path(pocketsphinx.get_model_path()) / "en-us"


@functools.cache
def dictionary(path: Path) -> dict[str, tuple[str, ...]]:
    """word -> phones (first pronunciation; stress marks dropped)."""
    out: dict[str, tuple[str, ...]] = {}
    strip = str.maketrans("", "", "0123456789")
    with open(path, encoding="utf-8") as f:
        for line in f:
            word, _, phones = line.partition(" ")
            if "(" in word or not phones:
                continue
            out[word] = tuple(phones.translate(strip).split())
    return out


def _edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


@functools.cache
def _candidates(path: Path) -> tuple[str, ...]:
    """Short plain dictionary words in a fixed pseudo-random order (crc32: same on every run)."""
    pron = dictionary(path)
    return tuple(
        sorted(
            (
                w
                for w, p in pron.items()
                if 2 <= len(p) <= GARBAGE_MAX_PHONES and w.isalpha() and w.isascii()
            ),
            key=lambda w: zlib.crc32(w.encode()),
        )
    )


def garbage_words(
    pron: dict[str, tuple[str, ...]],
    command_words: set[str],
    n: int,
    near: int = NEAR,
    recall_words: AbstractSet[str] = frozenset(),
    recall_near: int = NEAR + 1,
    candidates: Sequence[str] | None = None,
) -> list[str]:
    """n short dictionary words that do not sound like any command word (deterministic).

    Words of `recall_words` (stop/pain) keep a wider berth (`recall_near`): recall first.
    """
    cmd = [
        (pron[w], recall_near if w in recall_words else near) for w in command_words if w in pron
    ]
    if candidates is None:
        candidates = sorted(
            (w for w, p in pron.items() if re.fullmatch(r"[a-z]+", w) and 2 <= len(p) <= 6),
            key=lambda w: zlib.crc32(w.encode()),
        )
    out: list[str] = []
    for w in candidates:
        if len(out) >= n:
            break
        p = pron[w]
        if w in command_words or any(
            abs(len(p) - len(c)) <= r and _edit_distance(p, c) <= r for c, r in cmd
        ):
            continue
        out.append(w)
    return out


def _speech_outside(x: np.ndarray, start: float, end: float) -> float:
    """Seconds of loud 10 ms frames (within 20 dB of the peak) outside [start, end]."""
    hop = RATE // 100
    n = len(x) // hop
    if n == 0:
        return 0.0
    e = 10 * np.log10(
        np.mean(np.square(x[: n * hop].reshape(n, hop), dtype=np.float64), axis=1) + 1e-12
    )
    loud = e > e.max() - 20.0
    t = np.arange(n) * FRAME_S
    outside = loud & ((t < start - 0.05) | (t > end + 0.05))
    return float(outside.sum() * FRAME_S)


class PocketsphinxEngine:
    """Engine (coach/listening/engines/base.py) on pocketsphinx's bundled US-English model."""

    name = "pocketsphinx"

    def __init__(
        self,
        language: str = "en",
        garbage: int = DEFAULT_GARBAGE_WORDS,
        recall_phrases: Sequence[str] = (),
        recall_near: int = RECALL_NEAR,
    ) -> None:
        if language != "en":
            raise ModelError(
                f"pocketsphinx has no model for language '{language}' (only US English)",
                hint=f"install a vosk model for '{language}' (coach model install) and use --engine vosk",
            )
        try:
            from pocketsphinx import Decoder
        except ImportError as e:  # pragma: no cover - it is a hard dependency
            raise ModelError(f"pocketsphinx is not installed ({e})") from None
        self.language = language
        self.garbage = garbage
        self.recall_near = recall_near
        self._recall_words = {w for p in recall_phrases for w in p.lower().split()}
        self._dir = model_dir()
        self._pron = dictionary(self._dir / "cmudict-en-us.dict")
        self._decoder = Decoder(samprate=RATE, lm=None, loglevel="FATAL")
        self._searches: dict[tuple[str, ...], str] = {}
        self._phrases: dict[str, str] = {}  # decoded word string -> pack phrase

    def _words(self, phrase: str) -> str:
        words = phrase.lower().replace("\u2019", "'").split()
        unknown = [w for w in words if w not in self._pron]
        if unknown:
            raise ModelError(
                f"pocketsphinx's English dictionary does not know {', '.join(map(repr, unknown))} "
                f"(in the phrase {phrase!r})",
                hint="use other words in the language pack",
            )
        return " ".join(words)

    def set_grammar(self, phrases: Sequence[str]) -> None:
        key = tuple(sorted(set(phrases)))
        if not key:
            raise ValueError("empty grammar")
        self._phrases = {self._words(p): p for p in key}
        name = self._searches.get(key)
        if name is None:
            name = f"cmd{len(self._searches)}"
            words = {w for p in self._phrases for w in p.split()}
            garb = garbage_words(
                self._pron,
                words,
                self.garbage,
                NEAR,
                self._recall_words,
                self.recall_near,
                _candidates(self._dir / "cmudict-en-us.dict"),
            )
            alts = " | ".join(self._phrases)
            jsgf = f"#JSGF V1.0;\ngrammar {name};\npublic <s> = ({alts})"
            if garb:
                jsgf += " | <g>;\n<g> = " + " | ".join(garb)
            self._decoder.add_jsgf_string(name, jsgf + ";\n")
            self._searches[key] = name
        self._decoder.activate_search(name)

    def phrases(self) -> list[str]:
        return list(self._phrases.values())

    def recognize(self, segment: np.ndarray) -> list[Hypothesis]:
        if not self._phrases:
            raise ValueError("set_grammar() first")
        d = self._decoder
        d.start_utt()
        d.process_raw(to_int16(segment).tobytes(), no_search=False, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        if hyp is None:
            return []
        phrase = self._phrases.get(hyp.hypstr)
        if phrase is None:  # garbage won, or the best path did not reach the end of a phrase
            return []
        words = [s for s in d.seg() if s.word not in ("<s>", "</s>", "<sil>", "[NOISE]")]
        start = words[0].start_frame * FRAME_S if words else 0.0
        end = (words[-1].end_frame + 1) * FRAME_S if words else len(segment) / RATE
        if _speech_outside(segment, start, end) > EXTRA_SPEECH_S:
            return []  # more was said than the phrase: a sentence, not a command
        conf = float(min(1.0, max(0.0, hyp.prob)))
        return [Hypothesis(phrase, conf, start, end)]
