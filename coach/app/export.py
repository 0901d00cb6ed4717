"""A whole session rendered to the speaker without listening (`coach export`, benchmarks): each
planned cue plays from its onset on the breath grid, through the same Player and AudioIO as a live
session, so the file holds what `coach run` would say when it would say it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from coach.audio.io import AudioIO
    from coach.exercise.choreography import PlannedCue
    from coach.speech.player import Player


def perform(
    io: AudioIO,
    player: Player,
    cues: Sequence[PlannedCue],
    end: int,
    extra: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[int]:
    """Play planned cues through `io`, each starting at its onset sample (after the previous
    clip if that one overruns). Returns the sample where each cue really started. `extra` is
    mixed into the speaker (tones). Runs until `end` and the player is idle."""
    order = sorted(cues, key=lambda c: c.onset)
    starts: list[int] = []
    k = 0
    s = 0
    block = io.block
    total_blocks = -(-end // block)
    while s < end or player.busy:
        while k < len(order) and order[k].onset < s + block:
            wait = player.remaining_samples()
            delay = max(0, order[k].onset - s - wait)
            player.play(order[k].fitted.clip, order[k].fitted.text, delay=delay)
            starts.append(s + wait + delay)
            k += 1
        out = player.next_block()
        if extra is not None and s < len(extra):
            seg = extra[s : s + block]
            out = out.copy()
            out[: len(seg)] += seg
            np.clip(out, -1.0, 1.0, out=out)
        io.exchange(out)
        s += block
        if progress and (s // block) % 50 == 0:
            progress(min(s // block, total_blocks), total_blocks)
    if progress:
        progress(total_blocks, total_blocks)
    return starts
