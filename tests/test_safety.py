"""Safety words and the alternative offered after pain."""

from __future__ import annotations

import dataclasses

from coach.exercise.routine import command_words_in, load_library
from coach.history.db import History
from coach.listening.langpack import load_langpack
from coach.session import safety
from coach.session.dose import Dose, check_dose

LIB = load_library()


def test_alternative_never_repeats_and_avoids_the_painful_motion() -> None:
    for r in LIB.values():
        alt = safety.choose_alternative(LIB, r)
        assert alt is not None, r.id
        assert alt.id != r.id
        assert not set(alt.motion) & set(r.motion), (r.id, alt.id)


def test_rotation_pain_gets_the_gentlest_lying_exercise_without_rotation() -> None:
    alt = safety.choose_alternative(LIB, LIB["trunk-rotation"])
    assert alt is not None and "rotation" not in alt.motion
    assert alt.intensity == "very-gentle" and alt.position == "supine"


def test_lower_intensity_is_preferred_then_same_position() -> None:
    bridge = LIB["bridge"]
    lib = {k: v for k, v in LIB.items() if v.intensity != "very-gentle"}
    alt = safety.choose_alternative(lib, bridge)
    assert alt is not None and alt.intensity == "gentle"
    assert alt.position == "supine"  # cat-camel (hands and knees) is gentle too, but further away
    # a gentler exercise on hands and knees beats a same-position one of higher intensity
    lib2 = {
        "cat-camel": dataclasses.replace(
            LIB["cat-camel"], motion=("none",), intensity="very-gentle"
        ),
        "pelvic-tilt": LIB["pelvic-tilt"],
    }
    assert safety.choose_alternative(lib2, bridge).id == "cat-camel"  # type: ignore[union-attr]


def test_tried_exercises_are_excluded_and_none_when_nothing_fits() -> None:
    tr = LIB["trunk-rotation"]
    first = safety.choose_alternative(LIB, tr)
    assert first is not None
    second = safety.choose_alternative(LIB, first, [tr])
    assert second is not None and second.id not in (tr.id, first.id)
    only_rotation = {"trunk-rotation": tr}
    assert safety.choose_alternative(only_rotation, tr) is None


def test_advice_says_what_the_seed_says() -> None:
    advice = " ".join(safety.PAIN_ADVICE).lower()
    for words in (
        "stop moving",
        "sharp",
        "unusual",
        "worse",
        "don't continue",
        "physician",
        "physical therapist",
    ):
        assert words in advice
    flags = safety.RED_FLAGS.lower()
    for words in ("numbness", "weakness", "bladder", "bowel", "urgent"):
        assert words in flags
    assert "green light" in safety.GREEN_LIGHT
    assert "stop" in safety.COMMANDS_BRIEF and "pain" in safety.COMMANDS_BRIEF
    assert safety.OFFER_QUESTION == "Would you like to try it? Say yes or no."


def test_acknowledgements_and_offers_hold_no_command_the_session_expects_then() -> None:
    """The coach says these while the listener waits for a command: they must not contain one."""
    pack = load_langpack("en")
    for text in (
        safety.SLOWER_OK,
        safety.FASTER_OK,
        safety.SLOWER_LIMIT,
        safety.FASTER_LIMIT,
        safety.RESUMED,
        safety.HEARING_OK,
        safety.OFFER_DECLINED,
    ):
        assert pack.command_phrases_in(text) == [], text
    tr = LIB["trunk-rotation"]
    for alt in LIB.values():
        if alt.id != tr.id:
            assert pack.command_phrases_in(safety.offer_text(alt, tr)) == [], alt.id


def test_dose_warning_from_real_history(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tr = LIB["trunk-rotation"]
    with History(tmp_path / "h.sqlite3") as h:
        assert check_dose(tr, h).warning is None
        for _ in range(2):
            sid = h.start_session(tr.id, 6.0, "pocketsphinx", "calm", 5)
            h.end_session(sid, "completed", 5, 5, 6.0)
        d = check_dose(tr, h)
    assert d.done_today == 2 and d.over
    assert d.warning is not None and "session 3" in d.warning and "2 a day" in d.warning
    assert not Dose(tr.id, tr.name, 1, 2).over


def test_the_summary_is_said_as_a_person_would() -> None:
    """Was "You did 1 on the right," + "and 0 on the left." (issue #13)."""
    both = ("right", "left")
    assert safety.summary_texts(both, 0, 1) == ["You did one on the right."]  # no "zero"
    assert safety.summary_texts(both, 1, 0) == ["You did one on the left."]
    assert safety.summary_texts(both, 2, 2) == ["You did two on each side."]
    assert safety.summary_texts(both, 2, 3) == ["You did three on the right and two on the left."]
    assert safety.summary_texts(("left", "right"), 3, 2) == [
        "You did three on the left and two on the right."
    ]  # the routine's own order of sides
    assert safety.summary_texts(("left",), 4, 0) == ["You did four on the left."]
    assert safety.summary_texts((), 4, 4) == ["You did four."]  # unsided: both count each rep
    assert safety.summary_texts(both, 0, 0) == safety.summary_texts((), 0, 0) == []
    words = [safety.number_words(n) for n in (0, 7, 13, 20, 21, 30, 40)]  # reps stop at 30
    assert words == ["zero", "seven", "thirteen", "twenty", "twenty one", "thirty", "40"]


def test_no_summary_holds_a_digit_or_a_command_word() -> None:
    pack = load_langpack("en")
    for r in LIB.values():
        for left in range(r.reps_max + 1):
            for right in range(r.reps_max + 1):
                for text in safety.summary_texts(r.sides, left, right):
                    assert not any(c.isdigit() for c in text), text
                    assert command_words_in(text) == [], text  # nor a sound-alike
                    assert pack.command_phrases_in(text) == [], text
