"""The session state machine alone: a ManualClock, a pretend speaker (each Say lasts a time that
grows with its length) and commands injected at chosen moments. Every path of the issue."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from coach.clock import ManualClock
from coach.exercise.routine import load_library
from coach.exercise.tempo import Tempo
from coach.intents import Intent
from coach.session import safety
from coach.session.actions import Reps
from coach.session.dose import Dose
from coach.session.machine import (
    OFFER_WAIT_S,
    Action,
    Cancel,
    EndReason,
    Expect,
    Finish,
    Log,
    Say,
    Session,
    Started,
    State,
)
from coach.session.proving import HEAR_TRIES, HEAR_WAIT_S

LIB = load_library()
STEP = 0.02


@dataclass
class Sim:
    """Drives a Session like the runner does, with a pretend player."""

    session: Session
    clock: ManualClock = field(default_factory=ManualClock)
    busy_until: float = 0.0
    actions: list[tuple[float, Action]] = field(default_factory=list)
    unheard_s: float = 0.0  # how far the listener lags behind (its backlog)

    def apply(self, acts: list[Action]) -> None:
        now = self.clock.now()
        for a in acts:
            self.actions.append((now, a))
            if isinstance(a, Cancel):
                self.busy_until = now
            elif isinstance(a, Say):
                start = max(now, self.busy_until) + a.gap_s
                dur = 0.06 * len(a.text)
                if a.seconds is not None:
                    dur = min(dur, a.seconds - 0.3)  # the runner fits cues to their phase
                self.busy_until = start + dur

    def start(self) -> Sim:
        self.apply(self.session.start(self.clock.now()))
        return self

    def run(self, until: float | None = None, max_s: float = 3600.0) -> None:
        end = until if until is not None else max_s
        while self.clock.now() < end and not self.session.done:
            self.clock.advance(STEP)
            now = self.clock.now()
            self.session.listener_lag(self.unheard_s)
            self.apply(self.session.tick(now, speaking=now < self.busy_until))

    def say(self, intent: Intent, phrase: str = "") -> list[Action]:
        acts = self.session.command(self.clock.now(), intent, phrase or str(intent))
        self.apply(acts)
        return acts

    def run_until(self, pred, max_s: float = 3600.0) -> None:  # type: ignore[no-untyped-def]
        while not pred() and self.clock.now() < max_s and not self.session.done:
            self.run(self.clock.now() + STEP)

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        return [a for _, a in self.actions if isinstance(a, kind)]

    def said(self) -> list[str]:
        return [a.text for a in self.of(Say)]

    def states(self) -> list[str]:
        return [a.detail["state"] for a in self.of(Log) if a.type == "state"]

    def finishes(self) -> list[Finish]:
        return self.of(Finish)


def make(routine: str = "trunk-rotation", reps: int = 5, bpm: float = 10.0, **kw) -> Sim:  # type: ignore[no-untyped-def]
    return Sim(Session(LIB[routine], reps, Tempo(bpm), LIB, **kw)).start()


def ready(sim: Sim) -> Sim:
    sim.run(1.0)
    sim.say(Intent.READY)
    return sim


def tempo_changes(actions: list) -> list[float]:  # type: ignore[type-arg]
    """The breaths per minute of each tempo change among `actions` (the session logs them)."""
    return [a.detail["bpm"] for a in actions if isinstance(a, Log) and a.type == "tempo"]


def in_state(sim: Sim, state: State) -> None:
    sim.run_until(lambda: sim.session.state == state)
    assert sim.session.state == state


def test_completed_session_counts_every_rep_and_follows_the_states() -> None:
    sim = ready(make(reps=5))
    sim.run()
    assert sim.states() == ["checking-mic", "briefing", "positioning", "exercising", "ended"]
    assert sim.finishes() == [Finish(EndReason.COMPLETED, 5, 5, None)]
    assert sim.of(Reps)[-1] == Reps(5, 5)
    said = sim.said()
    assert said[0] == safety.HEARING_PROMPT
    assert safety.GREEN_LIGHT in said and safety.COMMANDS_BRIEF in said
    tr = LIB["trunk-rotation"]
    cues = [c.text for c in tr.all_cues()]
    assert said.count(tr.cycle[1].cue.text) == 5
    assert said[-1] == cues[-1]
    # every phrase said was in the phrase book rendered before the session
    book = {t for t, _ in sim.session.phrasebook()}
    assert set(said) <= book


def test_cycle_timing_follows_the_tempo() -> None:
    sim = ready(make(reps=5, bpm=6.0))
    sim.run()
    cue = LIB["trunk-rotation"].cycle[1].cue.text  # exhale right, once per rep
    times = [t for t, a in sim.actions if isinstance(a, Say) and a.text == cue]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps == pytest.approx([20.0] * 4, abs=0.05)  # two breaths of 10 s per rep


def test_never_ready_refuses_after_retries_and_explains() -> None:
    sim = make()
    sim.run()
    said = sim.said()
    assert said.count(safety.HEARING_PROMPT) + said.count(safety.HEARING_RETRY) == HEAR_TRIES
    assert said[-1] == safety.HEARING_REFUSE
    assert "stop or pain" in safety.HEARING_REFUSE
    assert sim.finishes() == [Finish(EndReason.NO_RESPONSE, 0, 0, None)]
    assert "exercising" not in sim.states()
    assert sim.clock.now() >= HEAR_TRIES * HEAR_WAIT_S


def test_no_listen_warns_and_skips_the_hearing_check() -> None:
    sim = make(listen=False)
    sim.run()
    said = sim.said()
    assert said[0] == safety.NOT_LISTENING
    assert safety.HEARING_PROMPT not in said
    assert sim.finishes()[0].reason == EndReason.COMPLETED
    assert not sim.of(Expect)


def test_stop_mid_cue_cancels_first_then_summarises() -> None:
    sim = ready(make())
    sim.run_until(lambda: sim.session.right == 2)
    acts = sim.say(Intent.STOP, "stop")
    assert isinstance(acts[1], Cancel)  # after the command log, the very first action
    texts = [a.text for a in acts if isinstance(a, Say)]
    assert texts[0] == safety.STOPPING
    assert texts[1:] == ["You did two on the right and one on the left."]
    assert sim.finishes() == [Finish(EndReason.STOPPED, 1, 2, None)]
    assert sim.session.done
    assert sim.session.command(sim.clock.now(), Intent.RESUME) == []


def test_pain_right_after_stop_still_gets_the_advice() -> None:
    """"Stop! ... it hurts": the session has ended as stopped, but pain always wins — the goodbye
    is cut, the advice and an alternative follow, and the end becomes pain. Nothing else is
    heard after a stop, and a second pain does not repeat the advice."""
    sim = ready(make())
    sim.run_until(lambda: sim.session.right == 1)
    sim.say(Intent.STOP, "stop")
    assert sim.session.done and sim.session.reason == EndReason.STOPPED
    assert sim.say(Intent.RESUME) == [] and sim.say(Intent.SLOWER) == []
    acts = sim.say(Intent.PAIN, "it hurts")
    assert isinstance(acts[1], Cancel)
    texts = [a.text for a in acts if isinstance(a, Say)]
    assert texts[:3] == [*safety.PAIN_ADVICE, safety.RED_FLAGS]
    assert sim.session.state == State.OFFERING and sim.session.offer is not None
    sim.say(Intent.NO)
    assert sim.session.done and sim.session.reason == EndReason.PAIN
    assert sim.finishes()[-1].reason == EndReason.PAIN
    assert sim.say(Intent.PAIN, "ouch") == []  # ended as pain: the advice was given


def test_pain_advises_then_offers_an_alternative_without_rotation() -> None:
    sim = ready(make())
    in_state(sim, State.EXERCISING)
    acts = sim.say(Intent.PAIN, "it hurts")
    assert isinstance(acts[1], Cancel)
    texts = [a.text for a in acts if isinstance(a, Say)]
    assert texts[:3] == [*safety.PAIN_ADVICE, safety.RED_FLAGS]
    assert [a for a in acts if isinstance(a, Say)][0].gap_s > 0  # a breath of silence first
    offer = sim.session.offer
    assert offer is not None and offer.id != "trunk-rotation"
    assert "rotation" not in offer.motion
    assert texts[-1] == safety.OFFER_QUESTION
    assert sim.session.state == State.OFFERING
    return_sim = sim
    assert return_sim.of(Expect)[-1].intents >= {Intent.YES, Intent.NO}


def test_pain_then_yes_starts_the_alternative_and_never_the_painful_one() -> None:
    sim = ready(make())
    in_state(sim, State.EXERCISING)
    sim.run(sim.clock.now() + 3)
    sim.say(Intent.PAIN)
    sim.run(sim.clock.now() + 2)
    first = sim.finishes()
    assert not first  # still offering
    sim.say(Intent.YES)
    alt = sim.session.routine
    assert alt.id == sim.of(Started)[0].routine.id != "trunk-rotation"
    fin = sim.finishes()[0]
    assert fin.reason == EndReason.PAIN and fin.suggestion == alt.id
    n_said = len(sim.said())
    sim.run()
    said = sim.said()[n_said:]
    tr_cues = {c.text for c in LIB["trunk-rotation"].all_cues()}
    assert not tr_cues & set(said)
    assert sim.finishes()[-1] == Finish(EndReason.COMPLETED, alt.reps_default, alt.reps_default)


def test_pain_then_no_or_silence_ends_with_the_suggestion() -> None:
    for answer in (Intent.NO, None):
        sim = ready(make())
        in_state(sim, State.EXERCISING)
        sim.say(Intent.PAIN)
        if answer:
            sim.run(sim.clock.now() + 1)
            sim.say(answer)
        else:
            sim.run()
        fin = sim.finishes()
        assert len(fin) == 1 and fin[0].reason == EndReason.PAIN
        assert fin[0].suggestion == sim.session.offer.id if sim.session.offer else False
        assert sim.said()[-1] == safety.OFFER_DECLINED
        assert not sim.of(Started)
    # silence: the coach waited for an answer after the question ended
    assert sim.clock.now() > OFFER_WAIT_S


def test_pain_in_the_alternative_avoids_both_motions() -> None:
    sim = ready(make())
    in_state(sim, State.EXERCISING)
    sim.say(Intent.PAIN)
    sim.say(Intent.YES)
    in_state(sim, State.EXERCISING)
    first_alt = sim.session.routine
    sim.say(Intent.PAIN)
    second = sim.session.offer
    assert second is not None
    assert second.id not in ("trunk-rotation", first_alt.id)
    assert not {"rotation", *first_alt.motion} & set(second.motion)


def test_slower_and_faster_change_tempo_at_the_next_breath() -> None:
    sim = ready(make(bpm=6.0))
    in_state(sim, State.EXERCISING)
    sim.run(sim.clock.now() + 1.0)
    acts = sim.say(Intent.SLOWER)
    assert [a.text for a in acts if isinstance(a, Say)] == [safety.SLOWER_OK]
    assert not tempo_changes(acts)  # not mid-breath
    sim.run_until(lambda: bool(tempo_changes(sim.of(Log))))
    t_change = next(t for t, a in sim.actions if tempo_changes([a]))
    assert tempo_changes(sim.of(Log)) == [5.0]
    # the change happens on an inhale cue (a breath boundary)
    at = [a for t, a in sim.actions if t == t_change and isinstance(a, Say) and a.cue]
    assert at and at[0].cue in {s.cue for s in LIB["trunk-rotation"].cycle[::2]}
    sim.say(Intent.FASTER)
    sim.say(Intent.FASTER)
    sim.run_until(lambda: len(tempo_changes(sim.of(Log))) == 2)
    assert tempo_changes(sim.of(Log))[-1] == 7.0


def test_tempo_limits_are_said_and_not_passed() -> None:
    sim = ready(make(bpm=10.0))
    in_state(sim, State.POSITIONING)
    acts = sim.say(Intent.FASTER)
    assert [a.text for a in acts if isinstance(a, Say)] == [safety.FASTER_LIMIT]
    sim.run()
    assert not tempo_changes(sim.of(Log))


def test_pause_and_resume_restart_the_breath_without_losing_reps() -> None:
    sim = ready(make())
    sim.run_until(lambda: sim.session.right == 2)
    sim.run(sim.clock.now() + 2.5)
    sim.say(Intent.PAUSE)
    assert sim.session.state == State.PAUSED
    n = len(sim.said())
    sim.run(sim.clock.now() + 30)
    assert sim.said()[n:] == []  # nothing said while paused
    assert sim.session.right == 2 and not sim.session.done
    assert sim.session.command(sim.clock.now(), Intent.SLOWER) == []  # not counted while paused
    assert sim.session.command(sim.clock.now(), Intent.READY) == []  # only after a mic loss
    sim.say(Intent.RESUME)
    sim.run()
    assert sim.finishes() == [Finish(EndReason.COMPLETED, 5, 5, None)]
    assert sim.states().count("paused") == 1


def test_stop_and_pain_work_while_paused() -> None:
    sim = ready(make())
    in_state(sim, State.EXERCISING)
    sim.say(Intent.PAUSE)
    sim.say(Intent.PAIN)
    assert sim.session.state == State.OFFERING
    sim.say(Intent.STOP)
    assert sim.finishes()[0].reason == EndReason.PAIN


def test_repeat_says_the_last_instruction_again() -> None:
    sim = ready(make(bpm=6.0))
    in_state(sim, State.EXERCISING)
    sim.run(sim.clock.now() + 0.5)
    last = sim.session.last_said
    assert last is not None and last.cue is not None
    acts = sim.say(Intent.REPEAT)
    assert [a.text for a in acts if isinstance(a, Say)] == [last.cue.text]


def test_mic_loss_pauses_and_only_resume_or_ready_go_on() -> None:
    sim = ready(make())
    in_state(sim, State.EXERCISING)
    acts = sim.session.mic_lost(sim.clock.now())
    sim.apply(acts)
    assert isinstance(acts[0], Cancel)
    assert sim.said()[-1] == safety.MIC_LOST
    assert sim.session.state == State.PAUSED
    sim.run(sim.clock.now() + 60)
    assert sim.session.state == State.PAUSED
    sim.say(Intent.READY)
    assert sim.session.state == State.EXERCISING
    sim.run()
    assert sim.finishes()[0].reason == EndReason.COMPLETED


def test_dose_warning_is_spoken_in_the_briefing() -> None:
    tr = LIB["trunk-rotation"]
    dose = Dose(tr.id, tr.name, 2, tr.per_day)
    sim = ready(make(dose=dose))
    in_state(sim, State.POSITIONING)
    assert dose.warning in sim.said()
    assert (dose.warning, 1.0) in sim.session.phrasebook()
    ok = ready(make(dose=Dose(tr.id, tr.name, 1, tr.per_day)))
    in_state(ok, State.POSITIONING)
    assert not any("usual dose" in t for t in ok.said())


def test_interrupt_ends_silently() -> None:
    sim = ready(make())
    in_state(sim, State.EXERCISING)
    acts = sim.session.interrupt(sim.clock.now())
    assert isinstance(acts[0], Cancel)
    assert not [a for a in acts if isinstance(a, Say)]
    assert sim.session.done


def test_unsided_routine_counts_reps_in_both_fields() -> None:
    sim = ready(make("pelvic-tilt", reps=5))
    sim.run()
    assert sim.finishes() == [Finish(EndReason.COMPLETED, 5, 5, None)]
