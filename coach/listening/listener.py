"""The listener: microphone blocks in, command detections out.

Per 20 ms block, the front (front.Front): remove the coach's own voice (echo.EchoCanceller, using
what the player played in the same block), voice-activity detection (vad.Vad), the user's voice
beginning. Then `hear()`, which ThreadedListener runs on its own thread: when a voiced segment ends, the engine
decodes it against the phrases of the intents that count right now (stop and pain always), with a
garbage path so ordinary words are rejected; then per-intent confidence thresholds, and the
self-hearing checks: a phrase the coach is saying itself (`speaking`) is dropped unless the mic
carries clearly more than the echo explains. A cascade engine in background mode answers some
segments later (`late()`); those answers are judged with what the listener knew when it asked.

Times in Detection are seconds on the listener's own sample count (blocks fed since reset).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from coach.audio.format import BLOCK, RATE
from coach.audio.levels import RoomNoise
from coach.intents import SAFETY_INTENTS, Intent
from coach.listening.declip import declip
from coach.listening.detection import Detection, VoiceActivity
from coach.listening.engines.base import Engine, Glimpses, Hypothesis, LateEngine
from coach.listening.front import ECHO_MARGIN_DB, Front, Heard
from coach.listening.langpack import LanguagePack
from coach.listening.vad import Segment, VadConfig

SPEAKING_TAIL_S = 1.0  # the coach's last words may still echo this long after the clip ends
LATE_WAIT_S = 30.0  # flush(): how long to wait for a background engine's last answers
FIRED_KEEP = 64  # segments remembered as having given their one command


@dataclass(frozen=True)
class _Asked:
    """What the listener knew when it handed a segment to a background engine."""

    seg_start: int
    expected: frozenset[Intent]
    own_voice: frozenset[str]  # phrases that would have been the coach's own voice then
    at: int  # sample index of the decoded audio's first sample (its hypotheses' times)


class Listener:
    """Streaming command listener over one Engine and one LanguagePack."""

    def __init__(
        self,
        engine: Engine,
        pack: LanguagePack,
        vad: VadConfig | None = None,
        thresholds: dict[Intent, float] | None = None,
        use_reference: bool = True,
    ) -> None:
        self.engine = engine
        # a cascade in background mode answers some segments later (engines/cascade_engine.py)
        self._late_engine = engine if isinstance(engine, LateEngine) and engine.background else None
        self.pack = pack
        self.engine_name = engine.name
        self.language = pack.code
        self.front = Front(vad, use_reference)
        key = getattr(engine, "threshold_key", engine.name)  # a cascade uses its fast engine's
        self._thresholds = {i: pack.threshold(i, key) for i in Intent}
        self._thresholds.update(thresholds or {})
        self._expected: set[Intent] = set(pack.intents)
        self._grammar: tuple[str, ...] = ()
        self._speaking: set[str] = set()
        self._speaking_until = 0  # sample index until which `_speaking` still applies
        self._echo_db: list[float] = []  # per block of the current VAD span
        self._res_db: list[float] = []
        self.segments = 0  # decoded segments (for benchmarks)
        self.glimpses = 0  # glimpses looked at (_glimpse; for benchmarks)
        self.declip = True  # clipped segments re-drawn first (declip.py; off: to measure it)
        self._voice: list[VoiceActivity] = []
        self._voice_on = False
        self.reset()
        self.expect(set(pack.intents))

    # ------------------------------------------------------------------ control

    def reset(self) -> None:
        """Forget all audio state (a new session or a new file); the sample count restarts at 0."""
        self.front.reset()
        self._pos = 0
        self._leak_db = self.front.echo.leak_db
        self._voice, self._voice_on = [], False
        self._voice_quiet = False  # the voice's words ended and that was reported (verdict=False)
        self._voice_seg: int | None = None  # the voice's segment, ended, its verdict awaited
        self._echo_db, self._res_db = [], []
        self._speaking_until = 0
        # the early look at the open segment: (start, voiced_end, held detections); whether it
        # already fired is `_fired`'s business
        self._early: tuple[int, int, list[Detection]] | None = None
        self._asked: dict[int, _Asked] = {}  # background engine: ticket -> what we knew
        self._latest: dict[int, int] = {}  # segment start -> ticket of its latest decode
        self._fired: dict[int, None] = {}  # segment starts that gave their one command
        # segment starts whose tail end gave a command other than stop/pain -> the strong end
        # of the words it heard: words said after it may still give a stop or pain, nothing else
        self._tail_fired: dict[int, int] = {}
        self._tails: dict[int, int] = {}  # segment start -> the strong end of its last tail end
        # (all are bounded: FIRED_KEEP entries, or popped when the answer comes)
        if self._late_engine is not None:
            self._late_engine.wait(LATE_WAIT_S)
            self._late_engine.late()  # about audio before the reset: dropped

    def expect(self, intents: Iterable[Intent]) -> None:
        """The intents that count now; stop and pain are always added."""
        want = {Intent(i) for i in intents} | set(SAFETY_INTENTS)
        self._expected = {i for i in want if i in self.pack.intents}
        phrases = tuple(sorted(self.pack.phrases(self._expected)))
        if phrases != self._grammar:
            self.engine.set_grammar(list(phrases))
            self._grammar = phrases

    @property
    def expected(self) -> set[Intent]:
        return set(self._expected)

    def speaking(self, text: str | None) -> None:
        """The cue the coach is saying now (None when silent): its command phrases are suppressed."""
        if text:
            self._speaking = {p for p, _ in self.pack.command_phrases_in(text)}
            self._speaking_until = 10**18
        else:
            self._speaking_until = self._pos + round(SPEAKING_TAIL_S * RATE)

    def close(self) -> None:
        """Stop a background engine's worker (a cascade's); other engines hold no thread."""
        if isinstance(self.engine, LateEngine):
            self.engine.close()

    def threshold(self, intent: Intent) -> float:
        return self._thresholds[intent]

    # ------------------------------------------------------------------ audio

    def feed(self, mic: np.ndarray, ref: np.ndarray | None = None) -> list[Detection]:
        """One block (any length; 20 ms expected) of mic audio and what the coach played in it."""
        return self.hear(self.front.process(mic, ref))

    def hear(self, h: Heard) -> list[Detection]:
        """One block that went through the front (here, or in the audio loop: ThreadedListener)."""
        self._leak_db = h.leak_db
        out: list[Detection] = []
        for seg in h.segments:
            out += self._segment(seg)
        if h.active or h.active_before:
            self._echo_db.append(-120.0 if h.echo_db is None else h.echo_db)
            self._res_db.append(h.res_db)
        if not h.active:
            self._echo_db, self._res_db = [], []
        self._pos += h.samples
        self._track_voice(h)
        return out + self._late()

    def _track_voice(self, h: Heard) -> None:
        """The voice begins at the front's onset. It has ended when the VAD's segment has and
        every decode of it has answered (a background engine's too): the words' verdict is in,
        so "no command" is a verdict, not a guess from the silence."""
        seg = self._voice_seg
        if self._voice_on and h.active and h.seg_start != seg:
            # new words while the last ones' verdict is still awaited: those have ended
            self._voice_on, self._voice_seg = False, None
            self._voice.append(VoiceActivity(False, self._pos / RATE, seg=_seg(seg)))
        if h.onset is not None:
            self._voice_on, self._voice_quiet = True, False
            self._voice_seg = h.seg_start
            self._voice.append(VoiceActivity(True, h.onset, seg=h.seg_start))
        elif not h.active and self._voice_on:
            seg = _seg(self._voice_seg)
            if not any(a.seg_start == self._voice_seg for a in self._asked.values()):
                self._voice_on, self._voice_seg = False, None
                self._voice.append(VoiceActivity(False, self._pos / RATE, seg=seg))
            elif not self._voice_quiet:
                self._voice_quiet = True  # told once per voice
                self._voice.append(VoiceActivity(False, self._pos / RATE, False, seg))

    def heard_voice(self) -> list[VoiceActivity]:
        """Voice onsets and ends since the last call (oldest first)."""
        out, self._voice = self._voice, []
        return out

    def flush(self) -> list[Detection]:
        """End of input: decode a segment still open (feeds a hangover of quiet blocks)."""
        out: list[Detection] = []
        quiet = RoomNoise(-100.0)  # a near-silent room, one noise for the whole hangover
        for _ in range(round(self.front.vad.config.hangover_s * RATE / BLOCK) + 1):
            if not self.front.vad.active:
                break
            out += self.feed(quiet.take(BLOCK))
        if self._late_engine is not None:
            self._late_engine.wait(LATE_WAIT_S)
            out += self._late()
        return out

    def _segment(self, seg: Segment) -> list[Detection]:
        """Decode once, early where possible.

        At a pause (`seg.final` False, ~60 ms of quiet) the words so far are decoded as if the
        pause had already lasted the whole hangover: the tail is padded to that length with the
        room from before the onset (real noise, never zeros), because the decoder's verdict
        depends on the trailing quiet (shorter tails measured 2x the false commands). Stop or
        pain from that look acts at once; anything else is held. When the segment then ends
        with no new speech, the held verdict is the segment's (no second decode: same CPU as
        before, and the decoder's adaptive state sees each segment once); when speech resumed
        ("slow ... down"), the whole segment is decoded as usual. A glimpse (`seg.glimpse`) may
        only add a stop or pain (`_glimpse`); a tail end (`seg.tail_end`) may answer any command
        from the engine's first look (`_tail_end`)."""
        told = self._tail_fired.get(seg.start)
        if seg.start in self._fired or (told is not None and seg.strong_end <= told):
            if seg.final and self._early is not None and self._early[0] == seg.start:
                self._early = None
            # this segment already gave its command (early look, tail end or a late answer),
            # and nothing was said after a tail end's
            return []
        seg = self._repaired(seg)  # only what is decoded: a segment that gave its command is not
        tail = self._tails.get(seg.start)
        if seg.tail_end and isinstance(self.engine, Glimpses):
            _remember(self._tails, seg.start, seg.strong_end)  # where later words begin
        if tail is not None and seg.strong_end > tail:
            # words after a tail end: a stop or pain in them, heard on their own
            got = self._after_tail(seg, tail)
            if got or told is not None:
                return got  # after a tail end's command nothing but a stop or pain
        if seg.tail_end:
            return self._tail_end(seg)
        if seg.glimpse:
            return self._glimpse(seg)
        if not seg.final:
            got = self._decode(self._padded(seg), seg.start)
            self._early = (seg.start, seg.voiced_end, got)
            return self._fire(seg.start, got) if got and got[0].intent in SAFETY_INTENTS else []
        early, self._early = self._early, None
        if early is not None and early[0] == seg.start:
            _, voiced_end, held = early
            if voiced_end == seg.voiced_end:
                # nothing was said after the pause: that look was the segment
                return self._fire(seg.start, held)
        return self._fire(seg.start, self._decode(seg.audio, seg.start))

    def _repaired(self, seg: Segment) -> Segment:
        """The segment with its clipped tops re-drawn (declip.py): both models misread them."""
        if not self.declip:
            return seg
        audio = declip(seg.audio)
        return seg if audio is seg.audio else replace(seg, audio=audio)

    def _padded(self, seg: Segment) -> np.ndarray:
        """An open segment as if its pause had lasted the whole hangover: the tail padded with
        the room from before the onset (real noise, never zeros)."""
        hang = round(self.front.vad.config.hangover_s * RATE)
        tail = seg.audio.size - (seg.voiced_end - seg.start)
        pre = seg.voiced_start - seg.start
        pad = seg.audio[: max(0, min(pre, hang - tail))]  # the room before the onset
        return np.concatenate((seg.audio, pad))

    def _glimpse(self, seg: Segment) -> list[Detection]:
        """A word's strong part has ended but the VAD still hears its tail (vad.VadConfig
        .glimpse_drop_db): a stop or pain heard in it acts now. Nothing else is kept from it,
        so every other verdict is the early look's and the segment's, as without glimpses."""
        if not isinstance(self.engine, Glimpses):
            return []
        self.glimpses += 1
        got = self._accept(self.engine.glimpse(self._padded(seg)), seg.start, self._expected, None)
        return self._fire(seg.start, got) if got and got[0].intent in SAFETY_INTENTS else []

    def _tail_end(self, seg: Segment) -> list[Detection]:
        """The word's fall has lasted a pause (vad.VadConfig.tail_end_s) while the segment is
        still open (a recording's hiss, a breath, the room's echo keep it so): answer now what
        the segment's end would. That is the early look's held verdict when it came after the
        fall and nothing was said since; otherwise the engine's first look (no second engine).
        A stop or pain is the segment's command; another is too, but words said after it may
        still give a stop or pain (`_after_tail`, `_fire`)."""
        if not isinstance(self.engine, Glimpses):
            return []
        early = self._early
        if early is not None and early[0] == seg.start and early[1] == seg.voiced_end:
            # (a stop or pain in it acted already.) Reading the word a second time instead
            # took near words for commands: the tune voices' "top" -> stop, "window" -> enough
            got = early[2]
        else:
            # as it is: its tail is a hangover long already (padding it with the quieter room
            # from before the onset read as one more phoneme after some real "no"s)
            got = self._accept(self.engine.first_look(seg.audio), seg.start, self._expected, None)
        if got and got[0].intent not in SAFETY_INTENTS:
            if seg.start in self._tail_fired:
                return []  # one command per segment; after it, only a stop or pain
            _remember(self._tail_fired, seg.start, seg.strong_end)
            return got
        return self._fire(seg.start, got)

    def _after_tail(self, seg: Segment, tail: int) -> list[Detection]:
        """A stop or pain in words said in the same segment after a tail end (sample `tail`,
        where the words it looked at ended): read on their own, from there on, because the
        engine rejects a stop with other words around it ("yes ... stop" read whole is no stop).
        Any other verdict stays the whole segment's."""
        cut = tail - seg.start
        if seg.glimpse or seg.tail_end:
            if not isinstance(self.engine, Glimpses):
                return []
            hyps = self.engine.glimpse(seg.audio[cut:] if seg.tail_end else self._padded(seg)[cut:])
            got = self._accept(hyps, tail, self._expected & set(SAFETY_INTENTS), None)
        else:
            audio = seg.audio if seg.final else self._padded(seg)
            got = self._decode(audio[cut:], seg.start, at=tail, safety_only=True)
        return self._fire(seg.start, got)

    def _fire(self, seg_start: int, got: list[Detection]) -> list[Detection]:
        """Pass on a segment's command, remembering that the segment has given it. After a
        tail end's command (other than stop/pain) only a stop or pain may follow."""
        if seg_start in self._tail_fired:
            got = [d for d in got if d.intent in SAFETY_INTENTS]
        if got:
            _remember(self._fired, seg_start, None)
        return got

    def _late(self) -> list[Detection]:
        """A background engine's answers (engines/cascade_engine.py), judged with what the
        listener knew when it asked: stop/pain at once; another intent only from the segment's
        latest decode, and held while the segment is still open, like an early look's."""
        out: list[Detection] = []
        if self._late_engine is None:
            return out
        for ticket, hyps in self._late_engine.late():
            asked = self._asked.pop(ticket, None)
            if asked is None or asked.seg_start in self._fired:
                continue
            got = self._accept(hyps, asked.at, asked.expected, asked.own_voice)
            if not got:
                continue
            if got[0].intent in SAFETY_INTENTS:
                out += self._fire(asked.seg_start, got)
            elif self._latest.get(asked.seg_start) == ticket:
                early = self._early
                if early is not None and early[0] == asked.seg_start:
                    self._early = (early[0], early[1], got)  # held till the segment ends
                else:
                    out += self._fire(asked.seg_start, got)
        return out

    def _decode(
        self, audio: np.ndarray, seg_start: int, at: int | None = None, safety_only: bool = False
    ) -> list[Detection]:
        """The engine's verdict on `audio` of the segment `seg_start`, which begins at sample
        `at` (default: the segment's start). `safety_only`: a stop or pain, or nothing (now
        and in a late answer), and the segment's latest decode stays the one before."""
        at = seg_start if at is None else at
        expected = self._expected & set(SAFETY_INTENTS) if safety_only else self._expected
        self.segments += 1
        hyps = self.engine.recognize(audio)
        if self._late_engine is not None:
            ticket = self._late_engine.ticket
            if not safety_only:
                _remember(self._latest, seg_start, ticket)  # this decode supersedes earlier ones
            if self._late_engine.deferred:
                own = frozenset(p for p in self._grammar if self._own_voice(p))
                self._asked[ticket] = _Asked(seg_start, frozenset(expected), own, at)
        return self._accept(hyps, at, expected, None)

    def _accept(
        self,
        hyps: list[Hypothesis],
        at: int,
        expected: Collection[Intent],
        own_voice: Collection[str] | None,
    ) -> list[Detection]:
        """Per-intent thresholds, the intents that count, the coach's own voice: one command
        (its times on the listener's clock: the decoded audio began at sample `at`)."""
        out = []
        # recall first: a stop or pain over its threshold wins over any other phrase of the
        # segment (as in a cascade), so a near command ("skip" for "stop") never takes its place
        hyps = sorted(hyps, key=lambda h: self.pack.intent_of(h.phrase) not in SAFETY_INTENTS)
        for h in hyps:
            intent = self.pack.intent_of(h.phrase)
            if intent is None or intent not in expected:
                continue
            if h.confidence < self._thresholds[intent]:
                continue
            if own_voice is not None and h.phrase in own_voice:
                continue
            if own_voice is None and self._own_voice(h.phrase):
                continue
            start = (at + round(h.start * RATE)) / RATE
            end = (at + round(h.end * RATE)) / RATE
            out.append(Detection(intent, h.phrase, start, end, round(h.confidence, 3)))
            break  # one command per segment
        return out

    def _own_voice(self, phrase: str) -> bool:
        """The coach is (or just was) saying this phrase and the mic does not carry clearly more."""
        if phrase not in self._speaking or self._pos > self._speaking_until:
            return False
        if not self._echo_db:
            return True
        echo = 10 * np.log10(np.mean(np.power(10.0, np.array(self._echo_db) / 10)) + 1e-12)
        res = 10 * np.log10(np.mean(np.power(10.0, np.array(self._res_db) / 10)) + 1e-12)
        return bool(res - echo < self._leak_db + ECHO_MARGIN_DB)


def _seg(start: int | None) -> int:
    return -1 if start is None else start


def _remember(d: dict[int, Any], key: int, value: object) -> None:
    """Insert into a small dict that keeps only its FIRED_KEEP newest entries."""
    d[key] = value
    while len(d) > FIRED_KEEP:
        del d[next(iter(d))]
