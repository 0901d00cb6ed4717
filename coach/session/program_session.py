"""A whole program in one session: the session state machine, walking a program's exercises.

    ... exercise k (its last breath) -> resting (timed) -> exercise k+1 (same position)
                                                       -> getting-ready ("say ready") -> k+1
    pain -> advice, red flags, an alternative (as in one routine) -> "Shall we carry on with the
            rest: ...?" -> yes: the rest that loads none of the painful motions (the others are
            left out, said) | no, or no answer: the end

Why a subclass of Session: every safety rule (stop and pain from any state, the hush, the mic
watchdog, the hearing check) must hold between exercises exactly as within one, so the program
reuses the machine and only overrides its hooks (`_routine_done`, `_pain_end`) and the handlers
of the states it adds. Still pure: events in, actions out, an injected clock
(tests/test_program_flow.py). The rules themselves are in coach/session/program_flow.py.

Records: each exercise (and each alternative) is its own history session, begun by a `started`
event (the first one's too) and closed by its `ended`. Between two exercises no record is open:
an end there (stop, no answer, no "ready") closes nothing (the last exercise stays as it ended),
and the `program` event, logged at every end, says how the program ended.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from coach.exercise.program import (
    GO_ON_PROMPT,
    READY_GAVE_UP,
    READY_PROMPT,
    READY_RETRY,
    Program,
    begin_text,
    go_on_text,
    intro_text,
    position_text,
    rest_text,
    skip_text,
)
from coach.exercise.routine import Routine
from coach.exercise.tempo import TEMPO_MAX, TEMPO_MIN, Tempo
from coach.session import comfort, safety
from coach.session.actions import Action, Cancel, EndReason, Finish, Log, Started
from coach.session.events import EventType
from coach.session.machine import AfterSpeech, Session, State
from coach.session.program_flow import Rest, avoided, next_index, program_phrasebook, remaining

READY_WAIT_S = 20.0  # after "say ready when you're in position", before asking again
READY_TRIES = 3  # prompts before the program ends (it cannot hear the person)


class ProgramSession(Session):
    """A program's exercises in one session (see the module doc)."""

    def __init__(
        self, program: Program, tempo: Tempo, library: Mapping[str, Routine], **kw: Any
    ) -> None:
        first = program.exercises[0]
        own = Tempo(first.tempo) if first.tempo is not None else tempo
        super().__init__(first.routine, first.reps, own, library, **kw)
        self.program = program
        self._base = tempo.bpm  # for exercises without a tempo of their own (--tempo)
        self._planned = own.bpm  # the tempo the exercise under way was planned at
        self.ran: list[str] = []  # routines begun, in order (exercises and alternatives)
        self.left_out: list[str] = []  # exercises a pain left out
        self._k = 0  # the program's exercise under way (or the last one)
        self._skip: set[int] = set()  # exercises left out
        self._alt = False  # an alternative is under way, not one of the program's exercises
        self._between = False  # no exercise record is open (it ended; the next has not begun)
        self._asking = False  # "shall we carry on?" awaits its answer
        self._over = False  # a stop: nothing goes on (a late pain still gets the advice)
        self._rest_until: float | None = None
        self._resume_next = False  # paused between exercises: resume goes on with the next one
        self._pending: int | None = None  # the exercise that waits for "ready"
        self._ready_tries = 0

    def phrasebook(self) -> list[tuple[str, float]]:
        return program_phrasebook(self.program, self.library, self.dose)

    @property
    def program_id(self) -> str | None:
        return self.program.id

    # --- the flow between exercises --------------------------------------------------------------
    def tick(self, now: float, speaking: bool) -> list[Action]:
        acts = super().tick(now, speaking)
        if self.state == State.RESTING and self._rest_until is not None:
            if now >= self._rest_until and not speaking and not self.hushed:
                self._rest_until = None
                acts += self._advance(now)
        elif self.state == State.GETTING_READY:
            acts += self._ready_wait(now)
        return acts

    def _ready_wait(self, now: float) -> list[Action]:
        """No "ready" yet: asked again, up to READY_TRIES times, then the end (unheard)."""
        if self._wait_from is None or now - self._wait_from < READY_WAIT_S:
            return []
        self._wait_from = None
        self._ready_tries += 1
        if self._ready_tries >= READY_TRIES:
            return self._say(READY_GAVE_UP) + self._finish(EndReason.NO_RESPONSE)
        self._after_speech = AfterSpeech.LISTEN
        return self._say(READY_RETRY)

    def _brief(self, now: float) -> list[Action]:
        return super()._brief(now) + self._say(intro_text(self.program))

    def _begin_routine(self, now: float) -> list[Action]:
        acts: list[Action] = []
        if not self.ran:  # the first exercise: its record began with the session
            self.ran.append(self.routine.id)
            acts.append(Log(EventType.STARTED, {"routine": self.routine.id, **self._where(0)}))
        return acts + super()._begin_routine(now)

    def _routine_done(self, now: float, reason: EndReason = EndReason.COMPLETED) -> list[Action]:
        if self._alt:  # an alternative after pain is done: go on only if the person says so
            rest = self._rest()
            if self._over or not rest.kept:
                return self._finish(reason)
            return self._close(reason) + self._ask_go_on(rest)
        j = next_index(self.program, self._k, self._skip)
        if j is None:
            return self._finish(reason)
        acts = self._close(reason) + self._enter(State.RESTING)
        self._rest_until = now + self.program.exercises[self._k].rest_s
        return acts + self._say(rest_text(self.program.exercises[j].routine))

    def _advance(self, now: float) -> list[Action]:
        """After a rest (or going on after pain): the next exercise, at once when it is done in
        the position the person is in, else once they say they are ready."""
        j = next_index(self.program, self._k, self._skip)
        if j is None:
            return self._finish(EndReason.COMPLETED)
        nxt = self.program.exercises[j].routine
        if nxt.position == self.routine.position:
            return self._start(j)
        self._pending, self._ready_tries = j, 0
        acts = self._enter(State.GETTING_READY)
        acts += self._say(position_text(nxt)) + self._say(READY_PROMPT)
        self._wait_from, self._after_speech = None, AfterSpeech.LISTEN
        return acts

    def _start(self, j: int) -> list[Action]:
        """Exercise j begins: its own record (`started`), its reps and its tempo (its own, else
        the session's), moved by as many steps as the person has said slower or faster."""
        e = self.program.exercises[j]
        self._k, self._alt, self._between, self._pending = j, False, False, None
        self._wait_from = None
        self.routine, self.reps, self.left, self.right, self._beats = e.routine, e.reps, 0, 0, []
        self._cur = None  # (the display asks for the beat under way every block)
        self.ran.append(e.routine.id)
        acts: list[Action] = [Started(e.routine, e.reps, self._where(j))]
        # its own tempo, or the session's; moved by the slower/faster the person said so far
        said = (self._pending_tempo or self.tempo).bpm - self._planned
        self._planned = e.tempo if e.tempo is not None else self._base
        bpm = min(TEMPO_MAX, max(TEMPO_MIN, self._planned + said))
        self._pending_tempo = None
        if bpm != self.tempo.bpm:
            self.tempo = Tempo(bpm)
            acts.append(Log(EventType.TEMPO, {"bpm": bpm}))
        acts += self._enter(State.POSITIONING) + self._say(begin_text(e.routine))
        self._after_speech = AfterSpeech.EXERCISE
        return acts

    def _where(self, j: int) -> dict[str, Any]:
        return {"program": self.program.id, "exercise": j + 1}

    def _close(self, reason: EndReason, suggestion: str | None = None) -> list[Action]:
        """The exercise's record ends; the session goes on."""
        acts = self._finish(reason, suggestion, final=False)
        self._between, self.left, self.right = True, 0, 0
        return acts

    def _rest(self) -> Rest:
        return remaining(self.program, self._k, avoided(self.hurt), self._skip)

    def _ask_go_on(self, rest: Rest) -> list[Action]:
        self._asking = True
        kept = [self.program.exercises[j].routine for j in rest.kept]
        acts = self._enter(State.OFFERING) + self._say(go_on_text(kept)) + self._say(GO_ON_PROMPT)
        self._wait_from, self._after_speech = None, AfterSpeech.LISTEN
        return acts

    # --- endings -----------------------------------------------------------------------------------
    def _pain_end(self, goodbye: str, suggestion: str | None) -> list[Action]:
        rest = self._rest()
        if self._over or not rest.kept:
            return super()._pain_end(goodbye, suggestion)
        return self._close(EndReason.PAIN, suggestion) + self._ask_go_on(rest)

    def _finish(
        self, reason: EndReason, suggestion: str | None = None, final: bool = True
    ) -> list[Action]:
        acts = super()._finish(reason, suggestion, final)
        if self._between:  # no record is open: the last exercise stays as it ended
            acts = [a for a in acts if not isinstance(a, Finish)]
        if final:
            self._rest_until = self._pending = None
            self._asking = self._resume_next = False
            acts.append(Log(EventType.PROGRAM, {"program": self.program.id, "reason": str(reason),
                                        "ran": list(self.ran), "left_out": list(self.left_out)}))  # fmt: skip
        return acts

    # --- commands --------------------------------------------------------------------------------
    def _on_stop(self, now: float) -> list[Action]:
        self._over = True  # the whole program ends
        return super()._on_stop(now)

    def _on_pain(self, now: float) -> list[Action]:
        self._rest_until, self._pending, self._resume_next = None, None, False
        if self._asking:  # pain while asked to carry on: the end
            self._asking = False
            return [Cancel(), *self._say(safety.NO_ALTERNATIVE), *self._finish(EndReason.PAIN)]
        return super()._on_pain(now)  # (between exercises: the pain of the one just done)

    def _on_yes(self, now: float) -> list[Action]:
        if not self._asking:  # the alternative after pain
            acts = super()._on_yes(now)
            self._alt, self._between = True, False
            self.ran.append(self.routine.id)
            return acts
        self._asking = False
        acts = [Cancel()]
        for j, shared in self._rest().left_out:
            r = self.program.exercises[j].routine
            self._skip.add(j)
            self.left_out.append(r.id)
            acts += [Log(EventType.LEFT_OUT, {"routine": r.id, "because": list(shared)})]
            acts += self._say(skip_text(r, shared))
        return acts + self._advance(now)

    def _decline(self) -> list[Action]:
        if not self._asking:
            return super()._decline()
        self._asking = False
        return self._say(safety.OFFER_DECLINED) + self._finish(EndReason.PAIN)

    def _on_ready(self, now: float) -> list[Action]:
        if self.state == State.GETTING_READY and self._pending is not None:
            return [Cancel(), *self._start(self._pending)]
        return super()._on_ready(now)

    def _on_pause(self, now: float) -> list[Action]:
        if self.state == State.RESTING:
            self._resume_next, self._rest_until = True, None
        return super()._on_pause(now)

    def _on_resume(self, now: float) -> list[Action]:
        if not self._resume_next:
            return super()._on_resume(now)
        self._resume_next = False
        self.mic.resumed()
        return [Cancel(), *self._say(safety.RESUMED), *self._advance(now)]

    # --- voice comfort (coach/session/comfort.py) ---------------------------------------------------------
    def _on_skip(self, now: float) -> list[Action]:
        """The next exercise: now, from a rest; the one after, from the wait for "ready" (the
        one waiting is left out); from an exercise, its end (completed early), then its rest."""
        acts: list[Action] = [Cancel()]
        if self.state in (State.RESTING, State.GETTING_READY):
            if self._pending is not None:
                self._skip.add(self._pending)
                self._k = self._pending
            self._rest_until = self._pending = None
            if next_index(self.program, self._k, self._skip) is None:
                return acts + self._say(comfort.SKIP_END) + self._finish(EndReason.COMPLETED_EARLY)
            return acts + self._say(comfort.SKIP_ON) + self._advance(now)
        self._cur = None
        if not self._alt and next_index(self.program, self._k, self._skip) is None:
            return acts + self._say(comfort.SKIP_END) + self._finish(EndReason.COMPLETED_EARLY)
        return acts + self._say(comfort.SKIP_ON) + self._routine_done(now, EndReason.COMPLETED_EARLY)

    def _in_exercise(self) -> bool:
        return bool(self._beats) and not self._between

    def _exercises_left(self) -> tuple[int, bool] | None:
        between = self._between or self._pending is not None
        after = self._pending - 1 if self._pending is not None else self._k
        left = [j for j in range(after + 1, len(self.program.exercises)) if j not in self._skip]
        return len(left), between

    def _upcoming(self) -> tuple[Routine, bool] | None:
        j = self._pending if self._pending is not None else next_index(
            self.program, self._k, self._skip)  # fmt: skip
        if j is None:
            return None
        return self.program.exercises[j].routine, self._between or self._pending is not None

    def mic_lost(self, now: float, why: str = "") -> list[Action]:
        """Between exercises too the coach pauses (the next one must not begin unheard)."""
        if self.state not in (State.RESTING, State.GETTING_READY):
            return super().mic_lost(now, why)
        acts = self.mic.gone(now, why) if why else []
        self._resume_next, self._rest_until, self._pending = True, None, None
        acts += self._pause(now)[:-1]
        self.mic.paused = True
        return acts + self._say(safety.MIC_UNPLUGGED if why else safety.MIC_LOST)
