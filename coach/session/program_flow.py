"""What happens between a program's exercises, as pure functions (no state, no clock).

Why apart from the session: the rules — which exercise comes next, which ones a pain leaves out
(by the routines' motion tags), and every sentence that may follow from any pain anywhere in the
program — are needed by the live session (coach/session/program_session.py), by the phrasebook that
renders all speech before the first word, and by `coach export`. Each is a small function here,
tested without a session.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from coach.audio.format import RATE
from coach.exercise.choreography import Fitted, PlannedCue, plan, renderings, script
from coach.exercise.program import (
    PROMPTS,
    READY_GAVE_UP,
    Program,
    begin_text,
    go_on_text,
    intro_text,
    position_text,
    rest_text,
    skip_text,
)
from coach.exercise.routine import Phase, Routine
from coach.exercise.tempo import Tempo
from coach.session import comfort, phrasebook, safety
from coach.session.dose import Dose

EXPORT_TURN_S = 15.0  # a recording cannot wait for "ready": this much more time to turn over


def avoided(hurt: Iterable[Routine]) -> frozenset[str]:
    """The motions a pain rules out: every motion tag of every routine that hurt."""
    return frozenset(m for r in hurt for m in r.motion)


def next_index(program: Program, after: int, left_out: Collection[int] = ()) -> int | None:
    """The exercise after number `after` (0-based) that is not left out; None: the last."""
    return next((j for j in range(after + 1, len(program.exercises)) if j not in left_out), None)


@dataclass(frozen=True)
class Rest:
    """What a program can still do after a pain: the exercises kept, in order, and the ones
    left out with the painful motions each shares."""

    kept: tuple[int, ...]
    left_out: tuple[tuple[int, tuple[str, ...]], ...]


def remaining(
    program: Program, after: int, avoid: frozenset[str], left_out: Collection[int] = ()
) -> Rest:
    """The exercises after number `after` that load none of the `avoid` motions (kept) and the
    others (left out, with the shared motions); ones left out before are not named again."""
    kept: list[int] = []
    out: list[tuple[int, tuple[str, ...]]] = []
    for j in range(after + 1, len(program.exercises)):
        if j in left_out:
            continue
        shared = tuple(m for m in program.exercises[j].routine.motion if m in avoid)
        if shared:
            out.append((j, shared))
        else:
            kept.append(j)
    return Rest(tuple(kept), tuple(out))


@dataclass
class PainPaths:
    """Everything any pain in a program may lead to (for the phrasebook)."""

    offers: set[tuple[str, str]]  # (alternative id, painful id)
    questions: set[tuple[str, ...]]  # kept exercises' routine ids, in order
    skips: set[tuple[str, tuple[str, ...]]]  # (routine id, shared motions)


def pain_paths(program: Program, library: Mapping[str, Routine]) -> PainPaths:
    """Walk every pain the session can meet: in any exercise (or the rest after it) with
    nothing hurt before, in the alternative it offers, and in any exercise kept after going on
    — exactly as the session chooses (safety.choose_alternative, `remaining`)."""
    lib = {**library, **{r.id: r for r in program.routines}}
    paths = PainPaths(set(), set(), set())
    todo = [(k, e.routine.id, frozenset[str]()) for k, e in enumerate(program.exercises)]
    seen: set[tuple[int, str, frozenset[str]]] = set()
    while todo:
        state = todo.pop()
        if state in seen:
            continue
        seen.add(state)
        k, rid, hurt = state
        painful = lib[rid]
        before = [lib[h] for h in sorted(hurt)]
        now_hurt = hurt | {rid}
        rest = remaining(program, k, avoided([*before, painful]))
        if rest.kept:
            paths.questions.add(tuple(program.exercises[j].routine.id for j in rest.kept))
            for j, shared in rest.left_out:
                paths.skips.add((program.exercises[j].routine.id, shared))
            todo += [(j, program.exercises[j].routine.id, now_hurt) for j in rest.kept]
        alt = safety.choose_alternative(library, painful, before)
        if alt is not None:
            paths.offers.add((alt.id, rid))
            todo.append((k, alt.id, now_hurt))
    return paths


def program_texts(program: Program, library: Mapping[str, Routine]) -> list[str]:
    """Every sentence of the program's own (between exercises, after a pain), in a fixed order."""
    lib = {**library, **{r.id: r for r in program.routines}}
    paths = pain_paths(program, library)
    out = [intro_text(program), *PROMPTS, READY_GAVE_UP]
    for i, e in enumerate(program.exercises):
        out += [begin_text(e.routine), position_text(e.routine)]
        if i:
            out.append(rest_text(e.routine))
    out += [go_on_text([lib[r] for r in q]) for q in sorted(paths.questions)]
    out += [skip_text(lib[r], shared) for r, shared in sorted(paths.skips)]
    return list(dict.fromkeys(out))


def program_phrasebook(
    program: Program, library: Mapping[str, Routine], dose: Dose | None = None
) -> list[tuple[str, float]]:
    """Every (text, speed) a session of the program may say: each exercise's own phrasebook
    (its cues, stop summaries, its alternatives), the alternatives any pain may lead to, and
    the program's sentences (coach/session/phrasebook.py's rule: all rendered before the first word)."""
    out: dict[tuple[str, float], None] = {}
    for r in dict.fromkeys(program.routines):
        out.update(dict.fromkeys(phrasebook.phrasebook(r, library, dose)))
    lib = {**library, **{r.id: r for r in program.routines}}
    texts: list[str] = []
    offers = sorted(pain_paths(program, library).offers)
    for alt_id, painful_id in offers:
        alt = lib[alt_id]
        out.update(dict.fromkeys(renderings(alt)))
        texts += [safety.offer_text(alt, lib[painful_id]), phrasebook.start_text(alt)]
        texts += [*phrasebook.summaries(alt), *(c.text for c in alt.all_cues())]
    texts += comfort.texts(lib[a] for a, _ in offers)  # (each exercise's: its phrasebook)
    for t in [*texts, *program_texts(program, library), *comfort.program_texts(program)]:
        out.setdefault((t, 1.0))
    return list(out)


# --- coach export ---------------------------------------------------------------------------------
def export_texts(program: Program) -> list[str]:
    """The sentences a recording of the program says between its exercises."""
    out = []
    for i, e in enumerate(program.exercises[1:], start=1):
        out.append(rest_text(e.routine))
        if e.routine.position != program.exercises[i - 1].routine.position:
            out.append(position_text(e.routine))
        out.append(begin_text(e.routine))
    return list(dict.fromkeys(out))


def plan_program(
    program: Program, tempo: Tempo, clips: Mapping[tuple[str, float], np.ndarray]
) -> tuple[list[PlannedCue], list[tuple[Phase, int, int]], int]:
    """A whole program on one timeline, as `coach run` would say it with nobody speaking:
    each exercise on its breath grid; after it the rest sentence and the rest, (a change of
    position: its sentence and EXPORT_TURN_S more, as a recording cannot wait for "ready"),
    then "Let's begin ...". Returns (cues, every breath phase (phase, start, end), end)."""
    cues: list[PlannedCue] = []
    phases: list[tuple[Phase, int, int]] = []
    at = 0

    def say(text: str, onset: int) -> int:
        clip = clips[(text, 1.0)]
        cues.append(PlannedCue(-1, onset, Fitted(text, 1.0, clip, True)))
        return onset + len(clip)

    for i, e in enumerate(program.exercises):
        if i:
            prev = program.exercises[i - 1]
            rest_end = at + round(prev.rest_s * RATE)
            at = max(say(rest_text(e.routine), at), rest_end)
            if e.routine.position != prev.routine.position:
                at = say(position_text(e.routine), at) + round(EXPORT_TURN_S * RATE)
            at = say(begin_text(e.routine), at) + round(0.5 * RATE)
        beats = script(e.routine, e.reps)
        mine, ph, at = plan(beats, Tempo(e.tempo) if e.tempo is not None else tempo, clips, at)
        cues += mine
        phases += [(b.phase, a, z) for b, (a, z) in zip(beats, ph, strict=True)]
    return cues, phases, at
