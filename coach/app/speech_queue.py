"""What the coach is about to say, and when: the session's Says become clips on the player.

The breath grid is kept here: a breath cue starts on time (it cuts what still plays and is
shortened to the time its phase has left, or skipped when nothing fits); an acknowledgement that
does not fit before its deadline waits for the gap after the next breath cue. A Cancel cuts within
the block, and what the session says right after it is queued once the cut took effect; a Hush
holds everything queued and says it again on Unhush. Each clip's first sample is a `cue` event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from coach.audio.format import RATE
from coach.errors import CoachError
from coach.exercise.choreography import fit
from coach.session.actions import Say
from coach.session.events import EventType

if TYPE_CHECKING:
    from coach.audio.io import AudioIO
    from coach.speech.player import Player

MAX_DEFERRALS = 2  # an acknowledgement waits for the gap after at most this many breath cues

Emit = Callable[[EventType, dict[str, Any], float], None]  # (type, detail, delay_s)


class SpeechQueue:
    """The runner's speaking half: Says in, clips on the player, `cue`/`skipped` events out."""

    def __init__(
        self,
        io: AudioIO,
        player: Player,
        clips: dict[tuple[str, float], np.ndarray],
        emit: Emit,
    ) -> None:
        self.io, self.player, self.clips, self._emit = io, player, clips, emit
        self._labels: dict[str, str] = {}
        self._gaps: dict[str, float] = {}
        self._grid: dict[str, float] = {}  # label -> the breath grid time its cue belongs to
        self._n = 0
        self._playing: str | None = None
        self._held: list[Say] = []  # Says issued right after a Cancel: queued after it takes effect
        self._says: dict[str, Say] = {}  # player label -> the Say it plays (a hush holds them)
        self._hushed: list[Say] | None = None  # a hush: what it held, said again on Unhush
        self._deferred: list[tuple[Say, int]] = []  # (say, times deferred): after the next cue
        self._cancelled = False

    def now(self) -> float:
        return self.io.clock.now()

    @property
    def hushed(self) -> bool:
        return self._hushed is not None

    # --- the session's speech actions ----------------------------------------------------------
    def cancel(self) -> None:
        self.cut()
        self._held.clear()
        self._hushed = None  # what a hush held goes too
        self._deferred.clear()

    def hush(self) -> None:
        held = [self._says[k] for k in self.player.queued_labels if k in self._says]
        self.cut()
        self._hushed = held + self._held
        self._held = []

    def unhush(self, replies: bool = True) -> None:
        """Say again what the hush held; without the replies (Says off the grid with a deadline:
        acknowledgements, answers) when `replies` is False."""
        held, self._hushed = self._hushed or [], None
        for s in held:
            if not replies and s.cue is None and s.until is not None:
                continue
            self._say_in_time(s, again=True)

    def say(self, a: Say) -> None:
        if self._hushed is not None:
            self._hushed.append(a)
        elif self._cancelled:
            self._held.append(a)
        else:
            self._say_in_time(a)

    # --- one block ---------------------------------------------------------------------------
    def next_block(self) -> tuple[np.ndarray, bool, str | None]:
        """The player's next block; whether what plays changed with it, and its text (None:
        nothing, or a sound that is no phrase)."""
        out = self.player.next_block()
        if self._cancelled:  # the cancel took effect in this block: now queue what follows it
            self._cancelled = False
            held, self._held = self._held, []
            for s in held:
                self._say(s)
        label = self.player.current_label
        if label == self._playing:
            return out, False, None
        self._playing = label
        text = self._labels.get(label) if label else None
        if label is not None and text is not None:  # its first sample plays now, after any gap
            gap = self._gaps.pop(label, 0.0)
            detail: dict[str, Any] = {"text": text}
            grid = self._grid.pop(label, None)
            if grid is not None:  # a breath cue: how far its first sample is from the grid
                detail["late_ms"] = round((self.now() + gap - grid) * 1000, 1)
            self._emit(EventType.CUE, detail, gap)
        return out, True, text

    def cut(self) -> None:
        """Cut the player within the block. What the device still holds must not play out
        either: it fades that out, and the player then stops without a fade of its own."""
        self.player.cancel(hard=self.io.silence_queued() > 0)
        self._cancelled = self.player.busy

    def _say_in_time(self, say: Say, deferred: int = 0, again: bool = False) -> None:
        """Queue a Say, keeping the breath grid. A breath cue (`on_grid`) starts on time: it cuts
        whatever else still plays, and is shortened to the time its phase has left, or skipped
        when nothing fits. A repeat (a Say with a cue, off the grid) does the same (skipped when
        nothing fits: after the next cue it would be stale). An acknowledgement that does not
        fit before `until` waits for the gap after the next breath cue (up to MAX_DEFERRALS
        cues), then is skipped: it never pushes a cue late."""
        if say.until is None:
            self._say(say)
            return
        now = self.now()
        if say.cue is not None and self.player.busy:  # a breath cue, or a repeat of one
            self.player.cut_to_next()
        else:
            now += self.player.remaining_samples() / RATE
        left = say.until - now
        on_grid = say.on_grid and not again  # (said again after a hush: late by design)
        grid = say.until - say.seconds if on_grid and say.seconds is not None else None
        if say.cue is not None:
            say = replace(say, seconds=left)
        if not self._fits(say, left):
            waits = MAX_DEFERRALS if say.waits is None else say.waits
            if say.cue is None and deferred < waits:  # (a repeat would be stale)
                self._deferred.append((say, deferred + 1))
            else:
                self._emit(EventType.SKIPPED, {"text": say.text, "left_s": round(left, 3)}, 0.0)
            return
        self._say(say, grid)
        if say.on_grid and self._deferred:
            waiting, self._deferred = self._deferred, []
            for s, n in waiting:
                self._say_in_time(replace(s, until=say.until), n)

    def _fits(self, say: Say, seconds: float) -> bool:
        if say.cue is not None:
            try:
                return fit(say.cue, seconds, self.clips).fits
            except KeyError:  # no fitted renderings: the full text (see _clip)
                pass
        return len(self.clips.get((say.text, 1.0), ())) / RATE <= seconds

    def _clip(self, say: Say) -> tuple[str, np.ndarray]:
        if say.cue is not None and say.seconds is not None:
            try:
                fitted = fit(say.cue, say.seconds, self.clips)
                return fitted.text, fitted.clip
            except KeyError:
                pass
        clip = self.clips.get((say.text, 1.0))
        if clip is None:
            raise CoachError(f"internal error: no speech rendered for {say.text!r}")
        return say.text, clip

    def _say(self, say: Say, grid: float | None = None) -> None:
        text, clip = self._clip(say)
        self._n += 1
        label = f"{self._n}"
        self._labels[label] = text
        self._says[label] = say
        self._says.pop(str(self._n - 64), None)  # labels count up: keep the last 64
        self._grid.pop(str(self._n - 64), None)  # (a cue a hush dropped before it began)
        if say.gap_s:
            self._gaps[label] = say.gap_s
        if grid is not None:
            self._grid[label] = grid
        self.player.play(clip, label, delay=round(say.gap_s * RATE))
