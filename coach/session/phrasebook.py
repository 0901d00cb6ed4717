"""Everything a session may say, known before it starts, so every sentence is rendered up front.

Why: a cue synthesized on demand would arrive late (espeak-ng takes ~0.1-0.5 s a sentence) and a
pain advice must never wait for a synthesizer. So the session's texts — fixed safety sentences,
every cue of the routine and of each routine pain could lead to, the offers — are listed here and
the runner renders them all before the first word (coach/app/runner.py render_phrasebook).
"""

from __future__ import annotations

from collections.abc import Mapping

from coach.exercise.choreography import renderings
from coach.exercise.routine import Routine
from coach.session import comfort, safety
from coach.session.dose import Dose

FIXED = (
    *safety.PAIN_ADVICE,
    safety.RED_FLAGS,
    safety.OFFER_QUESTION,
    safety.OFFER_DECLINED,
    safety.NO_ALTERNATIVE,
    safety.STOPPING,
    safety.GREEN_LIGHT,
    safety.COMMANDS_BRIEF,
    safety.COMMANDS_MORE,
    safety.COMMANDS_COMFORT,
    safety.HEARING_PROMPT,
    safety.HEARING_RETRY,
    safety.HEARING_OK,
    safety.HEARING_REFUSE,
    *safety.PROVE_ASK.values(),
    *safety.PROVE_ASK_AGAIN.values(),
    safety.PROVE_OTHER_FIRST,
    safety.PROVE_OK,
    *safety.PROVE_REFUSE.values(),
    safety.NOT_LISTENING,
    safety.MIC_LOST,
    safety.MIC_UNPLUGGED,
    safety.MIC_BACK,
    safety.MIC_GAVE_UP,
    safety.PAUSED,
    safety.RESUMED,
    safety.SLOWER_OK,
    safety.SLOWER_LIMIT,
    safety.FASTER_OK,
    safety.FASTER_LIMIT,
    safety.PAUSE_TIMEOUT,
    safety.FAULT_SPOKEN,
    *comfort.FIXED,
)


def start_text(r: Routine) -> str:
    """What the coach says when it begins a routine offered after pain."""
    return f"Good. Let's begin {r.name}."


def summaries(r: Routine) -> list[str]:
    """Every summary a stop in `r` may say: the reps of each side as they can stand at any
    moment (walking the cycle's counting steps for up to reps_max reps), not every pair of
    numbers (31 x 31 sentences to render for a routine of up to 30 reps)."""
    left = right = 0
    out = {t: None for t in safety.summary_texts(r.sides, left, right)}
    for _ in range(r.reps_max):
        for step in r.cycle:
            if step.counts is None:
                continue
            right += step.counts.right
            left += step.counts.left
            out.update(dict.fromkeys(safety.summary_texts(r.sides, left, right)))
    return list(out)


def alternatives(library: Mapping[str, Routine], routine: Routine) -> list[Routine]:
    """The chain of routines pain could lead to (each one's own alternative, and so on)."""
    chain: list[Routine] = []
    hurt: list[Routine] = []
    r = routine
    while (alt := safety.choose_alternative(library, r, hurt)) is not None:
        chain.append(alt)
        hurt.append(r)
        r = alt
    return chain


def phrasebook(
    routine: Routine, library: Mapping[str, Routine], dose: Dose | None = None
) -> list[tuple[str, float]]:
    """Every (text, speed) a session of `routine` may say, without duplicates, in a fixed order."""
    out: dict[tuple[str, float], None] = {}
    fixed = list(FIXED)
    if dose and dose.warning:
        fixed.append(dose.warning)
    prev = routine
    chain = [routine, *alternatives(library, routine)]
    fixed += comfort.texts(chain)  # the answers to "how many left" in each of them
    for r in chain:
        fixed += summaries(r)
        fixed += [c.text for c in r.all_cues()]
        if r is not routine:
            fixed += [safety.offer_text(r, prev), start_text(r)]
        for key in renderings(r):
            out.setdefault(key)
        prev = r
    for t in fixed:
        out.setdefault((t, 1.0))
    return list(out)
