"""`coach run`, `coach demo`: a coached session (a routine or a program) live, on files, or rehearsed.

Heavy imports (numpy, the recognizer, the speech engine) stay inside the handlers so that
`coach --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from coach.app.session_run import (
    SessionOptions,
    exit_code,
    mic_never_back,
    refused_unheard,
    refused_words,
    run_session,
    unheard_hint,
)
from coach.errors import UsageError
from coach.listening.engines import ENGINES
from coach.session.mic_outage import MIC_WAIT_S

if TYPE_CHECKING:
    from coach.audio.io import AudioIO


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="coach a routine or a program by voice; say stop or pain at any time"
    )
    p.add_argument(
        "target",
        metavar="ROUTINE|PROGRAM",
        help="routine or program id (see `coach list`), or a path to a .toml / .program.toml file",
    )
    add_session_options(p)
    p.add_argument(
        "--mic-file", type=Path, help="read the microphone from this WAV (simulated time)"
    )
    p.add_argument(
        "--speaker-file", type=Path, help="write the speaker to this WAV (simulated time)"
    )
    p.add_argument(
        "--echo",
        type=float,
        default=0.0,
        metavar="GAIN",
        help="with --mic-file: mix the coach's voice back into the mic at GAIN (e.g. 0.3)",
    )
    p.add_argument("--events", type=Path, help="write one JSON object per event to this file")
    p.add_argument(
        "--mic-wait",
        type=float,
        default=MIC_WAIT_S,
        metavar="SECONDS",
        help="a microphone unplugged mid-session is waited for this long (paused; it says so), "
        f"then the session ends (default {MIC_WAIT_S:g})",
    )
    p.set_defaults(func=cmd_run)

    d = sub.add_parser("demo", help="a headless rehearsal with a simulated user, written to a WAV")
    d.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("demo.wav"),
        help="WAV to write (default demo.wav)",
    )
    d.add_argument("--events", type=Path, help="also write the events as JSON lines")
    d.add_argument("--voice", default=None, help="the coach's voice profile (default calm)")
    d.add_argument("--engine", default="auto", choices=ENGINES, help="recognizer (default auto)")
    d.set_defaults(func=cmd_demo)


def add_session_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reps", type=int, help="reps per side (within the routine's range)")
    p.add_argument("--tempo", type=float, help="breaths per minute (3..10, default 6)")
    p.add_argument("--voice", default=None, help="voice profile (see `coach voices`; default calm)")
    p.add_argument("--engine", default="auto", choices=ENGINES, help="recognizer (default auto)")
    p.add_argument("--lang", default="en", help="language pack for the commands (default en)")
    p.add_argument("--model", type=Path, help="a vosk model folder")
    p.add_argument(
        "--no-listen",
        action="store_true",
        help="cues only: the coach cannot hear stop or pain (it says so)",
    )
    p.add_argument(
        "--no-hush",
        action="store_true",
        help="keep talking while you speak, until a command is recognized (default: the coach "
        "falls silent the moment your voice begins, or holds its next line if you began between "
        "two, and carries on if it was no command)",
    )
    p.add_argument(
        "--check-words",
        action="store_true",
        help='ask you to say "stop" and "pain" before beginning, even if they were heard before '
        "(the first live session on a microphone always asks)",
    )
    p.add_argument("--db", type=Path, help="history database (default: the user data folder)")
    p.add_argument("--plain", action="store_true", help="plain log lines instead of a status line")


# --- coach run ----------------------------------------------------------------------------------
def options_from(args: argparse.Namespace) -> SessionOptions:
    """`coach run`'s arguments as the session's options."""
    return SessionOptions(
        target=args.target, reps=args.reps, tempo=args.tempo, voice=args.voice,
        engine=args.engine, lang=args.lang, model=args.model, listen=not args.no_listen,
        hush=not args.no_hush, check_words=args.check_words, db=args.db, plain=args.plain,
        events=args.events, mic_wait_s=args.mic_wait,
    )  # fmt: skip


def cmd_run(args: argparse.Namespace) -> int:
    from coach.audio.files import FileAudio

    if (args.mic_file is None) != (args.speaker_file is None):
        raise UsageError("--mic-file and --speaker-file go together (simulated time on files)")
    if args.echo and args.mic_file is None:
        raise UsageError("--echo only works with --mic-file/--speaker-file")
    if not 0.0 <= args.echo <= 1.0:
        raise UsageError(f"--echo {args.echo} is out of range 0..1")
    if not args.mic_wait > 0:
        raise UsageError(f"--mic-wait {args.mic_wait:g} must be more than 0 seconds")
    if args.check_words and args.no_listen:
        raise UsageError("--check-words needs the coach to listen: drop --no-listen")
    if not args.no_listen:
        from coach.listening.langpack import pack_path

        pack_path(args.lang)  # an unknown language is a usage mistake, said before any speech
    if args.mic_file is not None:
        if not args.mic_file.is_file():
            raise UsageError(f"{args.mic_file}: no such file")
        io: AudioIO = FileAudio(args.mic_file, args.speaker_file, echo_gain=args.echo)
    else:
        from coach.audio.device import DeviceAudio

        io = DeviceAudio()
    result = run_session(options_from(args), io)
    if mic_never_back(result):
        print(
            f"coach: the microphone went away and did not come back within {args.mic_wait:g} s, "
            "so the session ended; reconnect it (`coach devices` lists what is there), then "
            "start again",
            file=sys.stderr,
        )
    elif refused_unheard(result):
        for line in unheard_hint(args.mic_file):
            print(f"coach: {line}", file=sys.stderr)
    elif refused_words(result):
        print(
            'coach: it did not hear you say "stop" and "pain" when it asked, so the exercise did '
            "not start: it must hear them to keep you safe. Move closer to the microphone, speak "
            "a little louder, or try another microphone; `coach check` tests them",
            file=sys.stderr,
        )
    return exit_code(result)


# --- coach demo ---------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from coach.app.demo import rehearse

    return rehearse(args.output, args.events, args.voice, args.engine)
