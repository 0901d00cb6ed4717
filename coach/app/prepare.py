"""`coach prepare`: every phrase a session may say, rendered into the speech cache ahead of time.

Why: a session renders all its phrases before its first word (nothing is synthesized while the
person is on the floor). With espeak-ng a cold cache costs seconds; the natural voice (Piper)
needs minutes for a routine's ~170 phrases on this 2-core machine (README "Voices"). Run once,
standing up, it makes the first session start at once. The phrases are exactly the session's
own (`Session.phrasebook`, every speed and the alternatives after pain), so nothing is left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Prepared:
    """What one `prepare` did."""

    target: str  # the routine's or program's name
    voice: str  # the profile that rendered (the natural voice's fallback when Piper cannot load)
    phrases: int  # (text, speed) pairs a session of it may say
    rendered: int  # of which were not in the cache yet
    seconds: float


def prepare(
    target: str,
    voice_name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Prepared:
    """Render `target`'s phrasebook (a routine or program id, or a file) in `voice_name`.
    Raises UsageError (unknown target or voice) and TTSError like `coach run` does."""
    from coach.exercise.choreography import render_pairs
    from coach.exercise.program import find_target
    from coach.exercise.routine import load_library
    from coach.session.phrasebook import phrasebook
    from coach.session.program_flow import program_phrasebook
    from coach.speech.tts import SpeechRenderer, usable
    from coach.speech.voice import get_voice

    program, routine = find_target(target)
    library = load_library()
    if program is not None:
        name, todo = program.name, program_phrasebook(program, library)
    else:
        name, todo = routine.name, phrasebook(routine, library)
    voice = get_voice(voice_name)
    renderer = SpeechRenderer()
    t0 = time.monotonic()
    # (the dose warning, said only when the history calls for it, is the one phrase left out:
    # a session renders it itself)
    render_pairs(todo, renderer, voice, progress)
    if voice.engine == "piper" and renderer.misses:
        voice = usable(voice)  # (it said so on stderr if the natural voice could not load)
    return Prepared(name, voice.name, len(todo), renderer.misses, time.monotonic() - t0)
