"""The composition root of a coached session: everything `coach run` (and `coach demo`, and the
benchmarks) do once the options are parsed and the audio back end is chosen.

It builds the pieces of the pipeline — the routine or program, the session state machine, the
speech, the listener, the history, the display, the events file — and hands them to the Runner.
The CLI (coach/commands/session.py) only turns arguments into `SessionOptions`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coach.app import safety_words
from coach.app.interrupts import SESSION_CLOSED, StopSignals, within
from coach.errors import UsageError
from coach.session.mic_outage import MIC_WAIT_S

if TYPE_CHECKING:
    from coach.app.runner import Observer, RunResult
    from coach.audio.io import AudioIO


@dataclass(frozen=True)
class SessionOptions:
    """What a session is asked to do (`coach run`'s options, the demo's, a benchmark's)."""

    target: str  # a routine or program id, or a path to a .toml / .program.toml file
    reps: int | None = None  # per side, within the routine's range (a routine only)
    tempo: float | None = None  # breaths per minute; None: the routine's or program's default
    voice: str | None = None  # voice profile; None: calm
    engine: str = "auto"
    lang: str = "en"
    model: Path | None = None  # a vosk model folder
    listen: bool = True  # False: cues only (it says it cannot hear)
    hush: bool = True  # fall silent the moment the person's voice begins
    check_words: bool = False  # prove "stop" and "pain" first even if they were heard before
    db: Path | None = None  # history database; None: the user data folder
    plain: bool = False  # plain log lines instead of a status line
    events: Path | None = None  # JSON lines of every event
    mic_wait_s: float = MIC_WAIT_S  # how long an unplugged microphone is waited for


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
    opts: SessionOptions,
    io: AudioIO,
    observer: Observer | None = None,
    quiet: bool = False,
) -> RunResult:
    """Everything `coach run` does once the audio back end is chosen. Ctrl-C and SIGTERM from
    here on end it as `stopped` (coach/app/interrupts.py), also while speech is being prepared."""
    with StopSignals() as signals:
        try:
            result = _run_session(opts, io, observer, quiet, signals)
            signals.check()  # one that came while the session was being closed: still exit 130
        except KeyboardInterrupt:
            SESSION_CLOSED.set()  # recorded, and everything it opened is closed
            raise
    if not quiet:
        print(summary_line(result), file=sys.stderr)
    return result


def _run_session(
    opts: SessionOptions,
    io: AudioIO,
    observer: Observer | None,
    quiet: bool,
    signals: StopSignals,
) -> RunResult:
    from coach.app import output_level
    from coach.app.display import Display
    from coach.app.runner import (
        CLOSE_AFTER_SIGNAL_S,
        EventsFile,
        Runner,
        render_phrasebook,
    )
    from coach.exercise.program import find_target
    from coach.exercise.routine import load_library
    from coach.exercise.tempo import TEMPO_DEFAULT, Tempo
    from coach.history.db import History
    from coach.listening.factory import make_listener
    from coach.listening.threaded import ThreadedListener
    from coach.session.dose import check_dose, check_program_dose
    from coach.session.machine import Session
    from coach.session.program_session import ProgramSession
    from coach.speech.player import Player
    from coach.speech.tts import SpeechRenderer
    from coach.speech.voice import get_voice

    program, routine = find_target(opts.target)
    if program is not None and opts.reps is not None:
        raise UsageError("--reps is for a routine: each exercise of a program has its own reps "
                         "(`coach list` shows them)")  # fmt: skip
    reps = program.exercises[0].reps if program else routine.checked_reps(opts.reps)
    tempo = Tempo(TEMPO_DEFAULT if opts.tempo is None else opts.tempo)
    voice = get_voice(opts.voice)
    listen = opts.listen
    display = Display(plain=True if opts.plain else None, quiet=quiet)
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
        return clips, make_listener(opts.engine, opts.lang, opts.model, background=io.realtime)

    history = History(opts.db)

    def runner_for(session: Session, clips: dict[tuple[str, float], Any], listener: Any) -> Runner:
        return Runner(
            io,
            Player(),
            session,
            clips,
            listener=listener,
            history=history,
            events=EventsFile(opts.events),
            display=display,
            voice_name=voice.name,
            engine_name=engine,
            observer=observer,
            signals=signals,
        )

    session: Session | None = None
    runner: Runner | None = None
    engine = str(opts.engine) if listen else "none"
    level = 0.0
    try:
        dose = check_program_dose(program, history) if program else check_dose(routine, history)
        if dose and dose.warning:
            print(f"coach: warning: {dose.warning}", file=sys.stderr)
        level = output_level.load(voice.name)  # "louder"/"quieter" of earlier sessions
        kw: dict[str, Any] = dict(listen=listen, dose=dose, hush=opts.hush,
                                  mic_wait_s=opts.mic_wait_s, level_db=level)  # fmt: skip
        session = (
            ProgramSession(program, tempo, load_library(), **kw)
            if program
            else Session(routine, reps, tempo, load_library(), **kw)
        )
        display.bpm = session.tempo.bpm  # (a program's first exercise may have its own)
        clips, listener = signals.call(prepare, session)
        microphone = ""
        if listener is not None:
            # live: a cascade's second engine answers from its own thread
            engine = getattr(listener, "engine_name", str(opts.engine))
            if io.realtime:
                listener = ThreadedListener(listener)
                microphone = safety_words.microphone_name()
            # the first live session on this microphone and engine proves stop and pain first
            # (a file replay is no room: only with --check-words)
            first_here = io.realtime and not safety_words.proven(engine, microphone)
            session.prove = opts.check_words or first_here
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
        if (session is not None and session.level_db != level  # remembered for this voice
                and not output_level.remember(voice.name, session.level_db)):  # fmt: skip
            print(f"coach: warning: could not write {output_level.record_path()}: the "
                  f"{voice.name} voice will start at its own level next time",
                  file=sys.stderr)  # fmt: skip
        display.close()
        if signals.received:
            # every write is in the write-ahead log, which outlives the process (synchronous
            # NORMAL); the checkpoint at close fsyncs and took 1.3 and 3.8 s on a loaded machine
            within(CLOSE_AFTER_SIGNAL_S, history.close)
        else:
            history.close()


def summary_line(r: RunResult) -> str:
    m, s = divmod(round(r.seconds), 60)
    extra = f", suggested {r.suggestion}" if r.suggestion else ""
    return (
        f"coach: session ended: {r.reason} after {m}:{s:02d} "
        f"({' then '.join(r.routines)}; reps right {r.right}, left {r.left}{extra})"
    )
