"""Voice profiles: how the coach sounds (espeak-ng voice, speaking rate, loudness, pitch), or the
natural neural voice (`engine = "piper"`: its fields are coach/speech/piper_voice.py's).

A profile is data — one TOML file per voice in voices/ (built in) or the user's config voices/
folder, the file name being the voice's name. Everything is checked on load, because pyttsx3
silently ignores what it does not understand: an unknown voice id would just speak in the default
voice, and a wild rate would make cues that no longer fit their breath.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from coach import paths
from coach.datafile import Table, TomlDoc
from coach.errors import DataFileError, UsageError
from coach.skipped import warn_skipped

DEFAULT_VOICE = "calm"
RATE_MIN, RATE_MAX = 80, 300  # words per minute; outside this espeak-ng is mush or a gabble
PITCH_MIN, PITCH_MAX = 0, 99  # espeak-ng's own pitch scale (50 = the voice's normal pitch)
FIELDS = ("description", "voice", "rate", "volume", "pitch")
ENGINES = ("espeak", "piper")  # pyttsx3 + espeak-ng; the natural voice (coach/speech/piper_voice.py)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class VoiceProfile:
    """One way the coach can sound. `espeak` is the espeak-ng voice id pyttsx3 uses (gmw/en-us)."""

    name: str
    espeak: str
    rate: int  # words per minute at speed 1.0
    volume: float  # 0..1 (espeak-ng amplitude 0..100)
    pitch: int  # 0..99, espeak-ng's scale
    description: str
    path: Path
    engine: str = "espeak"  # or "piper" (coach/speech/piper_voice.py): espeak, rate, pitch unused then
    length_scale: float = 1.0  # piper: its pace (> 1 slower)
    fallback: str = ""  # piper: the espeak-ng profile spoken when the neural voice cannot load
    # ... that profile itself, set by get_voice (the renderer needs it without a voice lookup)
    fallback_voice: VoiceProfile | None = field(default=None, compare=False, repr=False)

    @property
    def speaks_with(self) -> str:
        """What the voice is, for people: 'gmw/en-us' or 'piper en_US-joe-medium'."""
        if self.engine == "piper":
            from coach.speech.piper_voice import MODEL_NAME

            return f"piper {MODEL_NAME}"
        return self.espeak

    def fingerprint(self) -> dict[str, object]:
        """What changes the sound (not the name or file): part of the speech cache key."""
        if self.engine == "piper":
            return {"engine": "piper", "length_scale": self.length_scale, "volume": self.volume}
        return {
            "espeak": self.espeak,
            "rate": self.rate,
            "volume": self.volume,
            "pitch": self.pitch,
        }


def default_dirs() -> list[Path]:
    """Built-in voices first, then the user's (a user voice with the same name wins)."""
    return [paths.BUILTIN_VOICES, paths.user_voices_dir()]


def load_voice(path: Path | str, known_ids: Iterable[str] | None = None) -> VoiceProfile:
    """Load and validate one voice file. Raises DataFileError naming file, line and field."""
    p = Path(path)
    if not _NAME.match(p.stem):
        raise DataFileError(
            p,
            "a voice file name must be lowercase letters, digits, '-' or '_' (it is the voice's name)",
        )
    doc = TomlDoc(p)
    t = doc.root()
    if t.get("engine", str, "espeak", choices=ENGINES) == "piper":

        return load_piper_profile(t, p)
    t.only((*FIELDS, "engine"))
    espeak = t.get("voice", str).strip()
    ids = set(known_ids) if known_ids is not None else _espeak_ids()
    if espeak not in ids:
        close = difflib.get_close_matches(espeak.lower(), sorted(ids), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise t.err(
            f"unknown espeak-ng voice {espeak!r}{hint} (`espeak-ng --voices` lists them; "
            "the id is the file column, e.g. 'gmw/en-us')",
            "voice",
        )
    return VoiceProfile(
        name=p.stem,
        espeak=espeak,
        rate=t.get("rate", int, lo=RATE_MIN, hi=RATE_MAX),
        volume=t.get("volume", float, lo=0.0, hi=1.0),
        pitch=t.get("pitch", int, lo=PITCH_MIN, hi=PITCH_MAX),
        description=t.get("description", str).strip(),
        path=p,
    )


def scan_voices(
    dirs: Iterable[Path | str] | None = None,
) -> tuple[dict[str, VoiceProfile], dict[str, DataFileError]]:
    """The voices that load, and the files that do not, both by name (the file name). A later
    folder overrides an earlier one, also with a broken file (the user's own `calm` is meant)."""
    out: dict[str, VoiceProfile] = {}
    broken: dict[str, DataFileError] = {}
    ids: set[str] | None = None
    for d in default_dirs() if dirs is None else dirs:
        d = Path(d)
        if not d.is_dir():
            continue
        for f in sorted(d.glob("*.toml")):
            if ids is None:
                ids = _espeak_ids()
            out.pop(f.stem, None)
            broken.pop(f.stem, None)
            try:
                out[f.stem] = load_voice(f, ids)
            except DataFileError as e:
                broken[f.stem] = e
    return out, broken


def load_voices(dirs: Iterable[Path | str] | None = None) -> dict[str, VoiceProfile]:
    """All voice profiles by name from `dirs` (default: built-in, then the user's folder).
    A later folder overrides an earlier one; a missing folder is simply empty. A broken file
    is skipped with a warning (coach/skipped.py); asking for it fails (get_voice)."""
    out, broken = scan_voices(dirs)
    warn_skipped("voice", broken.values())
    return out


def get_voice(
    name: str | None = None, voices: dict[str, VoiceProfile] | None = None
) -> VoiceProfile:
    """The profile called `name` (default "calm"); UsageError listing the known names. If its
    file is broken, that file's DataFileError (exit 2); other broken files are only warned of."""
    key = name or DEFAULT_VOICE
    if voices is None:
        vs, broken = scan_voices()
        if key in broken:
            raise broken[key]
        warn_skipped("voice", broken.values())
    else:
        vs = voices
    if key not in vs:
        known = ", ".join(sorted(vs)) or "none"
        raise UsageError(
            f"unknown voice {key!r} (known: {known})",
            hint=f"add {paths.user_voices_dir() / (key + '.toml')} or run `coach voices`",
        )
    if vs[key].engine == "piper":
        check_fallback(vs[key], vs)
        return replace(vs[key], fallback_voice=vs[vs[key].fallback])
    return vs[key]


def _espeak_ids() -> set[str]:
    from coach.speech.tts import (
        espeak_voice_ids,  # lazy: only loading voices needs the speech engine
    )

    return espeak_voice_ids()


# --- the natural voice's profiles (the engine itself: coach/speech/piper_voice.py) ---------------
def load_piper_profile(t: Table, path: Path) -> VoiceProfile:
    """A voice file with `engine = "piper"`: pace (coach/speech/piper_voice.py's limits), level,
    fallback."""
    from coach.speech.piper_voice import DEFAULT_FALLBACK, FIELDS, LENGTH_MAX, LENGTH_MIN

    t.only(FIELDS)
    fallback = t.get("fallback", str, DEFAULT_FALLBACK).strip()
    if not _NAME.match(fallback):
        raise t.err(f"{fallback!r} is not a voice name (the fallback is an espeak-ng voice profile, "
                    "e.g. 'calm')", "fallback")  # fmt: skip
    return VoiceProfile(
        name=path.stem,
        espeak="",
        rate=0,
        volume=t.get("volume", float, lo=0.0, hi=1.0),
        pitch=0,
        description=t.get("description", str).strip(),
        path=path,
        engine="piper",
        length_scale=t.get("length_scale", float, lo=LENGTH_MIN, hi=LENGTH_MAX),
        fallback=fallback,
    )


def check_fallback(voice: VoiceProfile, voices: dict[str, VoiceProfile]) -> None:
    """The fallback must be a loaded espeak-ng profile: a DataFileError naming its line if not
    (found when the voice is chosen, not only on the day Piper fails to load)."""
    fb = voices.get(voice.fallback)
    if fb is not None and fb.engine == "espeak":
        return
    why = "is not an espeak-ng voice" if fb else "is not a known voice"
    known = ", ".join(sorted(n for n, v in voices.items() if v.engine == "espeak")) or "none"
    raise TomlDoc(voice.path).error(f"the fallback {voice.fallback!r} {why} (known: {known})",
                                    "fallback")  # fmt: skip
