"""Text to speech: render the coach's cues to 16 kHz PCM before a session, cached on disk.

pyttsx3 2.99 with espeak-ng has sharp edges (docs/design-facts.md), so every call into it runs on ONE
dedicated thread in the process (`_TTSThread`: a queue and a daemon worker; pyttsx3 is not
thread-safe and espeak-ng can only be initialized once per process). On that thread:

- the engine is primed with an empty `runAndWait()` right after `init()` (the first run after init
  could return before synthesis ended, putting the audio into the *next* file);
- the driver's `_save_file`/`_text_to_say` are cleared before and after every call (they persist,
  and a later run would re-speak the old text into the old file);
- exactly one `save_to_file` per `runAndWait` (with several queued only the last is written), each
  into a fresh temporary file that is read back only once it exists and the driver is idle;
- voice, rate, volume and pitch are set with `setProperty` before every call, and the voice is read
  back (an unknown id is silently ignored); `say()` is never used (it shells out to aplay);
- the "Audio saved to ..." line the driver prints is silenced by shadowing `print` in that driver
  module only, so no other thread's output is swallowed.

The result is trimmed of leading and trailing silence to a few milliseconds (LEAD_S/TAIL_S), so a
cue's first sound lands where the choreography places it on the breath.

A profile with `engine = "piper"` is spoken by the natural voice instead (coach/speech/piper_voice.py),
through the same cache; when it cannot load, by its espeak-ng fallback profile.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coach import paths, threads
from coach.errors import TTSError, UsageError
from coach.speech.trim import trim_silence

if TYPE_CHECKING:
    import numpy as np

    from coach.speech.voice import VoiceProfile

SPEED_MIN, SPEED_MAX = 0.5, 2.0
ESPEAK_RATE_MAX = 450  # espeak-ng clamps faster rates
FORMAT_VERSION = 2  # bump when post-processing or storage changes: part of the cache key
CALL_TIMEOUT_S = 30.0
SYNTH_ATTEMPTS = 3  # a render that comes back silent is asked for again (see _synthesize)
INSTALL_HINT = "install espeak-ng (./scripts/setup, or apt-get install libespeak-ng1 espeak-ng)"


def _quiet_print(*_args: object, **_kwargs: object) -> None:
    """Replaces `print` inside pyttsx3's espeak driver only ("Audio saved to ...")."""


class _TTSThread:
    """The one thread that touches pyttsx3. Work goes in through a queue as (fn, args, future)."""

    _lock = threading.Lock()
    _instance: _TTSThread | None = None
    silent_results = 0  # renders that came back without sound and were asked for again

    def __init__(self) -> None:
        self._q: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...], Future[Any]]] = (
            queue.Queue()
        )
        self._engine: Any = None
        self._voice_ids: set[str] | None = None
        self.synth_calls = 0  # how many times the speech engine actually rendered (cache misses)
        self._thread = threads.start(self._loop, "coach-tts")

    @classmethod
    def get(cls) -> _TTSThread:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run fn(self, *args) on the TTS thread and wait for its result (or its exception)."""
        fut: Future[Any] = Future()
        self._q.put((fn, args, fut))
        try:
            return fut.result(timeout=CALL_TIMEOUT_S)
        except TimeoutError:
            raise TTSError(
                f"the speech engine did not answer within {CALL_TIMEOUT_S:.0f} s", hint=INSTALL_HINT
            ) from None

    def _loop(self) -> None:
        while True:
            fn, args, fut = self._q.get()
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn(self, *args))
            except BaseException as e:  # handed to the caller's thread
                fut.set_exception(e)

    # --- everything below runs on the TTS thread only ------------------------------------
    def engine(self) -> Any:
        if self._engine is None:
            try:
                import pyttsx3
                import pyttsx3.drivers.espeak as espeak_driver
                from pyttsx3.drivers import _espeak

                _check_data(_espeak)  # espeak_Initialize exit()s the process without its data
                espeak_driver.print = _quiet_print
                eng = pyttsx3.init("espeak")
            except TTSError:
                raise
            except Exception as e:  # OSError (no libespeak-ng), RuntimeError (cannot init)
                raise TTSError(f"cannot start the speech engine: {e}", hint=INSTALL_HINT) from None
            eng.runAndWait()  # prime: the first run after init returns too early (docs/design-facts.md, TTS bug 1)
            self._engine = eng
        return self._engine

    def voice_ids(self) -> set[str]:
        if self._voice_ids is None:
            self._voice_ids = {str(v.id) for v in self.engine().getProperty("voices")}
        return self._voice_ids

    def synth(
        self, text: str, espeak: str, rate: int, volume: float, pitch: int
    ) -> tuple[bytes, int]:
        """One utterance -> (16-bit mono PCM bytes, sample rate), straight from pyttsx3."""
        from pyttsx3.drivers import _espeak

        eng = self.engine()
        drv = eng.proxy._driver
        drv._save_file = drv._text_to_say = None  # bug 2: stale state re-speaks old text
        _wait_idle(_espeak)
        eng.setProperty("voice", espeak)
        eng.setProperty("rate", rate)
        eng.setProperty("volume", volume)
        eng.setProperty("pitch", pitch)
        # espeak-ng applies parameters on its own thread; runAndWait's stop() would Cancel them
        # if they were still queued (the rate silently stays what it was). Wait, then check.
        _wait_idle(_espeak)
        if eng.getProperty("voice") != espeak:  # an unknown id is silently ignored
            raise TTSError(f"espeak-ng has no voice {espeak!r}", hint="run `coach voices`")
        want = {_espeak.RATE: rate, _espeak.VOLUME: round(volume * 100), _espeak.PITCH: pitch}
        got = {k: _current_parameter(_espeak, k) for k in want}
        if got != want:
            raise TTSError(f"espeak-ng did not take the voice settings (wanted {want}, has {got})")
        with tempfile.TemporaryDirectory(prefix="coach-tts-") as d:
            out = Path(d) / "cue.wav"
            eng.save_to_file(text, str(out))  # exactly one per runAndWait (bug 3)
            eng.runAndWait()  # returns as soon as espeak-ng has *queued* the text
            deadline = time.monotonic() + 10.0
            while (not out.exists() or drv._speaking) and time.monotonic() < deadline:
                time.sleep(0.001)  # bug 1 guard: wait for *this* file, never take a stale one
            _wait_idle(_espeak)
            drv._save_file = drv._text_to_say = None
            if not out.exists():
                raise TTSError(f"the speech engine wrote nothing for {text!r}", hint=INSTALL_HINT)
            with wave.open(str(out), "rb") as w:
                rate_hz = w.getframerate()
                pcm = w.readframes(w.getnframes())
        self.synth_calls += 1
        return pcm, rate_hz


def _check_data(espeak_lib: Any) -> None:
    """Refuse clearly when espeak-ng's data folder is missing or empty (wrong ESPEAK_DATA_PATH, a
    broken install): espeak_Initialize would print one line and exit() the whole process."""
    import ctypes

    dll = espeak_lib.dll
    init_path = dll.espeak_ng_InitializePath
    init_path.argtypes, init_path.restype = [ctypes.c_char_p], None
    init_path(None)  # the same lookup espeak_Initialize does (ESPEAK_DATA_PATH, built-in path)
    where = ctypes.c_char_p()
    info = dll.espeak_Info
    info.argtypes, info.restype = [ctypes.POINTER(ctypes.c_char_p)], ctypes.c_char_p
    info(ctypes.byref(where))
    data = Path((where.value or b"").decode(errors="replace"))
    if not (data / "phontab").is_file():
        raise TTSError(
            f"espeak-ng's voice data is missing: no {data / 'phontab'}",
            hint="reinstall espeak-ng-data (./scripts/setup), or fix ESPEAK_DATA_PATH",
        )


def _wait_idle(espeak_lib: Any, timeout: float = 10.0) -> None:
    """Until espeak-ng's own command queue is empty (it runs asynchronously in pyttsx3's mode)."""
    deadline = time.monotonic() + timeout
    while espeak_lib.IsPlaying():
        if time.monotonic() > deadline:
            raise TTSError("the speech engine is stuck (espeak-ng stays busy)", hint=INSTALL_HINT)
        time.sleep(0.0005)


def _current_parameter(espeak_lib: Any, param: int) -> int:
    """espeak_GetParameter(param, current=1). pyttsx3's binding drops the `current` argument, so
    it returns garbage or defaults (docs/design-facts.md, TTS bug 4: "getProperty('rate') often returns 175")."""
    import ctypes

    fn = espeak_lib.dll.espeak_GetParameter
    fn.argtypes, fn.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return int(fn(param, 1))


def espeak_voice_ids() -> set[str]:
    """The voice ids pyttsx3's espeak driver accepts (e.g. 'gmw/en-us'); listed once per process."""
    return set(_TTSThread.get().call(_TTSThread.voice_ids))


def engine_version() -> str:
    """Names the speech engine in the cache key without starting it (dlopen only, ~10 ms)."""
    global _ENGINE_VERSION
    if _ENGINE_VERSION is None:
        from importlib.metadata import version

        try:
            from pyttsx3.drivers import _espeak

            es = (_espeak.Info(None) or b"?").decode()
        except Exception:  # no library: rendering will say so clearly
            es = "missing"
        _ENGINE_VERSION = f"pyttsx3 {version('pyttsx3')}; espeak-ng {es}"
    return _ENGINE_VERSION


_ENGINE_VERSION: str | None = None


class SpeechRenderer:
    """Renders text in a voice to 16 kHz mono float32, through a disk cache shared by processes."""

    def __init__(self, cache_dir: Path | str | None = None) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir else paths.cache_dir() / "speech"
        self.hits = 0
        self.misses = 0

    @property
    def engine_calls(self) -> int:
        """Renders the speech engine really did in this process (all renderers together)."""
        from coach.speech import piper_voice

        t = _TTSThread._instance
        return (t.synth_calls if t else 0) + piper_voice.synth_calls

    def key(self, text: str, voice: VoiceProfile, speed: float = 1.0) -> str:
        if voice.engine == "piper":
            from coach.speech.piper_voice import engine_version as engine
        else:
            engine = engine_version
        blob = json.dumps(
            {
                "text": text,
                "voice": voice.fingerprint(),
                "engine": engine(),
                "speed": round(float(speed), 4),
                "format": FORMAT_VERSION,
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    def render(self, text: str, voice: VoiceProfile, speed: float = 1.0) -> np.ndarray:
        """`text` spoken by `voice` (speed > 1 speaks faster), trimmed, 16 kHz float32."""
        import numpy as np

        text = " ".join(text.split())
        if not text:
            raise TTSError("nothing to say: the text is empty")
        if not SPEED_MIN <= speed <= SPEED_MAX:
            raise UsageError(f"speed {speed} is out of range {SPEED_MIN}..{SPEED_MAX}")
        path = self.cache_dir / f"{self.key(text, voice, speed)}.npy"
        cached = self._load(path)
        if cached is None and voice.engine == "piper":  # Piper loads only for a render it must do

            voice = usable(voice)  # (or its espeak-ng fallback, which has its own entry)
            path = self.cache_dir / f"{self.key(text, voice, speed)}.npy"
            cached = self._load(path)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        pcm = self._synthesize(text, voice, speed)
        self._store(path, pcm)
        return pcm.astype(np.float32) / 32768.0

    def render_many(
        self,
        texts: Iterable[str],
        voice: VoiceProfile,
        speed: float = 1.0,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, np.ndarray]:
        """Render every distinct text (in order); progress(done, total) after each one."""
        todo = list(dict.fromkeys(texts))
        out: dict[str, np.ndarray] = {}
        if voice.engine == "piper" and not all(self._cached(t, voice, speed) for t in todo):

            voice = usable(voice)  # a fallback's notice before the progress line
        if progress:
            progress(0, len(todo))
        for i, t in enumerate(todo, start=1):
            out[t] = self.render(t, voice, speed)
            if progress:
                progress(i, len(todo))
        return out

    def _synthesize(self, text: str, voice: VoiceProfile, speed: float) -> np.ndarray:
        """Render on the TTS thread, resample to 16 kHz, trim; int16 (what the cache stores)."""
        import numpy as np

        from coach.audio.format import RATE, resample, to_int16

        rate = min(ESPEAK_RATE_MAX, round(voice.rate * speed))
        if voice.engine == "piper":
            from coach.speech.piper_voice import synthesize

            y = trim_silence(synthesize(text, voice, speed), RATE)
            if len(y) < RATE // 50:
                raise TTSError(f"the natural voice produced no sound for {text!r}")
            return to_int16(y)
        for _attempt in range(SYNTH_ATTEMPTS):
            pcm, src = _TTSThread.get().call(
                _TTSThread.synth, text, voice.espeak, rate, voice.volume, voice.pitch
            )
            x = np.frombuffer(pcm[: len(pcm) // 2 * 2], "<i2").astype(np.float32) / 32768.0
            y = trim_silence(resample(x, src, RATE), RATE)
            if len(y) >= RATE // 50:  # at least 20 ms of sound: something was really said
                return to_int16(y)  # stored and returned as 16-bit: a hit equals a fresh render
            # Rarely (once in CI, never reproduced in 1000+ renders here) the driver hands back
            # an empty file for ordinary text; asking again is cheap and has always worked.
            _TTSThread.silent_results += 1
        raise TTSError(f"the speech engine produced no sound for {text!r}", hint=INSTALL_HINT)

    def _cached(self, text: str, voice: VoiceProfile, speed: float) -> bool:
        return (self.cache_dir / f"{self.key(' '.join(text.split()), voice, speed)}.npy").is_file()

    @staticmethod
    def _load(path: Path) -> np.ndarray | None:
        import numpy as np

        try:
            a = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError):  # torn or foreign file: render again
            return None
        if a.dtype != np.int16 or a.ndim != 1 or not len(a):
            return None
        return a.astype(np.float32) / 32768.0

    @staticmethod
    def _store(path: Path, audio: np.ndarray) -> None:
        """Atomic: write a private temp file, then rename (other processes share the cache)."""
        import numpy as np

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                prefix=f".{path.stem[:16]}.", suffix=".part", dir=path.parent
            )
        except OSError:
            return  # a read-only or full cache only costs speed
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, audio, allow_pickle=False)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


_warned: set[str] = set()  # fallback notices said (once each)


def usable(voice: VoiceProfile) -> VoiceProfile:
    """`voice` itself if Piper loads, else its espeak-ng fallback profile, said once on stderr."""
    from coach.speech.piper_voice import unavailable

    err = unavailable()
    if err is None:
        return voice
    fb = voice.fallback_voice
    if fb is None:  # a profile made by hand, not by get_voice
        raise TTSError(f"voice {voice.name!r} (Piper) cannot load: {err.message}, and it has no "
                       "fallback profile", hint=err.hint)  # fmt: skip
    note = (f"coach: warning: voice {voice.name!r} (Piper) cannot load: {err.message}; "
            f"speaking with the espeak-ng voice {fb.name!r} instead")  # fmt: skip
    if note not in _warned:
        _warned.add(note)
        print(note, file=sys.stderr, flush=True)
    return fb
