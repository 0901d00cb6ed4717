"""Hush on voice in the pure state machine: onset and verdict are events, Hush/Unhush actions."""

from __future__ import annotations

from coach.intents import Intent
from coach.outcomes import EndReason
from coach.session.actions import Cancel, Hush, Log, Say, Unhush
from coach.session.hush import HUSH_BACKLOG_MAX_S, HUSH_GRACE_S, HUSH_MAX_S, HUSH_VERDICT_MAX_S
from coach.session.states import State
from tests.test_session import STEP, Sim, in_state, make, ready


def exercising(**kw) -> Sim:  # type: ignore[no-untyped-def]
    sim = ready(make(**kw))
    in_state(sim, State.EXERCISING)
    sim.run_until(lambda: sim.clock.now() < sim.busy_until)  # a cue is playing
    return sim


def hush_logs(sim: Sim) -> list[Log]:
    return [a for a in sim.of(Log) if a.type.startswith("hush")]


def cue_times(sim: Sim) -> list[float]:
    return [round(t, 3) for t, a in sim.actions if isinstance(a, Say) and a.on_grid]


def test_voice_while_speaking_hushes_at_once_and_words_that_are_no_command_carry_on() -> None:
    sim = exercising()
    acts = sim.session.voice_began(sim.clock.now(), speaking=True)
    assert acts == [Hush(), Log("hush", {})]
    assert sim.session.hushed
    sim.run(sim.clock.now() + 0.5)  # the user says a word for half a second
    sim.session.voice_ended(sim.clock.now())
    ended = sim.clock.now()
    sim.run_until(lambda: not sim.session.hushed)
    assert abs(sim.clock.now() - ended - HUSH_GRACE_S) <= STEP + 1e-9
    unhush = [t for t, a in sim.actions if isinstance(a, Unhush)]
    assert len(unhush) == 1
    assert hush_logs(sim)[-1].detail["then"] == "nothing"


def test_a_hush_never_moves_the_breath_grid() -> None:
    quiet, hushed = exercising(), exercising()
    t0 = hushed.clock.now()
    for k in range(3):  # three hushes, one after another
        hushed.run(t0 + 4.0 * k)
        hushed.apply(hushed.session.voice_began(hushed.clock.now(), speaking=True))
        hushed.run(hushed.clock.now() + 0.3)
        hushed.session.voice_ended(hushed.clock.now())
    quiet.run(t0 + 30)
    hushed.run(t0 + 30)
    assert len(hush_logs(hushed)) == 6
    assert cue_times(quiet) == cue_times(hushed)
    assert quiet.session.right == hushed.session.right


def test_no_verdict_within_the_bound_carries_on() -> None:
    sim = exercising()
    t0 = sim.clock.now()
    sim.apply(sim.session.voice_began(t0, speaking=True))  # the voice never ends (a long groan)
    sim.run_until(lambda: not sim.session.hushed)
    assert abs(sim.clock.now() - t0 - HUSH_MAX_S) <= STEP + 1e-9
    assert hush_logs(sim)[-1].detail == {"after_s": HUSH_MAX_S, "then": "timeout"}


def test_stop_during_a_hush_ends_as_always_and_never_carries_on() -> None:
    sim = exercising()
    sim.apply(sim.session.voice_began(sim.clock.now(), speaking=True))
    acts = sim.say(Intent.STOP)
    assert not any(isinstance(a, Unhush) for a in acts)
    kinds = [type(a) for a in acts]
    assert kinds.index(Cancel) < kinds.index(Say)  # silence first, then "Stopping."
    assert sim.session.done and not sim.session.hushed


def test_pain_and_pause_during_a_hush_cut_what_was_held() -> None:
    for intent in (Intent.PAIN, Intent.PAUSE):
        sim = exercising()
        sim.apply(sim.session.voice_began(sim.clock.now(), speaking=True))
        acts = sim.say(intent)
        assert Cancel() in acts and Unhush() not in acts, intent
        assert not sim.session.hushed
        sim.run(sim.clock.now() + 5)
        assert not sim.of(Unhush), intent


def test_another_command_during_a_hush_carries_on_then_acts() -> None:
    sim = exercising()
    sim.apply(sim.session.voice_began(sim.clock.now(), speaking=True))
    acts = sim.say(Intent.SLOWER)
    kinds = [type(a) for a in acts]
    assert kinds.index(Unhush) < kinds.index(Say)  # what was held, then the acknowledgement
    # ... less the replies it held: this fresh one takes their place (cues are said again)
    assert [a for a in acts if isinstance(a, Unhush)] == [Unhush(replies=False)]
    ack = [a for a in acts if isinstance(a, Say)][0]
    assert ack.until is not None and ack.until > sim.clock.now()  # must not push the next cue
    assert hush_logs(sim)[-1].detail["then"] == "slower"


def test_a_voice_between_two_lines_holds_the_next_until_its_verdict() -> None:
    """Silent between two cues: the voice begins a hush all the same (a stop said there must not
    be talked over by the next cue); words that are no command let the coach carry on."""
    sim = exercising()
    sim.run_until(lambda: sim.clock.now() >= sim.busy_until)  # the cue has ended
    acts = sim.session.voice_began(sim.clock.now(), speaking=False)
    assert acts == [Hush(), Log("hush", {"between": True})]
    sim.apply(acts)
    sim.run(sim.clock.now() + 0.4)
    sim.session.voice_ended(sim.clock.now())
    sim.run_until(lambda: not sim.session.hushed)
    assert hush_logs(sim)[-1].detail["then"] == "nothing"
    held = exercising()  # ... and a stop ends it as always
    held.run_until(lambda: held.clock.now() >= held.busy_until)
    held.apply(held.session.voice_began(held.clock.now(), speaking=False))
    held.say(Intent.STOP)
    assert held.session.reason == EndReason.STOPPED


def test_no_hold_in_the_hearing_check_nor_while_paused() -> None:
    check = make()
    in_state(check, State.CHECKING)
    assert check.session.voice_began(check.clock.now(), speaking=False) == []
    paused = exercising()
    paused.say(Intent.PAUSE)
    paused.run(paused.clock.now() + 5)
    assert paused.session.state == State.PAUSED
    assert paused.session.voice_began(paused.clock.now(), speaking=False) == []


def test_no_hush_when_switched_off_or_giving_the_pain_advice() -> None:
    off = exercising(hush=False)
    assert off.session.voice_began(off.clock.now(), speaking=True) == []
    assert off.session.voice_began(off.clock.now(), speaking=False) == []  # nor a hold
    pain = exercising()
    pain.say(Intent.PAIN)
    assert pain.session.state == State.OFFERING
    assert pain.session.voice_began(pain.clock.now(), speaking=True) == []


def test_breath_cues_carry_their_deadline_and_are_on_the_grid() -> None:
    sim = exercising()
    sim.run(sim.clock.now() + 20)
    cues = [(t, a) for t, a in sim.actions if isinstance(a, Say) and a.on_grid]
    assert len(cues) > 3
    for t, a in cues:
        assert a.cue is not None and a.until is not None and a.seconds is not None
        assert abs(a.until - (t + a.seconds)) < STEP + 1e-9


def test_words_over_with_their_decode_still_running_hold_the_hush_longer() -> None:
    """A busy machine: the words ended but their verdict has not come by HUSH_MAX_S. The coach
    stays quiet (a stop may be in them) up to HUSH_VERDICT_MAX_S, and a stop then ends it."""
    sim = exercising()
    t0 = sim.clock.now()
    sim.apply(sim.session.voice_began(t0, speaking=True))
    sim.run(t0 + 0.6)
    sim.session.voice_ended(sim.clock.now(), verdict=False)  # words over, decode running
    sim.run(t0 + HUSH_MAX_S + 0.5)
    assert sim.session.hushed  # past the plain bound, still quiet
    acts = sim.say(Intent.STOP)  # the late verdict: a stop
    assert not any(isinstance(a, Unhush) for a in acts) and sim.session.done


def test_a_verdict_that_never_comes_carries_on_at_the_longer_bound() -> None:
    sim = exercising()
    t0 = sim.clock.now()
    sim.apply(sim.session.voice_began(t0, speaking=True))
    sim.run(t0 + 0.6)
    sim.session.voice_ended(sim.clock.now(), verdict=False)
    sim.run_until(lambda: not sim.session.hushed)
    assert abs(sim.clock.now() - t0 - HUSH_VERDICT_MAX_S) <= STEP + 1e-9
    assert hush_logs(sim)[-1].detail == {"after_s": HUSH_VERDICT_MAX_S, "then": "timeout"}
    sim.apply(sim.session.voice_began(sim.clock.now() + 5, speaking=True))  # the next hush ...
    sim.run(sim.clock.now() + 5 + HUSH_MAX_S + STEP)
    assert not sim.session.hushed  # ... has the plain bound again


def test_a_hush_over_the_briefing_lets_its_held_lines_be_said_before_the_exercise() -> None:
    """The held lines are queued again by the runner only when it carries out the Unhush: the
    tick that unhushes must not take the silent player for the briefing's end (it did: the
    routine began at once and its first cue cut what was held, seen in a program's run)."""
    sim = ready(make())
    in_state(sim, State.BRIEFING)
    s, now = sim.session, sim.clock.now()
    assert s.voice_began(now, speaking=True) == [Hush(), Log("hush", {})]
    s.voice_ended(now + 0.3)
    t, acts = now, []
    while not any(isinstance(a, Unhush) for a in acts):  # the player is silent: hushed
        t += STEP
        acts = s.tick(t, speaking=False)
    assert s.state == State.BRIEFING, acts  # the held lines are said first
    assert s.tick(t + STEP, speaking=True) == [] and s.state == State.BRIEFING


def test_a_lagging_listener_holds_the_hush_until_it_has_heard_the_bound() -> None:
    """A busy machine: the listener's thread is 2 s behind the speaker. The bound counts heard
    audio, so the hush lasts HUSH_MAX_S + 2 s; a lag beyond HUSH_BACKLOG_MAX_S is not waited for."""
    for lag, expect in ((2.0, HUSH_MAX_S + 2.0), (60.0, HUSH_MAX_S + HUSH_BACKLOG_MAX_S)):
        sim = exercising()
        sim.unheard_s = lag
        t0 = sim.clock.now()
        sim.apply(sim.session.voice_began(t0, speaking=True))
        sim.run_until(lambda s=sim: not s.session.hushed)
        assert abs(sim.clock.now() - t0 - expect) <= STEP + 1e-9, (lag, sim.clock.now() - t0)
