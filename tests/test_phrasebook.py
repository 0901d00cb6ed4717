"""coach/session/phrasebook.py: every sentence a session may say is known (and rendered) before it starts."""

from __future__ import annotations

from coach.exercise.choreography import script
from coach.exercise.routine import load_library
from coach.session import phrasebook, safety
from coach.session.dose import Dose

LIB = load_library()


def test_phrasebook_covers_the_alternatives() -> None:
    tr = LIB["trunk-rotation"]
    book = {t for t, _ in phrasebook.phrasebook(tr, LIB)}
    alts = phrasebook.alternatives(LIB, tr)
    assert alts, "the rotation stretch has an alternative for pain"
    for alt in alts:
        assert {c.text for c in alt.all_cues()} <= book
        assert phrasebook.start_text(alt) in book
    assert safety.HEARING_REFUSE in book and "You did ten on each side." in book
    assert set(safety.PAIN_ADVICE) <= book and safety.RED_FLAGS in book


def test_alternatives_never_lead_back_to_the_routine_that_hurt() -> None:
    for r in LIB.values():
        chain = phrasebook.alternatives(LIB, r)
        ids = [a.id for a in chain]
        assert r.id not in ids and len(ids) == len(set(ids))


def test_each_text_once_and_the_dose_warning_only_when_there_is_one() -> None:
    tr = LIB["trunk-rotation"]
    plain = phrasebook.phrasebook(tr, LIB)
    assert len(plain) == len(set(plain))
    dose = Dose(tr.id, tr.name, 2, tr.per_day)
    assert dose.warning and (dose.warning, 1.0) in phrasebook.phrasebook(tr, LIB, dose)
    assert not any("usual dose" in t for t, _ in plain)


def test_every_summary_a_stop_can_say_is_rendered_first() -> None:
    """Stop after any beat of any routine (and of the alternatives pain leads to): the summary
    of the reps counted so far, as the session counts them (each beat's `counts`), is in the
    phrasebook, so nothing is synthesized after the stop. Counted on the choreography's own
    beats, not on the walk phrasebook.summaries does."""
    for r in LIB.values():
        book = {t for t, _ in phrasebook.phrasebook(r, LIB)}
        for routine in [r, *phrasebook.alternatives(LIB, r)]:
            for reps in range(routine.reps_min, routine.reps_max + 1):
                left = right = 0
                for beat in script(routine, reps):
                    right += beat.counts in ("right", "rep")
                    left += beat.counts in ("left", "rep")
                    said = safety.summary_texts(routine.sides, left, right)
                    assert set(said) <= book, (r.id, routine.id, reps, said)
    tr = LIB["trunk-rotation"]
    assert len(phrasebook.summaries(tr)) == 2 * tr.reps_max  # n and n, n+1 and n: no more
