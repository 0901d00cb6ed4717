"""Voice comfort (issue #16 item 3) in the state machines alone (ManualClock, the pretend speaker of
tests/test_session.py): louder/quieter and their limits, how many left, skip, what's next, in one
routine and in a program; the words they say are rendered beforehand and hold no command word;
the level remembered per voice (a real file); the player's level and limiter (real samples)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from coach.app import output_level
from coach.exercise.program import after_text, begin_text, coming_text, load_programs, rest_text
from coach.exercise.routine import command_words_in, load_library
from coach.intents import Intent
from coach.listening.langpack import load_langpack
from coach.outcomes import EndReason
from coach.session import comfort, safety
from coach.session.actions import Cancel, Finish, Log, Reps, Say, SetLevel
from coach.session.comfort import (
    ALL_DONE,
    LAST_EXERCISE,
    LEVEL_MAX_DB,
    LEVEL_MIN_DB,
    LOUDER_LIMIT,
    LOUDER_OK,
    QUIETER_LIMIT,
    QUIETER_OK,
    SKIP_END,
    SKIP_ON,
)
from coach.session.states import State
from coach.speech.player import Player
from tests.test_program_flow import in_book, started
from tests.test_program_flow import make as make_program
from tests.test_session import Sim, in_state, make, ready

LIB = load_library()
PROGRAMS = load_programs(LIB)
DAILY = PROGRAMS["daily-back"]
TR, PT = LIB["trunk-rotation"], LIB["pelvic-tilt"]


def exercising(**kw: object) -> Sim:
    sim = ready(make(**kw))  # type: ignore[arg-type]
    in_state(sim, State.EXERCISING)
    return sim


def after(sim: Sim, acts: list) -> list:  # type: ignore[type-arg]
    """What a command answered, without the command's own log line."""
    return [a for a in acts if not (isinstance(a, Log) and a.type == "command")]


def until_reps(sim: Sim, left: int, right: int) -> None:
    sim.run_until(lambda: Reps(left, right) in sim.of(Reps))
    assert Reps(left, right) in sim.of(Reps)


# --- louder, quieter ------------------------------------------------------------------------------
def test_louder_sets_the_level_before_its_acknowledgement_up_to_the_limit() -> None:
    sim = exercising()
    got = after(sim, sim.say(Intent.LOUDER))
    assert isinstance(got[0], SetLevel) and got[0].db == 4.0  # before the words: said at it
    assert got[1] == Log("level", {"db": 4.0})
    assert isinstance(got[2], Say) and got[2].text == LOUDER_OK
    assert got[2].until is not None  # an acknowledgement keeps off the breath grid
    sim.say(Intent.LOUDER)
    assert sim.session.level_db == LEVEL_MAX_DB == 8.0
    got = after(sim, sim.say(Intent.LOUDER))
    assert [type(a) for a in got] == [Say] and got[0].text == LOUDER_LIMIT
    assert sim.session.level_db == 8.0


def test_quieter_goes_down_in_4_db_steps_to_the_limit() -> None:
    sim = exercising()
    levels = []
    for _ in range(6):
        acts = sim.say(Intent.QUIETER)
        levels += [a.db for a in acts if isinstance(a, SetLevel)]
    assert levels == [-4.0, -8.0, -12.0, -16.0] and LEVEL_MIN_DB == -16.0
    assert sim.said().count(QUIETER_OK) == 4 and sim.said().count(QUIETER_LIMIT) == 2


def test_a_remembered_level_is_set_before_the_first_word_and_kept_within_the_limits() -> None:
    sim = make(level_db=-8.0)
    assert sim.actions[0][1] == SetLevel(-8.0)
    assert not make().of(SetLevel)  # the profile's own level: nothing to set
    assert make(level_db=30.0).session.level_db == 8.0  # a file from elsewhere: clamped
    assert make(level_db=-5.3).session.level_db == -4.0  # ... onto the step grid


def test_repeat_after_louder_says_the_instruction_not_the_acknowledgement() -> None:
    sim = exercising()
    sim.run(sim.clock.now() + 3.0)
    sim.say(Intent.LOUDER)
    acts = sim.say(Intent.REPEAT)
    said = [a.text for a in acts if isinstance(a, Say)]
    assert said and said[0] not in comfort.NOT_REPEATED


@pytest.mark.parametrize("intent", sorted(comfort.INTENTS))
def test_the_comfort_commands_are_not_heard_outside_the_exercise(intent: Intent) -> None:
    sim = make()
    sim.run(1.0)
    assert sim.session.state == State.CHECKING
    assert sim.say(intent) == []
    ready(sim)
    assert sim.session.state == State.BRIEFING and sim.say(intent) == []


def test_in_a_pause_the_level_and_the_count_are_heard_but_not_skip() -> None:
    sim = exercising()
    sim.say(Intent.PAUSE)
    assert sim.session.state == State.PAUSED
    assert any(isinstance(a, SetLevel) for a in sim.say(Intent.LOUDER))
    assert sim.say(Intent.SKIP) == [] and sim.session.state == State.PAUSED
    assert any(isinstance(a, Say) for a in sim.say(Intent.REMAINING))


# --- how many left ------------------------------------------------------------------------------
def test_how_many_left_counts_the_reps_on_this_side() -> None:
    sim = ready(make())
    in_state(sim, State.POSITIONING)
    sim.run(sim.clock.now() + 1.0)
    assert after(sim, sim.say(Intent.REMAINING))[-1].text == "Five on each side."
    until_reps(sim, 0, 1)  # the right exhale of rep 1 done: the left one comes
    assert after(sim, sim.say(Intent.REMAINING))[-1].text == "Five more."
    until_reps(sim, 1, 1)
    assert after(sim, sim.say(Intent.REMAINING))[-1].text == "Four more."
    until_reps(sim, 4, 5)
    assert after(sim, sim.say(Intent.REMAINING))[-1].text == "Last one."
    until_reps(sim, 5, 5)
    assert after(sim, sim.say(Intent.REMAINING))[-1].text == ALL_DONE
    in_book(sim)


def test_how_many_left_in_an_unsided_routine_and_no_exercise_count_alone() -> None:
    sim = exercising(routine="pelvic-tilt", reps=6)
    until_reps(sim, 2, 2)
    said = [a.text for a in after(sim, sim.say(Intent.REMAINING))]
    assert said == ["Four more."]  # one routine: no exercises to count
    assert after(sim, sim.say(Intent.REMAINING))[-1].waits == comfort.ANSWER_WAITS


def test_how_many_left_in_a_program_adds_the_exercises_to_come() -> None:
    sim = make_program()
    in_state(sim, State.EXERCISING)
    said = [a.text for a in after(sim, sim.say(Intent.REMAINING))]
    assert said == ["Five more.", "Then three more exercises."]
    in_state(sim, State.RESTING)
    said = [a.text for a in after(sim, sim.say(Intent.REMAINING))]
    assert said == ["Three more exercises."]  # pelvic tilt comes, then two
    in_book(sim)


# --- what's next ----------------------------------------------------------------------------------
def test_whats_next_names_the_next_exercise_or_says_it_is_the_last() -> None:
    sim = make_program()
    in_state(sim, State.EXERCISING)
    assert after(sim, sim.say(Intent.UPCOMING))[-1].text == after_text(PT)
    in_state(sim, State.RESTING)
    assert after(sim, sim.say(Intent.UPCOMING))[-1].text == coming_text(PT)
    single = exercising()
    assert after(single, single.say(Intent.UPCOMING))[-1].text == LAST_EXERCISE
    in_book(sim)


# --- skip -------------------------------------------------------------------------------------
def test_skip_in_a_single_routine_ends_it_completed_early() -> None:
    sim = exercising()
    until_reps(sim, 1, 2)
    acts = after(sim, sim.say(Intent.SKIP))
    assert acts[0] == Cancel()  # what it was saying is cut
    assert [a.text for a in acts if isinstance(a, Say)] == [SKIP_END]
    assert sim.session.state == State.ENDED
    assert sim.finishes() == [Finish(EndReason.COMPLETED_EARLY, 1, 2, None)]
    in_book(sim)


def test_skip_in_a_program_ends_the_exercise_early_then_rests_then_the_next() -> None:
    sim = make_program()
    until_reps(sim, 1, 1)
    sim.say(Intent.SKIP)
    assert sim.finishes() == [Finish(EndReason.COMPLETED_EARLY, 1, 1, None)]
    assert sim.said()[-2:] == [SKIP_ON, rest_text(PT)]
    assert sim.session.state == State.RESTING
    t = sim.clock.now()
    sim.run_until(lambda: len(started(sim)) == 2)
    assert started(sim) == [TR.id, PT.id] and sim.clock.now() - t >= DAILY.exercises[0].rest_s


def test_skip_in_a_rest_begins_the_next_exercise_at_once() -> None:
    sim = make_program()
    in_state(sim, State.RESTING)
    t = sim.clock.now()
    sim.say(Intent.SKIP)
    assert started(sim) == [TR.id, PT.id] and sim.clock.now() == t
    assert sim.said()[-2:] == [SKIP_ON, begin_text(PT)]
    assert sim.finishes()[-1] == Finish(EndReason.COMPLETED, 5, 5, None)  # the done one stays


def test_skip_in_the_last_exercise_ends_the_program_completed_early() -> None:
    prog = PROGRAMS["daily-back"]
    sim = make_program()
    for _ in prog.exercises[:-1]:
        in_state(sim, State.RESTING)
        sim.say(Intent.SKIP)
    in_state(sim, State.EXERCISING)
    assert after(sim, sim.say(Intent.UPCOMING))[-1].text == LAST_EXERCISE
    sim.say(Intent.SKIP)
    assert sim.session.reason == EndReason.COMPLETED_EARLY and sim.said()[-1] == SKIP_END
    program = [a.detail for a in sim.of(Log) if a.type == "program"]
    assert program[-1]["reason"] == "completed-early"
    assert program[-1]["ran"] == [e.routine.id for e in prog.exercises]


def test_skip_while_waiting_for_ready_leaves_that_exercise_out(tmp_path: Path) -> None:
    from tests.test_program_flow import turn_program

    prog = turn_program(tmp_path)  # pelvic tilt, then cat-camel on hands and knees
    sim = make_program(prog)
    in_state(sim, State.GETTING_READY)
    sim.say(Intent.SKIP)
    assert sim.session.reason == EndReason.COMPLETED_EARLY and sim.said()[-1] == SKIP_END
    assert started(sim) == [prog.exercises[0].routine.id]


# --- what it says ---------------------------------------------------------------------------------
def every_answer() -> list[str]:
    out = comfort.texts(LIB.values())
    for p in PROGRAMS.values():
        out += comfort.program_texts(p)
    return out


def test_no_answer_holds_a_command_word_or_a_sound_alike() -> None:
    pack = load_langpack("en")
    for text in every_answer():
        assert command_words_in(text) == [], text
        assert pack.command_phrases_in(text) == [], text
    for p in PROGRAMS.values():  # the rest sentence said "Next:" before "next" was a command
        for e in p.exercises:
            assert command_words_in(rest_text(e.routine)) == []


def test_the_briefing_names_the_new_commands_and_no_others() -> None:
    pack = load_langpack("en")
    found = {i for _, i in pack.command_phrases_in(safety.COMMANDS_COMFORT)}
    assert found == set(comfort.INTENTS)
    sim = ready(make())
    in_state(sim, State.POSITIONING)
    assert safety.COMMANDS_COMFORT in sim.said()


def test_the_hygiene_check_knows_the_new_words() -> None:
    got = set(command_words_in("Skip the next one, and speak louder, and lie quietly."))
    assert got == {"skip", "next", "louder", "quietly (sounds like 'quieter')"}
    assert set(command_words_in("What's next? How many more?")) == {
        "next", "what's next", "how many more"}  # fmt: skip


def test_every_new_phrase_has_a_pattern_and_the_pack_lists_its_near_words() -> None:
    pack = load_langpack("en")
    for intent in comfort.INTENTS:
        ip = pack.intents[intent]
        assert ip.phrases and set(ip.phonemes) == set(ip.phrases)
    assert {"leader", "skin", "text"} <= set(pack.competitors)


# --- the level remembered -------------------------------------------------------------------------
def test_the_level_is_remembered_per_voice(tmp_path: Path) -> None:
    assert output_level.load("calm", tmp_path) == 0.0  # nothing yet
    assert output_level.remember("calm", -8.0, tmp_path)
    assert output_level.remember("clear", 4.0, tmp_path)
    assert output_level.load("calm", tmp_path) == -8.0
    assert output_level.load("clear", tmp_path) == 4.0
    assert json.loads((tmp_path / output_level.FILE).read_text()) == {"calm": -8.0, "clear": 4.0}
    assert [p.name for p in tmp_path.iterdir()] == [output_level.FILE]  # no temp file left


@pytest.mark.parametrize(
    ("content", "level"),
    [("{not json", 0.0), ('["calm"]', 0.0), ('{"calm": "loud"}', 0.0), ('{"calm": 99}', 8.0),
     ('{"calm": -99}', -16.0), ('{"calm": true}', 0.0), ("", 0.0)],
)  # fmt: skip
def test_a_damaged_level_file_means_the_profiles_own_level(
    tmp_path: Path, content: str, level: float
) -> None:
    (tmp_path / output_level.FILE).write_text(content)
    assert output_level.load("calm", tmp_path) == level
    assert output_level.remember("calm", -4.0, tmp_path)  # and it is replaced whole
    assert output_level.load("calm", tmp_path) == -4.0


def test_an_unwritable_data_folder_only_forgets(tmp_path: Path) -> None:
    blocked = tmp_path / "data"
    blocked.write_text("a file where the folder should be")  # (root ignores a chmod)
    assert output_level.remember("calm", -4.0, blocked) is False
    assert output_level.load("calm", blocked) == 0.0


# --- the player -----------------------------------------------------------------------------------
def test_the_player_applies_the_level_and_never_clips_above_0_db() -> None:
    rng = np.random.default_rng(0)
    clip = (rng.uniform(-0.65, 0.65, 4000)).astype(np.float32)  # rendered speech peaks 0.5-0.7
    p = Player()
    p.set_level(-8.0)
    p.play(clip)
    quiet = np.concatenate([p.next_block() for _ in range(len(clip) // p.block)])
    assert np.allclose(quiet, clip[: len(quiet)] * 10 ** (-8 / 20), atol=1e-6)
    p = Player()
    p.set_level(LEVEL_MAX_DB)
    p.play(clip)
    loud = np.concatenate([p.next_block() for _ in range(len(clip) // p.block)])
    assert np.max(np.abs(loud)) < 1.0  # +8 dB of 0.65 would be 1.63
    small = np.abs(clip[: len(loud)]) * 10 ** (8 / 20) < 0.7
    assert np.allclose(loud[small], clip[: len(loud)][small] * 10 ** (8 / 20), atol=1e-6)
    # louder all the same: the level of the whole, not only of the quiet samples
    assert np.sqrt(np.mean(loud**2)) > 1.8 * np.sqrt(np.mean(clip[: len(loud)] ** 2))


def test_the_terminal_says_the_level_and_an_early_end_in_words() -> None:
    from coach.app.display import describe_event

    assert describe_event("level", {"db": -4.0}) == "output level -4 dB"
    ended = {"reason": "completed-early", "reps": {"left": 1, "right": 2}}
    assert describe_event("ended", ended, True).startswith("completed early; reps right 2, left 1")
