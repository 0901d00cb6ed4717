"""The session state machine: events in, actions out; no audio, no threads, an injected clock.

    checking-mic [-> proving-words] -> briefing -> positioning -> exercising <-> paused -> ended
                                      (any state) --pain--> offering --yes--> positioning (new routine)

The runner feeds it `tick(now, speaking)` once per audio block, `command(now, intent, phrase)` for
each detection, `voice_began(now, speaking)` / `voice_ended(now)` when the listener hears the user's
voice start and end, `mic_lost(now, why)` / `mic_back(now)` from the watchdog or the audio back end
(coach/session/mic_outage.py: a muted or an unplugged microphone); it answers with actions (Say, Cancel,
Hush, Unhush, Expect, Log, Finish, Started) for the runner to carry out. Stop and pain
pre-empt everything: their first action is always Cancel, so the player is cut in the same block.

Hush on voice: the user's voice beginning while the coach speaks hushes it at once (Hush), before
any recognizer's verdict; the verdict then decides: stop/pain end as always (already silent), a
command acts, and words that were no command (or no verdict within HUSH_MAX_S) carry on (Unhush:
what was held is said again from its start where it still fits its breath phase). The breath grid
never moves for a hush. Because it is pure, every path is unit-tested with a ManualClock
(tests/test_session.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from coach.exercise.choreography import Beat
from coach.exercise.routine import Cue, Routine
from coach.exercise.tempo import Tempo
from coach.intents import SAFETY_INTENTS, Intent
from coach.session import comfort, phrasebook, proving, safety, walk
from coach.session.actions import (
    Action,
    Cancel,
    EndReason,
    Expect,
    Finish,
    Hush,
    Log,
    Say,
    SetLevel,
    Started,
    Unhush,
)
from coach.session.dose import Dose
from coach.session.events import EventType
from coach.session.hush import HushState
from coach.session.mic_outage import MIC_WAIT_S, MicOutage
from coach.session.states import EXPECT, HOLDS, HUSHABLE, AfterSpeech, State

OFFER_WAIT_S = 10.0  # after "say yes or no", silence this long means no
PAUSE_LIMIT_S = 600.0  # paused this long with no word: the session ends (no-response)
ADVICE_GAP_S = 0.6  # silence between the cut-off and the pain advice
STOP_GAP_S = 0.5  # silence between the cut-off and "Stopping." (the cut is heard as such)

class Session:
    """One coached session (possibly continuing into a suggested alternative after pain)."""

    def __init__(
        self,
        routine: Routine,
        reps: int,
        tempo: Tempo,
        library: Mapping[str, Routine],
        listen: bool = True,
        dose: Dose | None = None,
        hush: bool = True,
        prove: bool = False,
        mic_wait_s: float = MIC_WAIT_S,
        level_db: float = 0.0,
    ) -> None:
        self.routine = routine
        self.reps = reps
        self.tempo = tempo
        self.library = library
        self.listen = listen
        self.dose = dose
        self.hush = hush and listen  # --no-hush turns it off
        # after "ready", the user says stop and pain once each before anything begins (the
        # first live session on a microphone, or --check-words); `proven` when both were heard
        self.prove = prove
        self.proven = False
        self._proof: set[str] = set()
        self.state = State.CHECKING
        self.reason: EndReason | None = None
        self.left = self.right = 0
        self.hurt: list[Routine] = []  # routines that hurt this session
        self.offer: Routine | None = None
        self.last_said: Say | None = None
        self._beats: list[Beat] = []
        self._i = 0  # next beat to start
        self._cur: int | None = None  # beat playing now
        self._next_at: float | None = None  # when beat _i starts
        self._pending_tempo: Tempo | None = None
        self._wait_from: float | None = None  # listening window start (after speech ended)
        self._tries = 0
        self._after_speech: AfterSpeech | None = None  # what to do once the coach stops speaking
        self._paused_at = 0.0
        self.mic = MicOutage(mic_wait_s)
        self._resume_state = State.POSITIONING
        self._hush = HushState()
        self.level_db = comfort.clamp_level(level_db)  # the output level (louder, quieter)
        self._handlers: dict[Intent, Callable[[float], list[Action]]] = {
            Intent.STOP: self._on_stop,
            Intent.PAIN: self._on_pain,
            Intent.YES: self._on_yes,
            Intent.NO: self._on_no,
            Intent.READY: self._on_ready,
            Intent.PAUSE: self._on_pause,
            Intent.RESUME: self._on_resume,
            Intent.SLOWER: self._on_slower,
            Intent.FASTER: self._on_faster,
            Intent.REPEAT: self._on_repeat,
            Intent.LOUDER: self._on_louder,
            Intent.QUIETER: self._on_quieter,
            Intent.REMAINING: self._on_remaining,
            Intent.SKIP: self._on_skip,
            Intent.UPCOMING: self._on_upcoming,
        }

    # --- what may be said (coach/session/phrasebook.py) ---------------------------------------------------
    def alternatives(self) -> list[Routine]:
        """The chain of routines pain could lead to (each one's own alternative, and so on)."""
        return phrasebook.alternatives(self.library, self.routine)

    def phrasebook(self) -> list[tuple[str, float]]:
        """Every (text, speed) this session may say: rendered before the first word."""
        return phrasebook.phrasebook(self.routine, self.library, self.dose)

    # --- events ---------------------------------------------------------------------------------
    def start(self, now: float) -> list[Action]:
        acts: list[Action] = []
        if self.level_db:  # remembered for this voice (coach/app/output_level.py)
            acts += [SetLevel(self.level_db), Log(EventType.LEVEL, {"db": self.level_db})]
        if not self.listen:
            acts += self._say(safety.NOT_LISTENING)
            return acts + self._brief(now)
        acts += self._enter(State.CHECKING)
        acts += self._say(safety.HEARING_PROMPT)
        self._after_speech = AfterSpeech.LISTEN
        return acts

    def listener_lag(self, unheard_s: float) -> None:
        """How far the listener lags behind the speaker now (the audio it has not yet heard)."""
        self._hush.lag(unheard_s)

    def tick(self, now: float, speaking: bool) -> list[Action]:
        """Called once per audio block; `speaking` is True while the player has something queued."""
        if self.state == State.ENDED:
            return []
        acts: list[Action] = []
        if self._hush.active:
            why = self._hush.due(now)
            if why is not None:
                acts += [Unhush(), *self._unhush(now, why)]
            speaking = True  # what was held is not said yet (after an Unhush: from the next block)
        if self._after_speech and not speaking:
            todo, self._after_speech = self._after_speech, None
            if todo == AfterSpeech.LISTEN:
                self._wait_from = now
            elif todo == AfterSpeech.EXERCISE:
                acts += self._begin_routine(now)
        if self.state in (State.CHECKING, State.PROVING):
            acts += proving.listening(self, now)  # nothing heard: ask again, or refuse
        elif self.state == State.OFFERING and self._wait_from is not None:
            if now - self._wait_from >= OFFER_WAIT_S:
                acts += self._decline()
        elif self.state == State.PAUSED:
            if self.mic.paused and self.mic.given_up(now):
                acts += self._say(safety.MIC_GAVE_UP)
                acts += self._finish(EndReason.FAULT)
            elif now - self._paused_at >= PAUSE_LIMIT_S:
                acts += self._say(safety.PAUSE_TIMEOUT)
                acts += self._finish(EndReason.NO_RESPONSE)
        elif self.state in (State.POSITIONING, State.EXERCISING):
            acts += walk.run(self, now)
        return acts

    def command(self, now: float, intent: Intent, phrase: str = "") -> list[Action]:
        """A detection from the listener. Intents that do not count in this state are ignored."""
        intent = Intent(intent)
        if self.state == State.ENDED and not (
            intent == Intent.PAIN and self.reason == EndReason.STOPPED
        ):
            return []  # (pain always wins: "stop ... it hurts" still gets the advice)
        if intent not in SAFETY_INTENTS and intent not in EXPECT[self.state]:
            return []
        if intent == Intent.READY and self.state == State.PAUSED and not self.mic.paused:
            return []
        proof = self.state == State.PROVING and intent in SAFETY_INTENTS
        kind = EventType.PROOF if proof else EventType.COMMAND  # a proof ends nothing
        acts: list[Action] = [Log(kind, {"intent": str(intent), "phrase": phrase})]
        over = self._unhush(now, str(intent)) if self._hush.active else []
        out: list[Action] = (
            proving.heard_word(self, now, intent) if proof else self._handlers[intent](now)
        )
        if over and not any(isinstance(a, Cancel) for a in out):
            # (stop, pain, pause ... cut what was held with their Cancel); a fresh reply takes
            # the place of the replies held (heard after it, an old answer went stale)
            over.insert(0, Unhush(replies=not any(isinstance(a, Say) for a in out)))
        return acts + over + out

    def voice_began(self, now: float, speaking: bool) -> list[Action]:
        """The listener heard the user's voice start (not the coach's own: the echo gate). While
        the coach speaks, it hushes at once; between two lines (HOLDS) the hush holds the next
        one; the verdict comes later (command or voice_ended)."""
        if not self.hush or self.state not in (HUSHABLE if speaking else HOLDS):
            return []
        if not self._hush.begin(now):
            return []  # more words of the same hush
        return [Hush(), Log(EventType.HUSH, {} if speaking else {"between": True})]

    def voice_ended(self, now: float, verdict: bool = True) -> None:
        """The user's voice ended with its verdict in: with no command within HUSH_GRACE_S the
        coach carries on. Without the verdict yet (`verdict=False`: the words are over, their
        decode is not) the hush may last up to HUSH_VERDICT_MAX_S."""
        self._hush.voice_ended(now, verdict)

    @property
    def hushed(self) -> bool:
        return self._hush.active

    def mic_lost(self, now: float, why: str = "") -> list[Action]:
        """The mic cannot hear: the watchdog (no frames or a dead-flat signal for a few seconds)
        or, with `why`, the back end (the device went away: waited for up to mic.wait_s)."""
        acts = self.mic.gone(now, why) if why and self.state != State.ENDED else []
        if why and self.state == State.PAUSED:  # paused already: now it is the mic's pause
            acts.append(Cancel())
        elif self.state in (State.BRIEFING, State.POSITIONING, State.EXERCISING):
            acts += self._pause(now)[:-1]
        else:  # (the hearing check or an offer: an unheard answer ends them as always)
            return acts
        self.mic.paused = True
        return acts + self._say(safety.MIC_UNPLUGGED if why else safety.MIC_LOST)

    def mic_back(self, now: float) -> list[Action]:
        """The back end has the microphone again: said, and "resume" carries on."""
        acts = self.mic.back(now) if self.state != State.ENDED else []
        if acts and self.state == State.PAUSED and self.mic.paused:
            acts += [Cancel(), *self._say(safety.MIC_BACK)]
        return acts

    def interrupt(self, now: float, reason: EndReason = EndReason.STOPPED) -> list[Action]:
        """SIGINT/SIGTERM or a fault: silence and an ending, with no further speech."""
        if self.state == State.ENDED:
            return []
        return [Cancel(), *self._finish(reason)]

    # --- command handlers ------------------------------------------------------------------------
    def _on_stop(self, now: float) -> list[Action]:
        acts: list[Action] = [Cancel(), *self._say(safety.STOPPING, gap_s=STOP_GAP_S)]
        if self.left or self.right:
            for t in safety.summary_texts(self.routine.sides, self.left, self.right):
                acts += self._say(t)
        reason = EndReason.PAIN if self.state == State.OFFERING else EndReason.STOPPED
        return acts + self._finish(reason, self.offer.id if self.offer else None)

    def _on_pain(self, now: float) -> list[Action]:
        acts: list[Action] = [Cancel()]
        self._next_at = self._cur = None
        if self.state == State.OFFERING and self.offer is not None:
            self.hurt.append(self.routine)  # pain while considering: offer nothing more
            acts += self._say(safety.NO_ALTERNATIVE)
            return acts + self._finish(EndReason.PAIN, self.offer.id)
        self.hurt.append(self.routine)
        first, *rest = safety.PAIN_ADVICE
        acts += self._enter(State.OFFERING)
        acts += self._say(first, gap_s=ADVICE_GAP_S)
        for t in (*rest, safety.RED_FLAGS):
            acts += self._say(t)
        self.offer = safety.choose_alternative(self.library, self.routine, self.hurt[:-1])
        if self.offer is None:
            return acts + self._pain_end(safety.NO_ALTERNATIVE, None)
        acts += self._say(safety.offer_text(self.offer, self.routine))
        acts += self._say(safety.OFFER_QUESTION)
        self._wait_from = None
        self._after_speech = AfterSpeech.LISTEN
        return acts

    def _on_yes(self, now: float) -> list[Action]:
        alt = self.offer
        assert alt is not None
        acts: list[Action] = [Cancel(), *self._finish(EndReason.PAIN, alt.id, final=False)]
        self.routine, self.reps, self.offer = alt, alt.reps_default, None
        self.left = self.right = 0
        acts.append(Started(alt, self.reps))
        acts += self._enter(State.POSITIONING)
        acts += self._say(phrasebook.start_text(alt))
        self._after_speech = AfterSpeech.EXERCISE
        self._beats = []
        return acts

    def _on_no(self, now: float) -> list[Action]:
        return self._decline()

    def _on_ready(self, now: float) -> list[Action]:
        if self.state == State.CHECKING:
            return proving.heard_ready(self, now)
        return self._on_resume(now)  # paused for the mic: "ready" works like "resume"

    def _on_pause(self, now: float) -> list[Action]:
        return self._pause(now)

    def _on_resume(self, now: float) -> list[Action]:
        acts: list[Action] = [Cancel(), *self._enter(self._resume_state)]
        self.mic.resumed()
        acts += self._say(safety.RESUMED)
        if self._resume_state == State.BRIEFING or not self._beats:
            return acts + self._brief(now)
        walk.rewind(self, now)  # the interrupted breath from its inhale
        return acts

    def _on_slower(self, now: float) -> list[Action]:
        base = self._pending_tempo or self.tempo
        if base.at_slowest:
            return self._say(safety.SLOWER_LIMIT, until=self._next_at)
        self._pending_tempo = base.slower()
        return self._say(safety.SLOWER_OK, until=self._next_at)

    def _on_faster(self, now: float) -> list[Action]:
        base = self._pending_tempo or self.tempo
        if base.at_fastest:
            return self._say(safety.FASTER_LIMIT, until=self._next_at)
        self._pending_tempo = base.faster()
        return self._say(safety.FASTER_OK, until=self._next_at)

    # voice comfort: the rules are in coach/session/comfort.py; a program answers its hooks for itself
    def _on_louder(self, now: float) -> list[Action]:
        return comfort.on_level(self, up=True)

    def _on_quieter(self, now: float) -> list[Action]:
        return comfort.on_level(self, up=False)

    def _on_remaining(self, now: float) -> list[Action]:
        return comfort.on_remaining(self)

    def _on_upcoming(self, now: float) -> list[Action]:
        return comfort.on_upcoming(self)

    def _on_skip(self, now: float) -> list[Action]:
        """A single routine has nothing after it: its end, completed early."""
        return [Cancel(), *self._say(comfort.SKIP_END), *self._finish(EndReason.COMPLETED_EARLY)]

    def _in_exercise(self) -> bool:
        return bool(self._beats)

    def _exercises_left(self) -> tuple[int, bool] | None:
        """(exercises still to come, between two of them) in a program; None: one routine."""
        return None

    def _upcoming(self) -> tuple[Routine, bool] | None:
        """(the exercise that comes next, between two of them); None: none."""
        return None

    def _on_repeat(self, now: float) -> list[Action]:
        if self.last_said is None:
            return []
        last = self.last_said
        if last.cue is not None and self._next_at is not None:
            # the whole cue again, in the rendering that fits before the next breath
            return self._say(last.cue.text, last.cue, self._next_at - now, until=self._next_at)
        return self._say(last.cue.text if last.cue else last.text, until=self._next_at)

    # --- helpers ---------------------------------------------------------------------------------
    def _say(
        self,
        text: str,
        cue: Cue | None = None,
        seconds: float | None = None,
        gap_s: float = 0.0,
        until: float | None = None,
        on_grid: bool = False,
        waits: int | None = None,
    ) -> list[Action]:
        s = Say(text, cue, seconds, gap_s, until, on_grid, waits)
        if text not in (
            safety.SLOWER_OK,
            safety.FASTER_OK,
            safety.SLOWER_LIMIT,
            safety.FASTER_LIMIT,
        ) and text not in comfort.NOT_REPEATED:
            self.last_said = s
        return [s]

    def _unhush(self, now: float, then: str) -> list[Action]:
        """The hush's end, recorded; the tick's own ends carry on (Unhush) at once."""
        held_s = self._hush.end(now)
        return [Log(EventType.HUSH_OVER, {"after_s": held_s, "then": then})]

    def _enter(self, state: State) -> list[Action]:
        if state == self.state and state != State.CHECKING:
            return []
        self.state = state
        acts: list[Action] = [Log(EventType.STATE, {"state": str(state)})]
        if self.listen:
            acts.append(Expect(EXPECT[state]))
        return acts

    def _brief(self, now: float) -> list[Action]:
        acts = self._enter(State.BRIEFING)
        if self.dose and self.dose.warning:
            acts += self._say(self.dose.warning)
        acts += self._say(safety.GREEN_LIGHT)
        if self.listen:
            acts += self._say(safety.COMMANDS_BRIEF)
            acts += self._say(safety.COMMANDS_MORE)
            acts += self._say(safety.COMMANDS_COMFORT)
        self._after_speech = AfterSpeech.EXERCISE
        return acts

    def _begin_routine(self, now: float) -> list[Action]:
        return walk.begin(self, now)

    def _pause(self, now: float) -> list[Action]:
        if self.state in (State.POSITIONING, State.EXERCISING, State.BRIEFING):
            self._resume_state = self.state
        acts: list[Action] = [Cancel(), *self._enter(State.PAUSED)]
        self._hush.clear()  # (its Cancel drops what a hush held)
        self._paused_at = now
        self._next_at = None
        self._after_speech = None
        return acts + self._say(safety.PAUSED)

    def _decline(self) -> list[Action]:
        return self._pain_end(safety.OFFER_DECLINED, self.offer.id if self.offer else None)

    # hooks a program overrides (coach/session/program_session.py): what follows a routine's last breath,
    # and the end of a pain (no alternative, or none taken)
    def _routine_done(self, now: float, reason: EndReason = EndReason.COMPLETED) -> list[Action]:
        return self._finish(reason)

    def _pain_end(self, goodbye: str, suggestion: str | None) -> list[Action]:
        return self._say(goodbye) + self._finish(EndReason.PAIN, suggestion)

    def _finish(
        self, reason: EndReason, suggestion: str | None = None, final: bool = True
    ) -> list[Action]:
        self.reason = reason
        self._next_at = None
        self._wait_from = None
        self._after_speech = None
        self._hush.clear()
        acts: list[Action] = [Finish(reason, self.left, self.right, suggestion)]
        if final:
            acts += self._enter(State.ENDED)
        return acts

    @property
    def current(self) -> Beat | None:
        """The beat (breath phase) under way, for the display; None outside the exercise."""
        return walk.current(self)

    @property
    def program_id(self) -> str | None:
        """The program this session runs (None: one routine); its history is one program run."""
        return None

    @property
    def done(self) -> bool:
        return self.state == State.ENDED
