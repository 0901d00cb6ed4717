"""`coach export ROUTINE|PROGRAM -o session.wav`: a whole guided session as one audio file, no
listening.

For a phone or a physical therapist. The session is rendered through the same parts as a live
one — choreography on the breath grid, the Player, the FileAudio back end — so what you hear in
the file is what `coach run` would say, at the planned onsets.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from coach.errors import CoachError, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="render a whole session to a WAV file (no listening), e.g. for a phone"
    )
    p.add_argument(
        "routine",
        metavar="ROUTINE|PROGRAM",
        help="routine or program id (see `coach list`), or a path to a .toml / .program.toml file",
    )
    p.add_argument("-o", "--output", type=Path, required=True, help="WAV file to write")
    p.add_argument(
        "--tempo", type=float, default=None, help="breaths per minute (3..10, default 6)"
    )
    p.add_argument("--voice", default=None, help="voice profile name (default: calm)")
    p.add_argument("--reps", type=int, default=None, help="reps per side (default: the routine's)")
    p.add_argument("--tones", action="store_true", help="add soft inhale/exhale tones")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def check_output(path: Path) -> None:
    """Fail before any work if the WAV cannot be written there."""
    if path.is_dir():
        raise UsageError(f"{path}: is a folder; give a file name like {path / 'session.wav'}")
    parent = path.resolve().parent
    if not parent.is_dir():
        raise UsageError(f"{path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{path}: not writable (permission denied)")


def run(args: argparse.Namespace) -> int:
    from coach.app.export import perform
    from coach.audio.files import FileAudio
    from coach.exercise.choreography import plan, render_clips, render_pairs, renderings, script
    from coach.exercise.program import find_target
    from coach.exercise.tempo import TEMPO_DEFAULT, Tempo
    from coach.progress import ProgressBar
    from coach.session.program_flow import export_texts, plan_program
    from coach.speech.player import Player
    from coach.speech.tts import SpeechRenderer
    from coach.speech.voice import get_voice

    out: Path = args.output
    check_output(out)
    if out.suffix.lower() != ".wav":
        raise UsageError(f"{out}: the output must be a .wav file")
    program, routine = find_target(args.routine)
    if program is not None and args.reps is not None:
        raise UsageError("--reps is for a routine: each exercise of a program has its own reps")
    reps = program.exercises[0].reps if program else routine.checked_reps(args.reps)
    tempo = Tempo(TEMPO_DEFAULT if args.tempo is None else args.tempo)
    voice = get_voice(args.voice)
    show = not args.quiet

    if program is not None:
        todo = [(t, 1.0) for t in export_texts(program)]
        for r in dict.fromkeys(program.routines):
            todo += renderings(r)
        clips = render_pairs(list(dict.fromkeys(todo)), SpeechRenderer(), voice,
                             ProgressBar("rendering", show))  # fmt: skip
        cues, tone_phases, end = plan_program(program, tempo, clips)
    else:
        clips = render_clips(routine, SpeechRenderer(), voice, ProgressBar("rendering", show))
        beats = script(routine, reps)
        cues, phases, end = plan(beats, tempo, clips)
        tone_phases = [(b.phase, a, z) for b, (a, z) in zip(beats, phases, strict=True)]
    for c in cues:
        if not c.fitted.fits:
            print(
                f"coach: warning: cue {c.fitted.text!r} is longer than its breath at "
                f"{tempo.bpm:g} breaths/min; it runs into the next phase",
                file=sys.stderr,
            )
    extra = None
    if args.tones:
        from coach.exercise.tones import tone_track

        extra = tone_track(tone_phases, end)
    try:
        with FileAudio(None, out) as io:
            perform(io, Player(), cues, end, extra, ProgressBar("mixing", show))
            seconds = io.clock.now()
    except CoachError:
        raise
    except OSError as e:
        raise CoachError(f"{out}: cannot write ({e.strerror or e})") from None
    m, s = divmod(round(seconds), 60)
    print(
        f"wrote {out} ({m}:{s:02d}, "
        + (
            f"{program.name}, {len(program.exercises)} exercises"
            if program
            else f"{routine.name}, {reps} reps"
        )
        + f", {tempo.bpm:g} breaths/min, voice {voice.name})"
    )
    return 0
