"""Two engines in a row, recall first: the fast one answers stop and pain at once; the second
listens again where the fast one heard no stop or pain.

Why: the bundled pocketsphinx and Whisper tiny.en miss *different* people's "stop" (measured on the
human clips: each misses one of five, not the same one), and a missed stop is the one error that
hurts. pocketsphinx answers in ~30 ms and keeps the fast path for the safety intents; Whisper
(~0.5 s CPU) runs on short segments only. `others` says who decides the other intents (slower,
yes, ready ...): "fast" — the fast engine, Whisper is asked for stop/pain only; "second" — Whisper,
which rejects ordinary words better; "both" — the fast engine where it heard one, Whisper (all
intents) where it heard nothing (README "Listening" has the numbers).

`background=True` (the live listener) runs Whisper on a worker thread: `recognize` returns the
fast engine's stop/pain at once and never waits, so a Whisper decode cannot delay the next "stop";
the second engine's answers come later from `late()`, tagged with the `ticket` of the call that
asked. Without it (files, benchmarks) the answer comes from `recognize` itself.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable, Collection, Sequence
from enum import StrEnum

import numpy as np

from coach import threads
from coach.audio.format import RATE
from coach.errors import ModelError
from coach.listening.engines.base import (
    Engine,
    Glimpses,
    Hypothesis,
    JudgesRivals,
    WeighsNearWords,
)

SECOND_MAX_S = 2.0  # longer segments are sentences, not a word to look at twice
# a second engine loaded in the background waits this long first: its imports hold the GIL for
# ~0.5 s, which delayed the first word by as much (bench_startup); by then that word is playing
LOAD_AFTER_S = 1.2


class Others(StrEnum):
    """Who decides the intents other than stop and pain."""

    FAST = "fast"  # the fast engine; the second is asked for stop/pain only
    SECOND = "second"  # the second engine, which rejects ordinary words better
    BOTH = "both"  # the fast engine where it heard one, the second where it heard nothing


class Doubt(StrEnum):
    """A stop/pain the fast engine heard while one of its near words explained the audio better
    (WeighsNearWords.contested)."""

    KEEP = "keep"  # kept: the fast path
    VETO = "veto"  # the second engine is asked; dropped only when it too prefers the near word
    DECIDE = "decide"  # the second engine's verdict stands


OTHERS = tuple(o.value for o in Others)
DOUBTS = tuple(d.value for d in Doubt)


class CascadeEngine:
    """Engine protocol (coach.listening.engines.base): `fast` first, `second` where it heard no stop/pain."""

    def __init__(
        self,
        fast: Engine,
        second: Engine | None,
        recall_phrases: Collection[str],
        second_min_confidence: float = 0.0,
        others: str = "fast",
        background: bool = False,
        load_second: Callable[[], Engine] | None = None,
        second_name: str = "",
        gate: float | None = None,
        doubt: str = "keep",
    ) -> None:
        """`second` may be None with `load_second` given: in background mode the worker loads it
        (a model load of ~1 s need not delay the first word: segments wait in its queue, and a
        load that fails leaves the fast engine alone, said on stderr); otherwise it loads here."""
        if others not in OTHERS:
            raise ValueError(f"others must be one of {OTHERS}")
        if doubt not in DOUBTS:
            raise ValueError(f"doubt must be one of {DOUBTS}")
        others, doubt = Others(others), Doubt(doubt)
        if second is None and load_second is not None and not background:
            second = load_second()
        if second is None and load_second is None:
            raise ValueError("give the second engine or a way to load it")
        self.fast = fast
        self.second: Engine | None = second
        self._load_second = load_second
        self.name = f"{fast.name}+{second.name if second is not None else second_name}"
        self.threshold_key = fast.name  # the listener's per-intent thresholds: the fast engine's
        self.language = fast.language
        self.recall_phrases = set(recall_phrases)
        self.second_min_confidence = second_min_confidence
        self.others = others
        self.background = background
        # the second engine listens again only when some phrase cost the fast engine at most
        # this many nats per phoneme (its `last_costs`); None: always
        self.gate = gate
        self.gated = 0  # segments the gate kept from the second engine
        self.doubt = doubt
        # a contested stop/pain through a band-limited segment is put to the second engine's
        # veto even when `doubt` keeps it (_doubt)
        self.narrow_veto = True
        self.second_calls = 0
        self.ticket = 0  # numbers each recognize() call; late answers carry it
        self.deferred = False  # the last recognize() handed its segment to the worker
        self._grammar: set[str] = set()
        self._jobs: queue.Queue[tuple[int, np.ndarray, list[Hypothesis]] | None] = queue.Queue()
        self._done: list[tuple[int, list[Hypothesis]]] = []
        self._lock = threading.Condition()
        self._pending = 0
        self._worker: threading.Thread | None = None
        self.error: BaseException | None = None  # the worker's crash, raised by late()
        self.load_error: str | None = None  # the second engine could not load (background)
        self._closing = threading.Event()
        self.ready = threading.Event()  # the second engine is loaded, or failed to load
        if self.second is not None:
            self.ready.set()
        self._second_grammar: list[str] = []
        if self.second is None:
            self._start_worker()  # it loads the second engine first

    def set_grammar(self, phrases: Sequence[str]) -> None:
        self._grammar = set(phrases)
        self.fast.set_grammar(phrases)
        if self.others in (Others.SECOND, Others.BOTH):
            grammar = list(phrases)
        else:
            grammar = [p for p in phrases if p in self.recall_phrases]
        with self._lock:
            self._second_grammar = grammar
            second = self.second
        if second is not None:
            second.set_grammar(grammar)

    def recognize(self, segment: np.ndarray) -> list[Hypothesis]:
        self.ticket += 1
        self.deferred = False
        hyps = self.fast.recognize(segment)
        safety = [h for h in hyps if h.phrase in self.recall_phrases]
        weighs = self.fast if isinstance(self.fast, WeighsNearWords) else None
        doubtful = weighs.contested if weighs is not None else set()
        if safety and (
            self._doubt(segment, safety) == Doubt.KEEP
            or self.second is None  # not loaded (yet): recall first, never wait for it
            or not isinstance(self.second, JudgesRivals)
            or any(h.phrase not in doubtful for h in safety)
        ):
            return safety  # stop/pain: the fast path, never delayed, over any other phrase
        if safety:  # only near-word-contested stop/pain: the second engine looks again
            return self._ask(segment, safety)
        if len(segment) > SECOND_MAX_S * RATE or (
            hyps and self.others in (Others.FAST, Others.BOTH)
        ):
            return hyps
        costs = weighs.last_costs if weighs is not None else None
        if self.gate is not None and costs and min(costs.values()) > self.gate:
            self.gated += 1
            return hyps
        return self._ask(segment, [])

    def glimpse(self, segment: np.ndarray) -> list[Hypothesis]:
        """base.Glimpses: the fast engine's stop/pain alone, never the second engine's (which
        would wait for a decode): a glimpse only ever adds a stop, the segment's own decode
        decides everything else. A stop/pain only a near word contests is left to that decode
        unless `doubt` keeps them."""
        if not isinstance(self.fast, Glimpses):
            return []
        safety = [h for h in self.fast.glimpse(segment) if h.phrase in self.recall_phrases]
        return [] if safety and self._doubt(segment, safety) != Doubt.KEEP else safety

    def first_look(self, segment: np.ndarray) -> list[Hypothesis]:
        """base.Glimpses: what `recognize` answers without the second engine — the fast
        engine's stop/pain (unless only a near word contests them and `doubt` asks), and its
        other intents where they are its to decide (`others` "fast" or "both"). [] where
        recognize would ask the second engine: the segment's own decode does."""
        if not isinstance(self.fast, Glimpses):
            return []
        hyps = self.fast.first_look(segment)
        safety = [h for h in hyps if h.phrase in self.recall_phrases]
        if safety:
            return [] if self._doubt(segment, safety) != Doubt.KEEP else safety
        return hyps if self.others in (Others.FAST, Others.BOTH) else []

    def _doubt(self, segment: np.ndarray, safety: list[Hypothesis]) -> Doubt:
        """What becomes of the fast engine's stop/pain `safety`: kept (KEEP) unless every one
        of them is one a near word explained better (WeighsNearWords.contested); those go by
        `doubt`, and with `narrow_veto` through a band-limited segment (band.narrow: a
        telephone) by VETO — there the "s" that tells "stop" from "top" is gone, and the near
        word's cheaper reading is as likely right (README "Listening": telephone-band false
        stops and pains 28 -> 23 of 457, no stop lost)."""
        weighs = self.fast if isinstance(self.fast, WeighsNearWords) else None
        if weighs is None or not all(h.phrase in weighs.contested for h in safety):
            return Doubt.KEEP
        if self.doubt == Doubt.KEEP and self.narrow_veto:
            from coach.listening.engines import band

            return Doubt.VETO if band.narrow(segment) else Doubt.KEEP
        return self.doubt

    def _ask(self, segment: np.ndarray, doubted: list[Hypothesis]) -> list[Hypothesis]:
        self.second_calls += 1
        if not self.background:
            return self._look_again(segment, doubted)
        with self._lock:
            self._pending += 1
        self._start_worker()
        self._jobs.put((self.ticket, np.array(segment, dtype=np.float32), doubted))
        self.deferred = True
        return []  # the answer comes from late()

    def _look_again(self, segment: np.ndarray, doubted: list[Hypothesis]) -> list[Hypothesis]:
        """The second engine's verdict; on `doubted` stop/pain (see DOUBTS) with "veto" they
        stand unless it, too, prefers their near word."""
        if doubted and self.doubt != Doubt.DECIDE:  # VETO, or KEEP's narrow_veto
            judge = self.second
            if not isinstance(judge, JudgesRivals) or not judge.prefers_rival(
                segment, [h.phrase for h in doubted]
            ):
                return doubted
        return self._second(segment)

    def _second(self, segment: np.ndarray) -> list[Hypothesis]:
        """The second engine's verdict (the fast one heard nothing it may decide): stop/pain
        always count; the other intents only with `others` "second" or "both"."""
        grammar = self._grammar
        if self.second is None:
            return []  # it could not load: the fast engine alone
        for h in self.second.recognize(segment):
            if h.phrase not in grammar or h.confidence < self.second_min_confidence:
                continue
            if h.phrase in self.recall_phrases or self.others in (Others.SECOND, Others.BOTH):
                return [h]
        return []

    # ---------------------------------------------------------------- background mode

    def _start_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threads.start(self._work, "coach-second-engine")

    def _load(self) -> None:
        """On the worker: load the second engine, then give it the grammar set meanwhile."""
        assert self._load_second is not None
        try:
            if self._closing.wait(LOAD_AFTER_S):
                return  # closed before it was needed
            try:
                second = self._load_second()
            except ModelError as e:
                self.load_error = e.message
                print(f"coach: {e.message}; listening with {self.fast.name} alone", file=sys.stderr)
                return
            with self._lock:
                second.set_grammar(self._second_grammar)
                self.second = second
        finally:
            self.ready.set()

    def _work(self) -> None:
        if self.second is None and self.load_error is None:
            try:
                self._load()
            except BaseException as e:  # handed to the listener thread by late()
                with self._lock:
                    self.error, self._pending = e, 0
                    self._lock.notify_all()
                return
        while (job := self._jobs.get()) is not None:
            ticket, segment, doubted = job
            try:
                got = self._look_again(segment, doubted)
            except BaseException as e:  # handed to the listener thread by late()
                with self._lock:
                    self.error, self._pending = e, 0
                    self._lock.notify_all()
                return
            with self._lock:
                self._done.append((ticket, got))
                self._pending -= 1
                self._lock.notify_all()

    def late(self) -> list[tuple[int, list[Hypothesis]]]:
        """Answers the worker finished since the last call: (ticket, hypotheses)."""
        if self.error is not None:
            raise self.error
        with self._lock:
            out, self._done = self._done, []
        return out

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until every queued segment is answered (end of a file); False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        self._closing.set()
        if self._worker is not None and self._worker.is_alive():
            self._jobs.put(None)
            self._worker.join(timeout=5.0)
