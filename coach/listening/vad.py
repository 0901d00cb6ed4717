"""Streaming voice-activity detection over 20 ms blocks: energy against an adaptive noise floor.

Cheap on purpose (one mean-square per block) so the listener can run on every block in real time.
A segment carries real pre-roll audio from before the onset (never digital zeros: docs/design-facts.md says
zero padding hurts the recognizer badly) and ends after a hangover of quiet blocks. Before it ends,
two kinds of look at the words so far: an early look at a pause (60 ms under the floor's keep
level), and a glimpse where the words have fallen 30 dB under their loudest while still over the
floor (a recording's tail, a breath, reverberation: the VAD cannot tell those from more speech);
held as long as the hangover, that fall is a tail end: a pause for the engine's first look.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from coach.audio.format import BLOCK, RATE
from coach.audio.levels import level_db

BLOCK_S = BLOCK / RATE
DIGITAL_SILENCE_DB = -100.0  # no microphone delivers this: digital zeros, not a quiet room


@dataclass(frozen=True)
class VadConfig:
    start_db: float = 9.0  # above the noise floor: speech starts
    keep_db: float = 6.0  # above the noise floor: speech continues
    min_level_db: float = -55.0  # never speech below this absolute level
    hangover_s: float = 0.16  # quiet time that ends a segment (latency vs splitting "slow down")
    early_s: float = 0.06  # quiet time after which the segment so far is offered early (stop/pain)
    # a glimpse: the same time this far under the segment's loudest block, while still over the
    # floor (a recording's tail, a breath, the room's echo keep the VAD open after the word); the
    # listener may only *add* a stop or pain from it. None: no glimpses
    glimpse_drop_db: float | None = 30.0
    glimpse_max_s: float = 1.5  # no glimpse into speech longer than this: a sentence, not a command
    # a tail end: the same drop held this long is a pause too (as long as the hangover: a "t"
    # in "yesterday" is shorter), and the engine's first look may answer any command from it
    # while the VAD still hears the tail; None: no tail ends
    tail_end_s: float | None = 0.16
    preroll_s: float = 0.3  # real audio kept before the onset
    min_speech_s: float = 0.08  # shorter bursts (clicks) are dropped
    max_segment_s: float = 3.0  # longer speech is cut and decoded in pieces
    floor_window_s: float = 2.0  # the floor is the quietest block of this long (every block)
    initial_floor_db: float = -60.0  # ... and no higher than this until the window is full


@dataclass(frozen=True)
class Segment:
    """A voiced stretch: `audio` starts at sample `start` of the stream (pre-roll included)."""

    audio: np.ndarray
    start: int  # sample index of audio[0]
    voiced_start: int  # sample index of the onset
    voiced_end: int  # sample index just after the last loud block
    final: bool = True  # False: a pause inside a segment still open (an early look, see Vad)
    glimpse: bool = False  # a pause only relative to the word (VadConfig.glimpse_drop_db)
    tail_end: bool = False  # that pause held as long as a pause (VadConfig.tail_end_s)
    # sample index just after the last block within glimpse_drop_db of the loudest (-1: not
    # tracked): words said after a tail end move it
    strong_end: int = -1


class Vad:
    """Feed blocks (already echo-reduced); get complete segments back."""

    def __init__(self, config: VadConfig | None = None) -> None:
        self.config = config or VadConfig()
        self.reset()

    def reset(self) -> None:
        c = self.config
        self.floor_db: float | None = None
        self._levels: deque[float] = deque(maxlen=max(1, round(c.floor_window_s / BLOCK_S)))
        self._pre: deque[np.ndarray] = deque(maxlen=max(1, round(c.preroll_s / BLOCK_S)))
        self._seg: list[np.ndarray] = []
        self._seg_start = 0
        self._voiced_start = 0
        self._last_loud = 0
        self._quiet = 0
        self._loud_blocks = 0
        self._peak_db = -120.0  # the open segment's loudest block
        self._rel_quiet = 0  # blocks since one within glimpse_drop_db of that peak
        self._last_strong = 0  # sample index just after that block
        self._glimpsed = -1  # the _last_strong of the last glimpse
        self._tail_ended = -1  # ... and of the last tail end
        self._pos = 0  # samples seen

    @property
    def active(self) -> bool:
        return bool(self._seg)

    @property
    def loud_s(self) -> float:
        """Seconds of loud blocks in the open segment (0 when none is open)."""
        return self._loud_blocks * BLOCK_S if self._seg else 0.0

    @property
    def seg_start(self) -> int:
        """Sample index of the open segment's first sample (its pre-roll included)."""
        return self._seg_start

    @property
    def voiced_start(self) -> int:
        """Sample index of the open segment's onset."""
        return self._voiced_start

    def feed(self, block: np.ndarray, gate_db: float | None = None) -> list[Segment]:
        """One block. `gate_db` raises the start level (e.g. while the coach itself is talking)."""
        c = self.config
        lvl = level_db(block)
        n = len(block)
        out: list[Segment] = []
        self._track_floor(lvl)
        assert self.floor_db is not None
        start_at = max(self.floor_db + c.start_db, c.min_level_db)
        if gate_db is not None:
            start_at = max(start_at, gate_db)
        keep_at = max(self.floor_db + c.keep_db, c.min_level_db)
        if gate_db is not None:
            keep_at = max(keep_at, gate_db - (c.start_db - c.keep_db))
        if not self._seg:
            if lvl > start_at:
                self._seg = [*self._pre, block]
                self._seg_start = self._pos - sum(len(b) for b in self._pre)
                self._voiced_start = self._pos
                self._last_loud = self._pos + n
                self._quiet = 0
                self._loud_blocks = 1
                self._peak_db, self._rel_quiet, self._last_strong = lvl, 0, self._pos + n
            else:
                self._pre.append(block)
        else:
            self._seg.append(block)
            if lvl > keep_at:
                self._quiet = 0
                self._loud_blocks += 1
                self._last_loud = self._pos + n
            else:
                self._quiet += 1
            out += self._glimpse(lvl, lvl > keep_at)
            if (
                self._quiet
                and c.early_s < c.hangover_s
                and self._quiet == max(1, round(c.early_s / BLOCK_S))
                and self._loud_blocks * BLOCK_S >= c.min_speech_s
            ):
                # a pause: the words so far may be a whole "stop"; waiting for the hangover
                # would cost its difference in stop latency (the listener looks early)
                out.append(self._segment(final=False))
            seg_len = sum(len(b) for b in self._seg)
            if self._quiet * BLOCK_S >= c.hangover_s or seg_len >= c.max_segment_s * RATE:
                if self._loud_blocks * BLOCK_S >= c.min_speech_s:
                    out.append(self._segment(final=True))
                tail = self._seg[-self._pre.maxlen :] if self._pre.maxlen else []
                self._seg = []
                self._pre.clear()
                self._pre.extend(tail)
        self._pos += n
        return out

    def _glimpse(self, lvl: float, loud: bool) -> list[Segment]:
        """A glimpse, once per end of the word's strong part: the open segment has stayed
        glimpse_drop_db under its loudest block for early_s, and the VAD still hears this block
        over the floor (when it does not, the early look a block or two later is the look).
        The same drop held for tail_end_s gives a tail end, once as well: while the VAD still
        hears the tail, or once the early look has come (the tail fell under the floor), and
        not when the segment ends with this block anyway."""
        c = self.config
        if c.glimpse_drop_db is None:
            return []
        if loud and lvl > self._peak_db - c.glimpse_drop_db:
            self._peak_db = max(self._peak_db, lvl)
            self._rel_quiet, self._last_strong = 0, self._pos + len(self._seg[-1])
            return []
        self._rel_quiet += 1
        if (
            self._loud_blocks * BLOCK_S < c.min_speech_s
            or self._last_strong - self._voiced_start > c.glimpse_max_s * RATE
        ):
            return []
        if (
            c.tail_end_s is not None
            and self._rel_quiet >= max(1, round(c.tail_end_s / BLOCK_S))
            and self._tail_ended != self._last_strong
            and (loud or self._quiet > round(c.early_s / BLOCK_S))
            and self._quiet < round(c.hangover_s / BLOCK_S)
        ):
            self._tail_ended = self._glimpsed = self._last_strong
            return [self._look(tail_end=True)]
        if (
            loud
            and self._rel_quiet >= max(1, round(c.early_s / BLOCK_S))
            and self._glimpsed != self._last_strong
        ):
            self._glimpsed = self._last_strong
            return [self._look(tail_end=False)]
        return []

    def _look(self, tail_end: bool) -> Segment:
        """The open segment up to now: a glimpse, its words ending at their strong part, or a
        tail end (voiced to its last block over the floor, as an early look is)."""
        audio, strong = np.concatenate(self._seg), self._last_strong
        end = self._last_loud if tail_end else strong
        glimpse = not tail_end
        return Segment(
            audio, self._seg_start, self._voiced_start, end, False, glimpse, tail_end, strong
        )

    def _segment(self, final: bool) -> Segment:
        return Segment(
            np.concatenate(self._seg),
            self._seg_start,
            self._voiced_start,
            self._last_loud,
            final,
            strong_end=self._last_strong if self.config.glimpse_drop_db is not None else -1,
        )

    def _track_floor(self, lvl: float) -> None:
        """Minimum statistics over every block, speech included: the quietest 20 ms of the last
        2 s is the room. (Tracking only outside segments failed in a -50 dBFS room: the room
        itself was above the first floor, so the VAD stayed in one 3 s "segment" after another
        and a stop was decoded up to 3 s late.) Until the window is full the floor is held at
        `initial_floor_db` or below: a recording may start mid-word."""
        if lvl < DIGITAL_SILENCE_DB and self.floor_db is not None:
            # exact zeros (a dead capture, a virtual device with nothing playing) are no room:
            # the floor from before holds, so the room coming back is not taken for a voice
            return
        self._levels.append(max(lvl, -120.0))
        floor = min(self._levels)
        if len(self._levels) < (self._levels.maxlen or 1):
            floor = min(floor, self.config.initial_floor_db)
        self.floor_db = floor


PITCH_HZ = (70.0, 400.0)  # the range of a speaking voice's fundamental


def voicing(x: np.ndarray, rate: int = RATE) -> float:
    """How periodic `x` is at a voice's pitch: the highest normalized autocorrelation over lags
    of 2.5-14 ms (0: noise, 1: a steady vowel). Breath, hiss and most room noise are not voiced;
    a vowel is. Needs 30-40 ms of audio for the lowest pitches."""
    x = np.asarray(x, np.float64) - float(np.mean(x))
    n = len(x)
    lo, hi = round(rate / PITCH_HZ[1]), min(round(rate / PITCH_HZ[0]), n // 2)
    if hi <= lo:
        return 0.0
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spec = np.fft.rfft(x, size)
    r = np.fft.irfft(spec * np.conj(spec), size)[: hi + 1]
    e = np.concatenate(([0.0], np.cumsum(x * x)))
    lags = np.arange(lo, hi + 1)
    # energies of the two overlapping parts x[:n-l] and x[l:]
    norm = np.sqrt((e[n - lags] - e[0]) * (e[n] - e[lags])) + 1e-12
    return float(np.max(r[lags] / norm))


SIBILANT_HZ = 3000.0  # an "s" puts its energy above this; a vowel's is below


def sibilance(x: np.ndarray, rate: int = RATE) -> float:
    """The share of `x`'s energy above SIBILANT_HZ (0..1): the "s" that begins "stop" measured
    0.81-0.99 on the human clips, a vowel 0.01-0.05, white noise 0.62, breath near 0. A long "s"
    comes up to 200 ms before the vowel that `voicing` needs, so it is the earlier sign of a voice."""
    x = np.asarray(x, np.float64) - float(np.mean(x))
    power = np.abs(np.fft.rfft(x)) ** 2
    high = power[np.fft.rfftfreq(len(x), 1.0 / rate) >= SIBILANT_HZ].sum()
    return float(high / (power.sum() + 1e-20))
