"""The cue player: clips in a queue, played one block at a time, cut off within a block.

The session calls `next_block()` once per audio exchange; the block it returns is exactly what the
speaker plays in that exchange, so it doubles as the sample-aligned echo reference the listener
gets (`ref=`). `cancel()` (stop/pain) fades the current clip out over a few milliseconds with a
raised cosine at the start of the next block — silence within one block and no click — and drops
everything queued. `cut_to_next()` does the same to what is queued so far but starts what is queued
after it right behind the fade, in the same block (a breath cue that must not wait behind an
acknowledgement). `set_level(db)` ("louder", "quieter": coach/session/comfort.py) scales every block from
the next one on; above 0 dB a soft limiter keeps the peaks under full scale (a clipped cue would
crackle). The hot path is numpy slicing only: no per-sample Python.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from coach.audio.format import BLOCK, RATE

FADE_S = 0.005  # 5 ms: long enough to avoid a click, short enough to be "at once"
HISTORY_S = 10.0  # how much of what was played the ring keeps
LIMIT_KNEE = 0.7  # above 0 dB, samples past this level are compressed smoothly toward 1.0


@dataclass
class _Item:
    clip: np.ndarray
    label: str
    pos: int = 0  # negative: samples of silence still to wait before the clip starts


def soft_limit(x: np.ndarray, knee: float = LIMIT_KNEE) -> np.ndarray:
    """Unchanged below `knee`; above it a tanh curve that approaches 1.0 and never reaches it."""
    a = np.abs(x)
    over = a > knee
    if not over.any():
        return x
    room = 1.0 - knee
    y = x.copy()
    y[over] = np.sign(x[over]) * (knee + room * np.tanh((a[over] - knee) / room))
    return y


def _fade(n: int) -> np.ndarray:
    """Raised-cosine gain from 1 to 0 over n samples."""
    return (0.5 * (1.0 + np.cos(np.pi * (np.arange(n) + 1) / (n + 1)))).astype(np.float32)


class Player:
    """Plays queued clips back to back. Not thread-safe: drive it from the audio loop."""

    def __init__(
        self,
        block: int = BLOCK,
        rate: int = RATE,
        fade_s: float = FADE_S,
        history_s: float = HISTORY_S,
    ) -> None:
        self.block = block
        self.rate = rate
        self._fade = _fade(max(1, round(fade_s * rate)))
        self._queue: deque[_Item] = deque()
        self._cancel = False
        self._hard = False
        self._cut = 0  # cut_to_next(): how many queued items the next block fades out and drops
        self._ring = np.zeros(max(block, round(history_s * rate)), np.float32)
        self._ring_pos = 0  # total samples ever played (write index = % len)
        self.played_samples = 0
        self.gain = 1.0  # the output level (set_level)

    def set_level(self, db: float) -> None:
        """The output level, dB against the clips as rendered, from the next block on."""
        self.gain = float(10 ** (db / 20))

    # --- control -------------------------------------------------------------------------
    def play(self, clip: np.ndarray, label: str = "", delay: int = 0) -> None:
        """Queue a clip; it starts when the previous one ends, after `delay` samples of silence
        (lets a caller place an onset on an exact sample inside a block)."""
        c = np.asarray(clip, dtype=np.float32).reshape(-1)
        self._queue.append(_Item(c, label, -max(0, int(delay))))

    def cancel(self, hard: bool = False) -> None:
        """Fade out what is playing within the next block and drop the queue. `hard`: no fade
        here, because the audio device already faded out what it held (it plays first)."""
        if self._queue:
            self._cancel = True
            self._hard = hard

    def cut_to_next(self) -> None:
        """Fade out what is playing and drop what is queued now; a clip queued after this call
        starts right after the fade, in the same block."""
        self._cut = len(self._queue)

    @property
    def queued_labels(self) -> list[str]:
        """Labels of the clip playing and those queued behind it, in order."""
        return [i.label for i in self._queue]

    @property
    def busy(self) -> bool:
        return bool(self._queue)

    @property
    def current_label(self) -> str | None:
        """Label of the clip playing (or waiting to start) now; None when idle."""
        return self._queue[0].label if self._queue else None

    @property
    def queued(self) -> int:
        return len(self._queue)

    def remaining_samples(self) -> int:
        """Samples until everything queued has been played."""
        return sum(len(i.clip) - i.pos for i in self._queue)

    # --- the hot path -----------------------------------------------------------------------
    def next_block(self) -> np.ndarray:
        """Exactly what the speaker plays in this exchange (BLOCK float32; zeros when idle)."""
        out = np.zeros(self.block, np.float32)
        if self._cancel:
            self._cancel, self._cut = False, 0
            if not self._hard:
                self._fade_head(out)
            self._queue.clear()
        else:
            filled = 0
            if self._cut:
                filled = self._fade_head(out)
                for _ in range(min(self._cut, len(self._queue))):
                    self._queue.popleft()
                self._cut = 0
            while filled < self.block and self._queue:
                item = self._queue[0]
                if item.pos < 0:  # waiting for its exact start
                    wait = min(-item.pos, self.block - filled)
                    item.pos += wait
                    filled += wait
                    continue
                chunk = item.clip[item.pos : item.pos + self.block - filled]
                out[filled : filled + len(chunk)] = chunk
                filled += len(chunk)
                item.pos += len(chunk)
                if item.pos >= len(item.clip):
                    self._queue.popleft()
        if self.gain != 1.0:
            out *= self.gain
            if self.gain > 1.0:
                out = soft_limit(out)
        self._remember(out)
        return out

    def _fade_head(self, out: np.ndarray) -> int:
        """The clip playing, faded out into the start of `out` (cancel, cut_to_next); the samples
        written (0 when nothing is playing or it has not started)."""
        item = self._queue[0] if self._queue else None
        if item is None or item.pos < 0:
            return 0
        tail = item.clip[item.pos : item.pos + len(self._fade)]
        n = min(len(tail), self.block)
        out[:n] = tail[:n] * self._fade[:n]
        return n

    # --- what was played ---------------------------------------------------------------------
    def _remember(self, out: np.ndarray) -> None:
        n = len(self._ring)
        i = self._ring_pos % n
        k = min(len(out), n - i)
        self._ring[i : i + k] = out[:k]
        if k < len(out):
            self._ring[: len(out) - k] = out[k:]
        self._ring_pos += len(out)
        self.played_samples += len(out)

    def history(self, samples: int | None = None) -> np.ndarray:
        """The last `samples` played (default: the whole ring), oldest first."""
        n = len(self._ring)
        have = min(self._ring_pos, n)
        want = have if samples is None else min(samples, have)
        end = self._ring_pos % n
        idx = (np.arange(end - want, end)) % n
        return self._ring[idx].copy()
