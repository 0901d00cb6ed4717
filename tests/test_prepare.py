"""coach/app/prepare.py and `coach prepare`: a session's speech rendered ahead, into the real cache
with real espeak-ng speech, so that the session itself renders nothing."""

from __future__ import annotations

from coach.app.prepare import prepare
from coach.exercise.program import find_program
from coach.exercise.routine import load_library
from coach.exercise.tempo import Tempo
from coach.session.machine import Session
from coach.session.program_session import ProgramSession
from coach.speech.tts import SpeechRenderer
from coach.speech.voice import get_voice
from tests.conftest import coach_cli

LIB = load_library()


def misses_of(session: Session) -> int:
    """How many of the session's own phrases a fresh renderer (as `coach run` makes) must render."""
    renderer = SpeechRenderer()
    from coach.app.runner import render_phrasebook

    render_phrasebook(session, renderer, get_voice(None))
    return renderer.misses


def test_a_prepared_routine_needs_no_rendering_in_its_session() -> None:
    first = prepare("pelvic-tilt")
    again = prepare("pelvic-tilt")
    routine = LIB["pelvic-tilt"]
    session = Session(routine, routine.reps_default, Tempo(6.0), LIB)
    assert first.phrases == again.phrases == len(set(session.phrasebook()))
    assert again.rendered == 0 and first.voice == "calm" and first.target == routine.name
    assert misses_of(session) == 0
    # at another tempo or with the listener off the phrasebook is the same: still nothing to do
    assert misses_of(Session(routine, routine.reps_default, Tempo(9.0), LIB, listen=False)) == 0


def test_a_phrase_missing_from_the_cache_is_rendered_and_counted() -> None:
    prepare("pelvic-tilt")
    renderer, voice = SpeechRenderer(), get_voice(None)
    text, speed = LIB["pelvic-tilt"].all_cues()[0].text, 1.0
    (renderer.cache_dir / f"{renderer.key(text, voice, speed)}.npy").unlink()
    assert prepare("pelvic-tilt").rendered == 1


def test_a_prepared_program_covers_every_exercise_and_its_alternatives() -> None:
    program = find_program("daily-back")
    assert program is not None
    done = prepare("daily-back")
    assert done.target == program.name and done.phrases == len(set(ProgramSession(
        program, Tempo(6.0), LIB).phrasebook()))  # fmt: skip
    assert misses_of(ProgramSession(program, Tempo(6.0), LIB)) == 0


def test_the_cli_says_what_it_did_and_refuses_unknown_names() -> None:
    ok = coach_cli("prepare", "pelvic-tilt", "--quiet")
    assert ok.returncode == 0, ok.stderr
    assert "prepared Pelvic tilt in the calm voice" in ok.stdout and "already cached" in ok.stdout
    bad = coach_cli("prepare", "no-such-thing")
    assert bad.returncode == 2 and "unknown routine or program 'no-such-thing'" in bad.stderr
    assert "programs: " in bad.stderr and "daily-back" in bad.stderr
    assert "Traceback" not in bad.stderr
    voice = coach_cli("prepare", "pelvic-tilt", "--voice", "nope")
    assert voice.returncode == 2 and "unknown voice 'nope'" in voice.stderr
