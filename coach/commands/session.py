"""`coach run`, `coach demo`: a coached session (a routine or a program) live, on files, or rehearsed.

Heavy imports (numpy, the recognizer, the speech engine) stay inside the handlers so that
`coach --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import safety_words
from ..engines import ENGINES
from ..errors import UsageError
from ..interrupts import SESSION_CLOSED, StopSignals, within
from ..mic_outage import MIC_WAIT_S

if TYPE_CHECKING:
    from ..audio_io import AudioIO
    from ..runner import Observer, RunResult


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="coach a routine or a program by voice; say stop or pain at any time"
    )
    p.add_argument(
        "routine",
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
        "falls silent the moment your voice begins, and carries on if it was no command)",
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
def cmd_run(args: argparse.Namespace) -> int:
    from ..audio_files import FileAudio

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
        from ..langpack import pack_path

        pack_path(args.lang)  # an unknown language is a usage mistake, said before any speech
    if args.mic_file is not None:
        if not args.mic_file.is_file():
            raise UsageError(f"{args.mic_file}: no such file")
        io: AudioIO = FileAudio(args.mic_file, args.speaker_file, echo_gain=args.echo)
    else:
        from ..audio_device import DeviceAudio

        io = DeviceAudio()
    result = run_session(args, io, mic_wait_s=args.mic_wait)
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


def exit_code(result: RunResult) -> int:
    """0 when the session ran (completed, stopped or pain); 3 when it refused (no-response);
    1 when it ended as a fault without an error (the microphone never came back)."""
    return {"no-response": 3, "fault": 1}.get(str(result.reason), 0)


def mic_never_back(result: RunResult) -> bool:
    """The session ended because an unplugged microphone did not come back in time."""
    lost = [e for e in result.events if e.get("type") in ("mic-lost", "mic-back")]
    return str(result.reason) == "fault" and bool(lost) and lost[-1]["type"] == "mic-lost"


def refused_unheard(result: RunResult) -> bool:
    """The hearing check never heard "ready" (not a pause that timed out, also no-response)."""
    states = {e.get("state") for e in result.events if e.get("type") == "state"}
    return str(result.reason) == "no-response" and states <= {"checking-mic", "ended"}


def refused_words(result: RunResult) -> bool:
    """It heard "ready" but not "stop" or "pain" when it asked for them, so it did not begin."""
    states = {e.get("state") for e in result.events if e.get("type") == "state"}
    asked = "proving-words" in states and states <= {"checking-mic", "proving-words", "ended"}
    return str(result.reason) == "no-response" and asked


def unheard_hint(mic_file: Path | None) -> list[str]:
    """What to check, on the terminal: the coach said it aloud, but the person may not hear
    the speaker either, and "check the microphone" alone names nothing to look at."""
    if mic_file is not None:
        return [f'"ready" was not heard in {mic_file}, so the exercise did not start']
    return [
        'it never heard you say "ready", so the exercise did not start. Check that the '
        "microphone is connected, switched on and not muted, and that its input level is up",
        '`coach check` tests it (a level meter, then "ready"); '
        "`coach devices` shows which microphone and speaker are used",
    ]


def run_session(
    args: argparse.Namespace,
    io: AudioIO,
    observer: Observer | None = None,
    quiet: bool = False,
    mic_wait_s: float = MIC_WAIT_S,
) -> RunResult:
    """Everything `coach run` does once the audio back end is chosen. Ctrl-C and SIGTERM from
    here on end it as `stopped` (coach/interrupts.py), also while speech is being prepared.
    `mic_wait_s`: how long an unplugged microphone is waited for (coach/mic_outage.py)."""
    with StopSignals() as signals:
        try:
            result = _run_session(args, io, observer, quiet, signals, mic_wait_s)
            signals.check()  # one that came while the session was being closed: still exit 130
        except KeyboardInterrupt:
            SESSION_CLOSED.set()  # recorded, and everything it opened is closed
            raise
    if not quiet:
        print(summary_line(result), file=sys.stderr)
    return result


def _run_session(
    args: argparse.Namespace,
    io: AudioIO,
    observer: Observer | None,
    quiet: bool,
    signals: StopSignals,
    mic_wait_s: float,
) -> RunResult:
    from ..display import Display
    from ..dose import check_dose
    from ..history import History
    from ..player import Player
    from ..program import find_program
    from ..program_session import ProgramSession
    from ..routine import get_routine, load_library
    from ..runner import (
        CLOSE_AFTER_SIGNAL_S,
        EventsFile,
        Runner,
        ThreadedListener,
        render_phrasebook,
    )
    from ..session import Session
    from ..tempo import TEMPO_DEFAULT, Tempo
    from ..tts import SpeechRenderer
    from ..voice import get_voice

    program = find_program(args.routine)
    if program is not None and args.reps is not None:
        raise UsageError("--reps is for a routine: each exercise of a program has its own reps "
                         "(`coach list` shows them)")  # fmt: skip
    routine = program.exercises[0].routine if program else get_routine(args.routine)
    reps = program.exercises[0].reps if program else routine.checked_reps(args.reps)
    tempo = Tempo(TEMPO_DEFAULT if args.tempo is None else args.tempo)
    voice = get_voice(args.voice)
    listen = not args.no_listen
    display = Display(plain=True if args.plain else None, quiet=quiet)
    display.routine = routine.id
    display.bpm = tempo.bpm

    def progress(done: int, total: int) -> None:
        display.progress("preparing speech", done, total)
        signals.stop_point()  # between phrases: a render is never cut off (the cache stays whole)

    def prepare(session: Session) -> tuple[dict[tuple[str, float], Any], Any]:
        """Speech for every phrase, then the recognizer: on a helper thread (signals.call)."""
        clips = render_phrasebook(session, SpeechRenderer(), voice, progress)
        if not listen:
            return clips, None
        return clips, make_listener(args.engine, args.lang, args.model, io.realtime)

    history = History(args.db)

    def runner_for(session: Session, clips: dict[tuple[str, float], Any], listener: Any) -> Runner:
        return Runner(
            io,
            Player(),
            session,
            clips,
            listener=listener,
            history=history,
            events=EventsFile(args.events),
            display=display,
            voice_name=voice.name,
            engine_name=engine,
            observer=observer,
            signals=signals,
        )

    session: Session | None = None
    runner: Runner | None = None
    engine = str(args.engine) if listen else "none"
    try:
        dose = None if program else check_dose(routine, history)  # (a program's dose: #16 item 5)
        if dose and dose.warning:
            print(f"coach: warning: {dose.warning}", file=sys.stderr)
        opts: dict[str, Any] = dict(listen=listen, dose=dose, hush=not args.no_hush,
                                    mic_wait_s=mic_wait_s)  # fmt: skip
        session = (
            ProgramSession(program, tempo, load_library(), **opts)
            if program
            else Session(routine, reps, tempo, load_library(), **opts)
        )
        display.bpm = session.tempo.bpm  # (a program's first exercise may have its own)
        clips, listener = signals.call(prepare, session)
        microphone = ""
        if listener is not None:
            # live: a cascade's second engine answers from its own thread
            engine = getattr(listener, "engine_name", str(args.engine))
            if io.realtime:
                listener = ThreadedListener(listener)
                microphone = safety_words.microphone_name()
            # the first live session on this microphone and engine proves stop and pain first
            # (a file replay is no room: only with --check-words)
            first_here = io.realtime and not safety_words.proven(engine, microphone)
            session.prove = args.check_words or first_here
        runner = runner_for(session, clips, listener)
        result = runner.run()
        if session.proven and io.realtime and not safety_words.remember(engine, microphone):
            print(
                f"coach: warning: could not write {safety_words.record_path()}: you will be "
                'asked to say "stop" and "pain" again next time',
                file=sys.stderr,
            )
        return result
    except KeyboardInterrupt:
        if runner is None and session is not None:  # before the session began: record it too
            runner_for(session, {}, None).record_unstarted_stop()
        raise
    finally:
        display.close()
        if signals.received:
            # every write is in the write-ahead log, which outlives the process (synchronous
            # NORMAL); the checkpoint at close fsyncs and took 1.3 and 3.8 s on a loaded machine
            within(CLOSE_AFTER_SIGNAL_S, history.close)
        else:
            history.close()


def make_listener(engine: str, lang: str, model: Path | None, background: bool = False) -> Any:
    try:
        from ..listener import make_listener as make
    except ImportError as e:
        raise UsageError(
            f"the listener is not available ({e})", hint="use --no-listen for cues only"
        ) from None
    return make(engine=engine, lang=lang, model=model, background=background)


def summary_line(r: RunResult) -> str:
    m, s = divmod(round(r.seconds), 60)
    extra = f", suggested {r.suggestion}" if r.suggestion else ""
    return (
        f"coach: session ended: {r.reason} after {m}:{s:02d} "
        f"({' then '.join(r.routines)}; reps right {r.right}, left {r.left}{extra})"
    )


# --- coach demo ---------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from ..demo import rehearse

    return rehearse(args.output, args.events, args.voice, args.engine)
