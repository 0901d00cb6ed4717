"""Which engine listens, and where its model is: the one place that builds a Listener.

`make_listener(engine="auto", lang="en")`: vosk when a vosk model for the language is found (or
given); else, for a pack with phoneme patterns (English), the phoneme spotter with Whisper
tiny.en as its second opinion; else pocketsphinx. A fallback is always said on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

from coach.errors import ModelError, UsageError
from coach.intents import SAFETY_INTENTS
from coach.listening.engines import ENGINES
from coach.listening.engines.base import Engine
from coach.listening.langpack import LanguagePack, load_langpack
from coach.listening.listener import Listener

# who decides the non-safety intents in a cascade (README "Listening" has the measurements):
# phonemes+whisper: the phoneme engine what it heard, Whisper where it heard nothing;
# pocketsphinx+whisper: Whisper, which rejects ordinary words far better than pocketsphinx
CASCADE_OTHERS = {"phonemes+whisper": "both", "pocketsphinx+whisper": "second"}


def make_listener(
    engine: str = "auto",
    lang: str = "en",
    model: Path | str | None = None,
    quiet: bool = True,
    background: bool = False,
    others: str | None = None,
) -> Listener:
    """A listener for `lang`. `auto`: vosk when a vosk model for it is found (or given); else, for
    a pack with phoneme patterns, the phoneme spotter with Whisper tiny.en as its second opinion
    (`phonemes+whisper`; the phoneme engine alone when Whisper cannot load); else pocketsphinx,
    which is also the fallback when the phoneme model cannot load (said on stderr).

    `background`: a cascade's second engine runs on its own thread (live use; see
    engines/cascade_engine.py); files and benchmarks decode in line.

    Raises ModelError / UsageError with a clear message when the choice cannot work.
    """
    pack = load_langpack(lang)
    from coach.listening.engines.blas import one_thread

    one_thread()  # small vectors: more BLAS threads only spin (engines/blas.py)
    choice = engine
    model_path: Path | None = None
    if engine not in ENGINES:
        raise UsageError(f"unknown engine '{engine}' (choose {', '.join(ENGINES)})")
    if engine in ("auto", "vosk"):
        from coach.listening import models

        model_path = models.find_model(pack.code, model)
        if engine == "vosk" and model_path is None:
            raise ModelError(
                f"no vosk model for language '{pack.code}'",
                hint=f"coach model install {pack.code}  (or --model PATH, or --engine pocketsphinx)",
            )
        if model_path is not None:
            choice = "vosk"
        elif pack.phoneme_patterns():
            choice = "phonemes+whisper"
        else:
            choice = "pocketsphinx"
    notes: list[str] = []
    who = others or CASCADE_OTHERS.get(choice, "second")
    eng = _build_engine(
        choice, pack, model_path, who, background, auto=engine == "auto", notes=notes
    )
    for note in notes:  # a fallback is always said: the person should know what is listening
        print(f"coach: {note}", file=sys.stderr)
    if not quiet:
        where = f" ({model_path})" if model_path else ""
        print(f"coach: listening with {eng.name}{where}, language {pack.code}", file=sys.stderr)
    return Listener(eng, pack)


def _build_engine(
    choice: str,
    pack: LanguagePack,
    model_path: Path | None,
    others: str,
    background: bool,
    auto: bool,
    notes: list[str],
) -> Engine:
    """The engine named `choice`; with `auto`, a model that cannot load falls back (phonemes+whisper
    -> phonemes -> pocketsphinx) and `notes` says so."""
    safety = list(pack.phrases(SAFETY_INTENTS))
    if choice in ("phonemes", "phonemes+whisper"):
        from coach.listening.engines.phoneme_engine import PhonemeEngine

        try:
            fast = PhonemeEngine(pack)
        except ModelError as e:
            if not auto:
                raise
            notes.append(f"{e.message}; listening with pocketsphinx instead")
            return _build_engine("pocketsphinx", pack, None, others, background, auto, notes)
        if choice == "phonemes":
            return fast
        from coach.listening.engines.cascade_engine import CascadeEngine
        from coach.listening.engines.phoneme_engine import competitors_of
        from coach.listening.engines.whisper_engine import WhisperEngine

        rivals = competitors_of(pack, safety)

        def whisper() -> Engine:  # stop/pain scored before transcribing; their near words known
            # a glance on a short window first (engines/whisper_glance.py)
            return WhisperEngine(pack.code, forced=safety, rivals=rivals, glance=True)

        floor = min(pack.threshold(i, "whisper") for i in SAFETY_INTENTS)
        if background:  # live: Whisper loads on its worker while the coach starts speaking
            return CascadeEngine(
                fast, None, safety, floor, others, True, load_second=whisper, second_name="whisper"
            )
        try:
            second = whisper()
        except ModelError as e:
            if not auto:
                raise
            notes.append(f"{e.message}; listening with the phoneme engine alone")
            return fast
        return CascadeEngine(fast, second, safety, floor, others=others)
    if choice == "pocketsphinx+whisper":  # recall first (English only)
        from coach.listening.engines.cascade_engine import CascadeEngine
        from coach.listening.engines.pocketsphinx_engine import PocketsphinxEngine
        from coach.listening.engines.whisper_engine import WhisperEngine

        return CascadeEngine(
            PocketsphinxEngine(pack.code, recall_phrases=safety),
            WhisperEngine(pack.code, forced=safety),  # stop/pain scored before transcribing
            safety,
            min(pack.threshold(i, "whisper") for i in SAFETY_INTENTS),
            others=others,
            background=background,
        )
    if choice == "whisper":  # English only
        from coach.listening.engines.whisper_engine import WhisperEngine

        return WhisperEngine(pack.code)
    if choice == "vosk":
        from coach.listening.engines.vosk_engine import VoskEngine

        assert model_path is not None
        return VoskEngine(model_path, pack.code)
    from coach.listening.engines.pocketsphinx_engine import PocketsphinxEngine

    return PocketsphinxEngine(pack.code, recall_phrases=safety)
