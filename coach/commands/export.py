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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from coach.errors import CoachError, UsageError

if TYPE_CHECKING:
    import numpy as np

    from coach.audio.io import AudioIO
    from coach.exercise.choreography import PlannedCue
    from coach.speech.player import Player


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


class Progress:
    """A one-line progress bar on stderr (only when stderr is a terminal, unless forced)."""

    def __init__(self, label: str, enabled: bool = True, width: int = 30) -> None:
        self.label, self.enabled, self.width = label, enabled, width
        self.tty = sys.stderr.isatty()
        self._last = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        pct = min(100, done * 100 // total)
        if pct == self._last or (not self.tty and pct not in (0, 100)):
            return
        self._last = pct
        fill = self.width * pct // 100
        end = "\n" if pct == 100 else ("\r" if self.tty else "\n")
        sys.stderr.write(
            f"{self.label:<9} [{'#' * fill}{'.' * (self.width - fill)}] {pct:3d}%{end}"
        )
        sys.stderr.flush()


def check_output(path: Path) -> None:
    """Fail before any work if the WAV cannot be written there."""
    if path.is_dir():
        raise UsageError(f"{path}: is a folder; give a file name like {path / 'session.wav'}")
    parent = path.resolve().parent
    if not parent.is_dir():
        raise UsageError(f"{path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{path}: not writable (permission denied)")


def perform(
    io: AudioIO,
    player: Player,
    cues: Sequence[PlannedCue],
    end: int,
    extra: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[int]:
    """Play planned cues through `io`, each starting at its onset sample (after the previous
    clip if that one overruns). Returns the sample where each cue really started. `extra` is
    mixed into the speaker (tones). Runs until `end` and the player is idle."""
    import numpy as np

    order = sorted(cues, key=lambda c: c.onset)
    starts: list[int] = []
    k = 0
    s = 0
    block = io.block
    total_blocks = -(-end // block)
    while s < end or player.busy:
        while k < len(order) and order[k].onset < s + block:
            wait = player.remaining_samples()
            delay = max(0, order[k].onset - s - wait)
            player.play(order[k].fitted.clip, order[k].fitted.text, delay=delay)
            starts.append(s + wait + delay)
            k += 1
        out = player.next_block()
        if extra is not None and s < len(extra):
            seg = extra[s : s + block]
            out = out.copy()
            out[: len(seg)] += seg
            np.clip(out, -1.0, 1.0, out=out)
        io.exchange(out)
        s += block
        if progress and (s // block) % 50 == 0:
            progress(min(s // block, total_blocks), total_blocks)
    if progress:
        progress(total_blocks, total_blocks)
    return starts


def run(args: argparse.Namespace) -> int:
    from coach.audio.files import FileAudio
    from coach.exercise.choreography import plan, render_clips, render_pairs, renderings, script
    from coach.exercise.program import find_program
    from coach.exercise.routine import get_routine
    from coach.exercise.tempo import TEMPO_DEFAULT, Tempo
    from coach.session.program_flow import export_texts, plan_program
    from coach.speech.player import Player
    from coach.speech.tts import SpeechRenderer
    from coach.speech.voice import get_voice

    out: Path = args.output
    check_output(out)
    if out.suffix.lower() != ".wav":
        raise UsageError(f"{out}: the output must be a .wav file")
    program = find_program(args.routine)
    if program is not None and args.reps is not None:
        raise UsageError("--reps is for a routine: each exercise of a program has its own reps")
    routine = program.exercises[0].routine if program else get_routine(args.routine)
    reps = program.exercises[0].reps if program else routine.checked_reps(args.reps)
    tempo = Tempo(TEMPO_DEFAULT if args.tempo is None else args.tempo)
    voice = get_voice(args.voice)
    show = not args.quiet

    if program is not None:
        todo = [(t, 1.0) for t in export_texts(program)]
        for r in dict.fromkeys(program.routines):
            todo += renderings(r)
        clips = render_pairs(list(dict.fromkeys(todo)), SpeechRenderer(), voice,
                             Progress("rendering", show))  # fmt: skip
        cues, tone_phases, end = plan_program(program, tempo, clips)
    else:
        clips = render_clips(routine, SpeechRenderer(), voice, Progress("rendering", show))
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
            perform(io, Player(), cues, end, extra, Progress("mixing", show))
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
