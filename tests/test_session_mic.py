"""The session when the microphone device goes away and comes back (coach/session/mic_outage.py), on the
pure state machine with a ManualClock (tests/test_session.py's Sim): said aloud, paused, waited
for, "resume" once it is back, a fault said aloud if it never comes back."""

from __future__ import annotations

import pytest

from coach.intents import Intent
from coach.session import safety
from coach.session.machine import Cancel, EndReason, Log, State
from tests.test_session import Sim, in_state, make, ready

WHY = "the microphone 'mic' went away (the sound server switched to 'speaker.monitor')"


def logs(sim: Sim, type_: str) -> list[dict[str, object]]:
    return [a.detail for a in sim.of(Log) if a.type == type_]


def unplug(sim: Sim) -> list[object]:
    acts = sim.session.mic_lost(sim.clock.now(), WHY)
    sim.apply(acts)
    return list(acts)


def test_unplugged_mid_exercise_pauses_says_so_and_resumes_once_back() -> None:
    sim = ready(make())
    in_state(sim, State.EXERCISING)
    sim.run(sim.clock.now() + 1.0)
    acts = unplug(sim)
    assert isinstance(acts[0], Log) and acts[0].type == "mic-lost"
    assert isinstance(acts[1], Cancel)  # the cue is cut in the same block
    assert sim.session.state == State.PAUSED
    assert sim.said()[-1] == safety.MIC_UNPLUGGED
    assert logs(sim, "mic-lost") == [{"why": WHY, "wait_s": 120.0}]
    sim.run(sim.clock.now() + 30.0)  # gone for 30 s: still waiting, nothing more said
    assert sim.session.state == State.PAUSED and sim.said()[-1] == safety.MIC_UNPLUGGED
    sim.apply(sim.session.mic_back(sim.clock.now()))
    assert logs(sim, "mic-back") == [{"after_s": pytest.approx(30.0, abs=0.05)}]
    assert sim.said()[-1] == safety.MIC_BACK
    sim.run(sim.clock.now() + 200.0)  # back: the wait for the device is over, the pause goes on
    assert sim.session.state == State.PAUSED
    sim.say(Intent.RESUME)
    assert sim.session.state == State.EXERCISING
    sim.run()
    assert sim.finishes()[0].reason == EndReason.COMPLETED
    assert sim.states().count("paused") == 1


def test_never_back_ends_as_a_fault_said_aloud_after_the_wait() -> None:
    sim = ready(make(mic_wait_s=5.0))
    in_state(sim, State.POSITIONING)
    unplug(sim)
    t = sim.clock.now()
    sim.run(t + 4.9)
    assert not sim.session.done
    sim.run(t + 6.0)
    assert sim.session.done and sim.said()[-1] == safety.MIC_GAVE_UP
    assert [f.reason for f in sim.finishes()] == [EndReason.FAULT]


def test_unplugged_while_paused_by_the_user_becomes_the_mics_pause() -> None:
    sim = ready(make())
    in_state(sim, State.EXERCISING)
    sim.say(Intent.PAUSE)
    assert sim.session.command(sim.clock.now(), Intent.READY) == []  # a user's pause: not ready
    unplug(sim)
    assert sim.session.state == State.PAUSED and sim.said()[-1] == safety.MIC_UNPLUGGED
    sim.apply(sim.session.mic_back(sim.clock.now() + 2.0))
    sim.say(Intent.READY)  # the microphone's pause: "ready" carries on too
    assert sim.session.state == State.EXERCISING


def test_unplugged_before_the_exercise_or_after_the_end_only_logs() -> None:
    sim = make()  # the hearing check: an unheard "ready" ends it as always (asked again, refused)
    sim.run(1.0)
    assert [type(a) for a in unplug(sim)] == [Log]
    assert sim.session.state == State.CHECKING
    sim.run()
    assert sim.finishes()[0].reason == EndReason.NO_RESPONSE
    assert sim.session.mic_lost(sim.clock.now(), WHY) == []
    assert sim.session.mic_back(sim.clock.now()) == []


def test_a_muted_mic_is_unchanged_and_back_without_a_loss_says_nothing() -> None:
    sim = ready(make())
    in_state(sim, State.EXERCISING)
    assert sim.session.mic_back(sim.clock.now()) == []
    sim.apply(sim.session.mic_lost(sim.clock.now()))  # the watchdog: no device event
    assert sim.said()[-1] == safety.MIC_LOST and not logs(sim, "mic-lost")
    sim.run(sim.clock.now() + 200.0)  # a muted mic is not waited for: the pause's own limit
    assert sim.session.state == State.PAUSED


def test_the_notices_are_rendered_before_the_session() -> None:
    book = {t for t, _ in make().session.phrasebook()}
    assert {safety.MIC_UNPLUGGED, safety.MIC_BACK, safety.MIC_GAVE_UP} <= book
