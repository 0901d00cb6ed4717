"""Before the first exercise: the hearing check ("say ready": the coach never starts deaf) and the
safety-word proof (stop, then pain, said once each on the first session per microphone and
recognizer, or with --check-words; issue #11).

Functions over the Session (coach/session/machine.py), as comfort.py is. A proof ends nothing: a
stop or pain heard while proving is counted here, not acted on (machine.Session.command).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coach.intents import Intent
from coach.session import safety
from coach.session.actions import Action, Cancel, EndReason
from coach.session.states import AfterSpeech, State

if TYPE_CHECKING:
    from coach.session.machine import Session

HEAR_WAIT_S = 8.0  # after the "say ready" prompt ends, how long to listen before asking again
HEAR_TRIES = 3  # prompts before refusing to start


def listening(s: Session, now: float) -> list[Action]:
    """Each tick of the check or the proof: HEAR_WAIT_S without the answer asks again, and the
    HEAR_TRIES-th time refuses to start (it cannot hear this person)."""
    if s._wait_from is None or now - s._wait_from < HEAR_WAIT_S:
        return []
    s._wait_from = None
    s._tries += 1
    checking, word = s.state == State.CHECKING, unproven(s)
    if s._tries >= HEAR_TRIES:
        acts = s._say(safety.HEARING_REFUSE if checking else safety.PROVE_REFUSE[word])
        return acts + s._finish(EndReason.NO_RESPONSE)
    s._after_speech = AfterSpeech.LISTEN
    return s._say(safety.HEARING_RETRY if checking else safety.PROVE_ASK_AGAIN[word])


def heard_ready(s: Session, now: float) -> list[Action]:
    """ "Ready" in the hearing check: it hears this person; the proof next, if asked for, else the
    briefing."""
    acts: list[Action] = [Cancel(), *s._say(safety.HEARING_OK)]
    s._wait_from = None
    if not s.prove:
        return acts + s._brief(now)
    s._tries = 0
    acts += s._enter(State.PROVING)
    acts += s._say(safety.PROVE_ASK["stop"])
    s._after_speech = AfterSpeech.LISTEN
    return acts


def heard_word(s: Session, now: float, intent: Intent) -> list[Action]:
    """Stop or pain heard while proving the safety words: one more proven; both: begin."""
    s._proof.add(intent.value)
    acts: list[Action] = [Cancel()]
    s._tries, s._wait_from = 0, None
    if unproven(s) == "":
        s.proven = True
        acts += s._say(safety.PROVE_OK)
        return acts + s._brief(now)
    ask = safety.PROVE_ASK["pain"] if intent == Intent.STOP else safety.PROVE_OTHER_FIRST
    acts += s._say(ask)
    s._after_speech = AfterSpeech.LISTEN
    return acts


def unproven(s: Session) -> str:
    """The safety word not heard yet ("stop" first), or "" when both were."""
    return next((w for w in ("stop", "pain") if w not in s._proof), "")
