"""A whole program in the session state machine alone (ManualClock, a pretend speaker): the rests,
the change of position, pain and stop inside a program, and every phrase in the phrase book.
Plus the pure rules of coach/session/program_flow.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coach.audio.format import RATE
from coach.exercise.choreography import script
from coach.exercise.program import (
    GO_ON_PROMPT,
    READY_GAVE_UP,
    READY_PROMPT,
    READY_RETRY,
    Program,
    begin_text,
    go_on_text,
    intro_text,
    load_program,
    load_programs,
    position_text,
    rest_text,
    skip_text,
)
from coach.exercise.routine import load_library
from coach.exercise.tempo import Tempo
from coach.intents import Intent
from coach.session import safety
from coach.session.dose import Dose, check_program_dose
from coach.session.machine import OFFER_WAIT_S, EndReason, Finish, Log, Say, Started, State
from coach.session.mic_outage import MIC_WAIT_S
from coach.session.program_flow import (
    export_texts,
    pain_paths,
    plan_program,
    program_phrasebook,
    remaining,
)
from coach.session.program_session import READY_TRIES, READY_WAIT_S, ProgramSession
from tests.test_session import Sim

LIB = load_library()
PROGRAMS = load_programs(LIB)
DAILY = PROGRAMS["daily-back"]
TR, PT, SK, DB = (LIB[r] for r in ("trunk-rotation", "pelvic-tilt", "single-knee-to-chest",
                                   "diaphragmatic-breathing"))  # fmt: skip


def make(program: Program = DAILY, bpm: float = 10.0, **kw: object) -> Sim:
    sim = Sim(ProgramSession(program, Tempo(bpm), LIB, **kw)).start()  # type: ignore[arg-type]
    sim.run(1.0)
    sim.say(Intent.READY)
    return sim


def logs(sim: Sim, type_: str) -> list[tuple[float, dict[str, object]]]:
    return [(t, a.detail) for t, a in sim.actions if isinstance(a, Log) and a.type == type_]


def started(sim: Sim) -> list[str]:
    """Every exercise that began, in order: the first one's `started` Log and the others'
    Started actions (the runner turns both into `started` events)."""
    out: list[str] = []
    for _, a in sim.actions:
        if isinstance(a, Log) and a.type == "started":
            out.append(str(a.detail["routine"]))
        elif isinstance(a, Started):
            out.append(a.routine.id)
    return out


def at(sim: Sim, kind: type, pred=lambda a: True) -> float:  # type: ignore[no-untyped-def]
    return next(t for t, a in sim.actions if isinstance(a, kind) and pred(a))


def in_book(sim: Sim) -> None:
    """Every sentence said was rendered before the first word."""
    book = {t for t, _ in sim.session.phrasebook()}
    assert set(sim.said()) <= book, set(sim.said()) - book


def until_said(sim: Sim, text: str, nth: int = 1) -> None:
    sim.run_until(lambda: sim.said().count(text) >= nth)
    assert sim.said().count(text) >= nth, text


def test_daily_back_runs_every_exercise_in_order_with_timed_rests() -> None:
    sim = make()
    beats = set()
    while not sim.session.done:  # the display asks for the beat under way every block
        sim.run(sim.clock.now() + 0.02)
        beats.add((sim.session.routine.id, sim.session.current))
    assert {r for r, b in beats if b is not None} == {e.routine.id for e in DAILY.exercises}
    assert started(sim) == [e.routine.id for e in DAILY.exercises]
    assert [s.detail for s in sim.of(Started)] == [
        {"program": "daily-back", "exercise": n} for n in (2, 3, 4)
    ]
    assert [f.reason for f in sim.finishes()] == [EndReason.COMPLETED] * 4
    assert [(f.left, f.right) for f in sim.finishes()] == [(5, 5), (8, 8), (5, 5), (6, 6)]
    # the rest: from an exercise's last breath to the next one's start, said and timed
    ends = [t for t, a in sim.actions if isinstance(a, Finish)]
    starts = [t for t, a in sim.actions if isinstance(a, Started)]
    for e, s, ex in zip(ends, starts, DAILY.exercises, strict=False):
        assert s - e == pytest.approx(ex.rest_s, abs=0.03)
    said = sim.said()
    for r in (PT, SK, DB):
        assert said.index(rest_text(r)) < said.index(begin_text(r))
    assert intro_text(DAILY) in said and READY_PROMPT not in said  # all lying on the back
    assert sim.states().count("resting") == 3
    (_, prog), = logs(sim, "program")  # fmt: skip
    assert prog == {"program": "daily-back", "reason": "completed",
                    "ran": [e.routine.id for e in DAILY.exercises], "left_out": []}  # fmt: skip
    in_book(sim)


def pain_in_pelvic_tilt() -> Sim:
    sim = make()
    sim.run_until(lambda: sim.session.routine is PT and sim.session.state == State.EXERCISING)
    sim.run(sim.clock.now() + 5.0)
    sim.say(Intent.PAIN)
    until_said(sim, safety.OFFER_QUESTION)
    sim.run(sim.clock.now() + 1.0)
    return sim


def test_pain_then_no_alternative_then_yes_goes_on_without_the_painful_motion() -> None:
    sim = pain_in_pelvic_tilt()
    sim.say(Intent.NO)
    until_said(sim, GO_ON_PROMPT)
    assert go_on_text([DB]) in sim.said()  # single knee to chest loads flexion, like the tilt
    assert safety.OFFER_DECLINED not in sim.said()
    sim.run(sim.clock.now() + 1.0)
    sim.say(Intent.YES)
    sim.run()
    assert started(sim) == [TR.id, PT.id, DB.id]
    assert skip_text(SK, ["flexion"]) in sim.said()
    assert [d for _, d in logs(sim, "left-out")] == [{"routine": SK.id, "because": ["flexion"]}]
    reasons = [(f.reason, f.suggestion) for f in sim.finishes()]
    assert reasons[:2] == [(EndReason.COMPLETED, None), (EndReason.PAIN, reasons[1][1])]
    assert reasons[2] == (EndReason.COMPLETED, None) and len(reasons) == 3
    assert sim.session.reason == EndReason.COMPLETED
    assert logs(sim, "program")[-1][1]["left_out"] == [SK.id]
    pt_cues = {c for cue in PT.all_cues() for c in (cue.text, cue.short)}
    t_pain = at(sim, Log, lambda a: a.type == "command" and a.detail["intent"] == "pain")
    assert not pt_cues & {a.text for t, a in sim.actions if isinstance(a, Say) and t > t_pain}
    in_book(sim)


@pytest.mark.parametrize("answer", [Intent.NO, None])
def test_pain_then_no_or_silence_to_go_on_ends(answer: Intent | None) -> None:
    sim = pain_in_pelvic_tilt()
    sim.say(Intent.NO)
    until_said(sim, GO_ON_PROMPT)
    t_asked = sim.busy_until  # the question's last word
    sim.run(t_asked + 2.0)
    if answer is not None:
        sim.say(answer)
    sim.run()
    assert sim.session.done and sim.session.reason == EndReason.PAIN
    assert started(sim) == [TR.id, PT.id]  # pain never resumes anything on its own
    assert sim.said()[-1] == safety.OFFER_DECLINED
    assert [f.reason for f in sim.finishes()] == [EndReason.COMPLETED, EndReason.PAIN]
    if answer is None:
        t_end = at(sim, Say, lambda a: a.text == safety.OFFER_DECLINED)
        assert t_end - t_asked == pytest.approx(OFFER_WAIT_S, abs=0.05)
    in_book(sim)


def test_pain_then_the_alternative_then_the_rest_of_the_program() -> None:
    sim = pain_in_pelvic_tilt()
    alt = sim.session.offer
    assert alt is not None and "flexion" not in alt.motion
    sim.say(Intent.YES)
    until_said(sim, GO_ON_PROMPT)  # after the alternative's last breath
    kept = remaining(DAILY, 1, frozenset(PT.motion))
    assert go_on_text([DAILY.exercises[j].routine for j in kept.kept]) in sim.said()
    sim.run(sim.clock.now() + 1.0)
    sim.say(Intent.YES)
    sim.run()
    assert started(sim) == [TR.id, PT.id, alt.id, *(DAILY.exercises[j].routine.id
                                                    for j in kept.kept)]  # fmt: skip
    assert [f.reason for f in sim.finishes()] == [EndReason.COMPLETED, EndReason.PAIN,
                                                  EndReason.COMPLETED, EndReason.COMPLETED]  # fmt: skip
    in_book(sim)


def test_pain_with_no_alternative_left_and_nothing_to_go_on_with_ends_as_today() -> None:
    sim = make()
    sim.run_until(lambda: sim.session.routine is DB and sim.session.state == State.EXERCISING)
    sim.say(Intent.PAIN)  # the last exercise: nothing remains to go on with
    sim.run_until(
        lambda: sim.session.state == State.OFFERING and sim.session._wait_from is not None
    )
    sim.say(Intent.NO)
    sim.run()
    assert GO_ON_PROMPT not in sim.said() and sim.said()[-1] == safety.OFFER_DECLINED
    in_book(sim)


def test_stop_in_a_rest_ends_the_program_and_leaves_the_done_exercise_completed() -> None:
    sim = make()
    sim.run_until(lambda: sim.session.state == State.RESTING)
    sim.run(sim.clock.now() + 8.0)
    sim.say(Intent.STOP)
    sim.run()
    assert sim.session.reason == EndReason.STOPPED and started(sim) == [TR.id]
    assert sim.finishes() == [Finish(EndReason.COMPLETED, 5, 5, None)]  # nothing amended
    assert sim.said()[-1] == safety.STOPPING  # no reps of a next exercise to tell
    assert logs(sim, "program")[-1][1]["reason"] == "stopped"


def test_stop_in_an_exercise_ends_the_whole_program_even_after_a_late_pain() -> None:
    sim = make()
    sim.run_until(lambda: sim.session.routine is PT and sim.session.state == State.EXERCISING)
    sim.say(Intent.STOP)
    sim.run_until(lambda: sim.session.done)
    assert [f.reason for f in sim.finishes()] == [EndReason.COMPLETED, EndReason.STOPPED]
    sim.say(Intent.PAIN)  # "stop ... ouch": the advice and an offer, never the program again
    until_said(sim, safety.OFFER_QUESTION)
    sim.say(Intent.NO)
    sim.run()
    assert GO_ON_PROMPT not in sim.said() and started(sim) == [TR.id, PT.id]
    in_book(sim)


def test_pain_in_a_rest_is_the_pain_of_the_exercise_just_done() -> None:
    sim = make()
    sim.run_until(lambda: sim.session.state == State.RESTING)
    sim.say(Intent.PAIN)
    until_said(sim, safety.OFFER_QUESTION)
    assert safety.offer_text(sim.session.offer, TR) in sim.said()  # type: ignore[arg-type]
    sim.say(Intent.NO)
    until_said(sim, GO_ON_PROMPT)  # nothing else in daily-back twists: all three are kept
    assert go_on_text([PT, SK, DB]) in sim.said()
    sim.run(sim.clock.now() + 1.0)
    sim.say(Intent.YES)
    sim.run_until(lambda: sim.session.routine is PT)
    assert sim.finishes() == [Finish(EndReason.COMPLETED, 5, 5, None)]  # not amended to pain
    in_book(sim)


def test_pause_in_a_rest_then_resume_begins_the_next_exercise() -> None:
    sim = make()
    sim.run_until(lambda: sim.session.state == State.RESTING)
    sim.say(Intent.PAUSE)
    sim.run(sim.clock.now() + 60.0)  # far past the rest: paused, nothing begins
    assert sim.session.state == State.PAUSED and started(sim) == [TR.id]
    sim.say(Intent.RESUME)
    sim.run_until(lambda: sim.session.state == State.POSITIONING)
    assert started(sim) == [TR.id, PT.id] and sim.said()[-2:] == [safety.RESUMED, begin_text(PT)]


def test_the_mic_lost_in_a_rest_pauses_before_the_next_exercise() -> None:
    sim = make(mic_wait_s=MIC_WAIT_S)
    sim.run_until(lambda: sim.session.state == State.RESTING)
    sim.apply(sim.session.mic_lost(sim.clock.now(), "unplugged"))
    sim.run(sim.clock.now() + 40.0)
    assert sim.session.state == State.PAUSED and started(sim) == [TR.id]
    sim.apply(sim.session.mic_back(sim.clock.now()))
    sim.say(Intent.READY)  # "ready" works like "resume" after the mic's pause
    sim.run_until(lambda: sim.session.routine is PT)
    assert started(sim) == [TR.id, PT.id]


def test_slower_carries_over_to_the_next_exercise() -> None:
    sim = make(bpm=8.0)
    sim.run_until(lambda: sim.session.state == State.EXERCISING)
    sim.say(Intent.SLOWER)
    sim.run_until(lambda: sim.session.routine is PT)
    assert sim.session.tempo.bpm == 7.0


TURN = """id = "turn"
name = "Tilt and camel"
[[exercise]]
routine = "pelvic-tilt"
reps = 5
rest = 10
[[exercise]]
routine = "cat-camel"
reps = 5
tempo = 8
"""


def turn_program(tmp_path: Path) -> Program:
    f = tmp_path / "turn.program.toml"
    f.write_text(TURN)
    return load_program(f, LIB)


def test_a_change_of_position_waits_for_ready(tmp_path: Path) -> None:
    prog = turn_program(tmp_path)
    sim = make(prog)
    until_said(sim, READY_PROMPT)
    cc = LIB["cat-camel"]
    assert sim.said()[-2:] == [position_text(cc), READY_PROMPT]
    sim.run(sim.clock.now() + 30.0)  # moving takes time: asked again, nothing begins
    assert READY_RETRY in sim.said() and started(sim) == [PT.id]
    sim.say(Intent.READY)
    sim.run()
    assert started(sim) == [PT.id, cc.id] and sim.session.reason == EndReason.COMPLETED
    assert sim.session.tempo.bpm == 8.0  # its own tempo
    in_book(sim)


def test_no_ready_after_a_change_of_position_ends_unheard(tmp_path: Path) -> None:
    sim = make(turn_program(tmp_path))
    until_said(sim, READY_PROMPT)
    sim.run()
    assert sim.session.reason == EndReason.NO_RESPONSE and sim.said()[-1] == READY_GAVE_UP
    assert sim.said().count(READY_RETRY) == READY_TRIES - 1
    assert sim.finishes() == [Finish(EndReason.COMPLETED, 5, 5, None)]
    t_asked = at(sim, Say, lambda a: a.text == READY_PROMPT)
    assert at(sim, Say, lambda a: a.text == READY_GAVE_UP) - t_asked > READY_TRIES * READY_WAIT_S


# --- the pure rules -------------------------------------------------------------------------------
def test_remaining_keeps_what_loads_none_of_the_painful_motions() -> None:
    rest = remaining(DAILY, 1, frozenset({"flexion"}))
    assert rest.kept == (3,) and rest.left_out == ((2, ("flexion",)),)
    assert remaining(DAILY, 0, frozenset({"rotation"})).kept == (1, 2, 3)
    assert remaining(DAILY, 1, frozenset({"flexion"}), left_out={2}).left_out == ()


def test_pain_paths_cover_the_questions_any_pain_may_lead_to() -> None:
    paths = pain_paths(DAILY, LIB)
    assert (PT.id, SK.id, DB.id) in paths.questions  # pain in trunk rotation
    assert (DB.id,) in paths.questions  # pain in pelvic tilt
    assert (SK.id, ("flexion",)) in paths.skips
    book = {t for t, _ in program_phrasebook(DAILY, LIB)}
    for q in paths.questions:
        assert go_on_text([LIB[r] for r in q]) in book


def test_every_program_phrase_is_free_of_command_words() -> None:
    from coach.exercise.program import PROMPTS
    from coach.exercise.routine import command_words_in
    from coach.session.program_flow import program_texts

    for prog in PROGRAMS.values():
        for text in program_texts(prog, LIB):
            bad = command_words_in(text)
            if text in PROMPTS:  # a prompt says the one word it asks for, and no other
                assert len(bad) == 1 or set(bad) == {"yes", "no"}, (text, bad)
            else:
                assert not bad, (text, bad)


def test_plan_program_places_the_rest_and_the_next_exercise(tmp_path: Path) -> None:
    prog = turn_program(tmp_path)
    texts = export_texts(prog)
    cc = LIB["cat-camel"]
    assert texts == [rest_text(cc), position_text(cc), begin_text(cc)]
    clips: dict[tuple[str, float], np.ndarray] = {
        (t, 1.0): np.zeros(RATE, np.float32) for t in texts
    }  # one second each
    for r in (PT, cc):
        for cue in r.all_cues():
            for t in filter(None, (cue.text, cue.short)):
                for s in (1.0, 1.2, 1.4):
                    clips[(t, s)] = np.zeros(RATE // 2, np.float32)
    cues, phases, end = plan_program(prog, Tempo(10), clips)
    said = [c.fitted.text for c in cues]
    i = said.index(rest_text(cc))
    rest_at = cues[i].onset
    pt_end = phases[len(script(PT, 5)) - 1][2]  # the tilt's last breath phase ends
    assert rest_at == pt_end
    assert cues[i + 1].onset == rest_at + 10 * RATE  # the rest, then the change of position
    assert said[i + 1 : i + 3] == [position_text(cc), begin_text(cc)]
    assert end == phases[-1][2]


def test_a_program_past_its_daily_dose_says_so_in_the_briefing() -> None:
    dose = check_program_dose(DAILY, None)
    assert dose.warning is None  # no history: nothing counted
    over = Dose(DAILY.id, DAILY.name, 2, DAILY.per_day)  # two runs today already
    sim = make(dose=over)
    assert over.warning is not None and "session 3 of Daily back care today" in over.warning
    assert over.warning in [a.text for _, a in sim.actions if isinstance(a, Say)]
    in_book(sim)  # the warning too was rendered before the first word
