"""Choreography: a routine and a rep count become the session script, one beat per breath phase.

Intro and outro steps span whole breaths (breaths=N → 2N phases, the cue on the first); the cycle
is repeated once per rep, each step one phase. The session walks the beats one at a time, so the
tempo can change between any two beats; each beat's length comes from the tempo *at that beat*.

Fitting a cue to its time (`fit`): the full text if its rendering fits the time until the next cue
with a margin, else the short form, else the short form (or the text, if there is none) rendered
faster (up to FIT_SPEEDS[-1]). Speech is never truncated and the grid never slips: if even the
fastest rendering is too long (only possible at the fastest tempi with a long cue and no short
form), that rendering plays whole, running past the next onset; the next cue waits in the
player's queue for it and the breath grid itself is unchanged. `Fitted.fits` is False then, and
`coach export` warns about it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import numpy as np

from coach.audio.format import RATE
from coach.exercise.routine import Counts, Cue, IntroStep, Phase, Routine
from coach.exercise.tempo import BreathGrid, Tempo

FIT_SPEEDS = (1.0, 1.2, 1.4)  # faster renderings tried when even the short form is too long
FIT_MARGIN_S = 0.3  # room left at the end of a phase: the breath is not crowded by speech


class Section(StrEnum):
    INTRO = "intro"
    CYCLE = "cycle"
    OUTRO = "outro"


@dataclass(frozen=True)
class Beat:
    """One breath phase of the session. `index` is the step's index in its section
    (routine.intro/cycle/outro[index]); `rep` counts from 1 in the cycle, 0 in intro/outro."""

    section: Section
    index: int
    phase: Phase
    cue: Cue | None
    counts: Counts | None
    rep: int


def _steps(section: Section, steps: Sequence[IntroStep]) -> list[Beat]:
    beats = []
    for i, s in enumerate(steps):
        for b in range(2 * s.breaths):
            phase = Phase.INHALE if b % 2 == 0 else Phase.EXHALE
            beats.append(Beat(section, i, phase, s.cue if b == 0 else None, None, 0))
    return beats


def script(routine: Routine, reps: int) -> list[Beat]:
    """The whole session, beat by beat: intro, `reps` cycles, outro."""
    beats = _steps(Section.INTRO, routine.intro)
    for rep in range(1, reps + 1):
        for i, s in enumerate(routine.cycle):
            beats.append(Beat(Section.CYCLE, i, s.phase, s.cue, s.counts, rep))
    beats += _steps(Section.OUTRO, routine.outro)
    return beats


def cue_beats(beats: Sequence[Beat], i: int) -> int:
    """How many beats, from beat i, the cue of beat i has before the next cue (or the end)."""
    n = 1
    while i + n < len(beats) and beats[i + n].cue is None:
        n += 1
    return n


def cue_seconds(beats: Sequence[Beat], i: int, tempo: Tempo) -> float:
    """Time the cue of beat i may take at `tempo`: its phase plus the following cue-less ones."""
    return sum(tempo.phase_seconds(b.phase) for b in beats[i : i + cue_beats(beats, i)])


def candidates(cue: Cue) -> list[tuple[str, float]]:
    """(text, speed) renderings in order of preference for one cue."""
    out = [(cue.text, 1.0)]
    quick = cue.short or cue.text
    if cue.short:
        out.append((cue.short, 1.0))
    out += [(quick, s) for s in FIT_SPEEDS if s != 1.0]
    return out


def renderings(routine: Routine) -> list[tuple[str, float]]:
    """Every (text, speed) a session of this routine may play at any tempo: render them all
    before the first word so nothing waits on TTS mid-session."""
    seen: dict[tuple[str, float], None] = {}
    for cue in routine.all_cues():
        for r in candidates(cue):
            seen.setdefault(r)
    return list(seen)


@dataclass(frozen=True)
class Fitted:
    """The rendering chosen for a cue. `fits` is False when even the fastest is too long."""

    text: str
    speed: float
    clip: np.ndarray
    fits: bool

    @property
    def seconds(self) -> float:
        return len(self.clip) / RATE


def fit(
    cue: Cue,
    seconds: float,
    clips: Mapping[tuple[str, float], np.ndarray],
    margin_s: float = FIT_MARGIN_S,
) -> Fitted:
    """Pick the rendering of `cue` that fits `seconds` (see the module doc). `clips` maps
    (text, speed) to 16 kHz audio, as produced for `renderings()`; missing ones are skipped."""
    limit = max(0.0, seconds - margin_s)
    have = [(t, s) for t, s in candidates(cue) if (t, s) in clips]
    if not have:
        raise KeyError(f"no rendering of cue {cue.text!r} among the clips")
    for t, s in have:
        if len(clips[(t, s)]) / RATE <= limit:
            return Fitted(t, s, clips[(t, s)], True)
    t, s = min(have, key=lambda k: len(clips[k]))
    return Fitted(t, s, clips[(t, s)], len(clips[(t, s)]) / RATE <= seconds)


class Renderer(Protocol):
    def render_many(
        self,
        texts: Iterable[str],
        voice: Any,
        speed: float = 1.0,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, np.ndarray]: ...


def render_clips(
    routine: Routine,
    renderer: Renderer,
    voice: Any,
    progress: Callable[[int, int], None] | None = None,
) -> dict[tuple[str, float], np.ndarray]:
    """Render every rendering a session may need (`renderings`), keyed by (text, speed).
    `progress(done, total)` counts renderings across all speeds."""
    return render_pairs(renderings(routine), renderer, voice, progress)


def render_pairs(
    todo: list[tuple[str, float]],
    renderer: Any,
    voice: Any,
    progress: Callable[[int, int], None] | None = None,
) -> dict[tuple[str, float], np.ndarray]:
    """Render (text, speed) pairs, one batch per speed; `progress(done, total)` over all of them."""
    by_speed: dict[float, list[str]] = {}
    for text, speed in todo:
        by_speed.setdefault(speed, []).append(text)
    clips: dict[tuple[str, float], np.ndarray] = {}
    done = 0
    for speed, texts in by_speed.items():
        base = done

        def step(i: int, _n: int, base: int = base) -> None:
            if progress:
                progress(base + i, len(todo))

        for text, audio in renderer.render_many(texts, voice, speed, step).items():
            clips[(text, speed)] = audio
        done += len(texts)
    return clips


@dataclass(frozen=True)
class PlannedCue:
    """A cue placed on the breath grid: it starts at sample `onset` of the session."""

    beat: int  # index into the script
    onset: int
    fitted: Fitted


def plan(
    beats: Sequence[Beat],
    tempo: Tempo,
    clips: Mapping[tuple[str, float], np.ndarray],
    start: int = 0,
) -> tuple[list[PlannedCue], list[tuple[int, int]], int]:
    """Place every cue of a script at a constant tempo: (cues, phase (start, end) samples, end).
    The session itself walks beats live (tempo may change); export and benchmarks use this."""
    grid = BreathGrid(RATE, start)
    phases = [grid.advance(b.phase, tempo) for b in beats]
    cues = [
        PlannedCue(i, phases[i][0], fit(b.cue, cue_seconds(beats, i, tempo), clips))
        for i, b in enumerate(beats)
        if b.cue is not None
    ]
    return cues, phases, grid.next_onset
