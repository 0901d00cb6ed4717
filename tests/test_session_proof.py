"""Safety words proven before the first exercise, in the pure state machine: after "ready" the
user says stop, then pain; neither ends anything there; unheard, the coach refuses to begin."""

from __future__ import annotations

from coach.intents import Intent
from coach.session import safety
from coach.session.actions import Finish, Log
from coach.session.machine import EndReason, State
from coach.session.proving import HEAR_TRIES, HEAR_WAIT_S
from tests.test_session import Sim, in_state, make, ready


def proofs(sim: Sim) -> list[str]:
    return [a.detail["intent"] for a in sim.of(Log) if a.type == "proof"]


def listening(sim: Sim) -> None:
    """Run until the coach has finished its prompt."""
    sim.run_until(lambda: sim.clock.now() >= sim.busy_until + 0.1)


def test_stop_then_pain_are_proven_then_the_session_begins_and_stop_works_again() -> None:
    sim = ready(make(prove=True))
    assert sim.session.state == State.PROVING
    assert sim.said()[-1] == safety.PROVE_ASK["stop"]
    listening(sim)
    sim.say(Intent.STOP)
    assert not sim.session.done and sim.said()[-1] == safety.PROVE_ASK["pain"]
    listening(sim)
    sim.say(Intent.PAIN)
    assert sim.session.proven and sim.session.state == State.BRIEFING
    assert safety.PROVE_OK in sim.said()
    assert proofs(sim) == ["stop", "pain"]
    assert not [a for a in sim.of(Log) if a.type == "command" and a.detail["intent"] != "ready"]
    in_state(sim, State.EXERCISING)
    sim.say(Intent.STOP)  # now it is a stop
    assert sim.session.done and sim.finishes()[-1].reason == EndReason.STOPPED


def test_pain_first_then_stop_is_proven_too() -> None:
    sim = ready(make(prove=True))
    listening(sim)
    sim.say(Intent.PAIN)
    assert sim.said()[-1] == safety.PROVE_OTHER_FIRST and sim.session.state == State.PROVING
    listening(sim)
    sim.say(Intent.STOP)
    assert sim.session.proven and sim.session.state == State.BRIEFING


def test_an_unheard_safety_word_is_asked_again_then_the_coach_refuses_to_begin() -> None:
    sim = ready(make(prove=True))
    listening(sim)
    sim.say(Intent.STOP)
    sim.run(sim.clock.now() + 4 * (HEAR_WAIT_S + 10))  # pain is never heard
    said = sim.said()
    assert said.count(safety.PROVE_ASK_AGAIN["pain"]) == HEAR_TRIES - 1
    assert said[-1] == safety.PROVE_REFUSE["pain"]
    assert sim.finishes() == [Finish(EndReason.NO_RESPONSE, 0, 0, None)]
    assert State.EXERCISING not in sim.states() and not sim.session.proven


def test_without_prove_ready_goes_straight_to_the_briefing() -> None:
    sim = ready(make())
    assert sim.session.state == State.BRIEFING
    assert not any(t in sim.said() for t in safety.PROVE_ASK.values())


def test_the_prompts_contain_no_command_but_the_word_they_ask_for() -> None:
    from coach.listening.langpack import load_langpack

    pack = load_langpack("en")
    texts = {
        **{t: w for w, t in safety.PROVE_ASK.items()},
        **{t: w for w, t in safety.PROVE_ASK_AGAIN.items()},
        **{t: w for w, t in safety.PROVE_REFUSE.items()},
        safety.PROVE_OTHER_FIRST: "stop",
        safety.PROVE_OK: "",
    }
    for text, word in texts.items():
        found = {str(i) for _, i in pack.command_phrases_in(text)}
        assert found <= {word}, (text, found)
