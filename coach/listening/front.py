"""The listener's front: the coach's own echo removed, voice activity, and the user's voice beginning.

Per 20 ms block and cheap (a subtraction, a mean square, one short autocorrelation while a segment
opens), so on real devices it runs where the block arrives, in the audio loop: the user's voice
beginning hushes the coach even while a decode keeps the listener's own thread busy (two CPU hogs
beside the coach held the onset back 1.5-2 s behind a backlog of blocks). Everything after it (the
decodes, the verdicts, the voice's end) is listener.Listener.hear's, on whichever thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach.audio.format import BLOCK, RATE
from coach.audio.levels import level_db
from coach.listening.echo import EchoCanceller
from coach.listening.vad import Segment, Vad, VadConfig, sibilance, voicing

ECHO_MARGIN_DB = 10.0  # residual must exceed the echo's measured leak by this to be the user
VOICE_ONSET_S = 0.04  # loud this long (past the echo gate) before the user's voice counts as begun
VOICED = 0.6  # ... and voiced (vad.voicing) in one 40 ms window: breath noise peaked at 0.46
# ... or sibilant (vad.sibilance): an "s" before the vowel; white noise is 0.62
SIBILANT: float | None = 0.85


@dataclass(frozen=True)
class Heard:
    """One block through the front: what the decoding side needs of it."""

    samples: int  # the block's length
    echo_db: float | None  # the echo removed from it (None: the coach was not playing)
    res_db: float  # the level of what is left
    leak_db: float  # the echo canceller's measured leak after this block
    segments: tuple[Segment, ...]  # voiced segments (or early looks) this block completed
    active_before: bool  # a VAD segment was open before this block
    active: bool  # ... and after it
    seg_start: int  # the open segment's first sample (when active)
    onset: float | None  # the user's voice began in this block: at this many seconds


class Front:
    """Echo canceller, VAD and onset over one stream; the sample count restarts at reset()."""

    def __init__(self, vad: VadConfig | None = None, use_reference: bool = True) -> None:
        self.vad = Vad(vad)
        self.echo = EchoCanceller()
        self._use_reference = use_reference
        self.reset()

    def reset(self) -> None:
        self.vad.reset()
        self.echo.reset()
        self._voiced = False  # the open segment had a voiced (or sibilant) window
        self._onset_seg: int | None = None  # the segment whose onset was reported
        self._last_res = np.zeros(BLOCK, np.float32)

    def process(self, mic: np.ndarray, ref: np.ndarray | None = None) -> Heard:
        """One block of mic audio and what the coach played in the same block."""
        mic = np.asarray(mic, dtype=np.float32).reshape(-1)
        if self._use_reference:
            res, echo_db = self.echo.process(mic, ref)
        else:
            res, echo_db = mic, None
        gate = None if echo_db is None else echo_db + self.echo.leak_db + ECHO_MARGIN_DB
        active_before = self.vad.active
        segments = tuple(self.vad.feed(res, gate))
        return Heard(
            samples=len(mic),
            echo_db=echo_db,
            res_db=level_db(res),
            leak_db=self.echo.leak_db,
            segments=segments,
            active_before=active_before,
            active=self.vad.active,
            seg_start=self.vad.seg_start,
            onset=self._onset(res),
        )

    def _onset(self, res: np.ndarray) -> float | None:
        """A segment loud for VOICE_ONSET_S with a voiced window in it is the user's voice
        beginning, once per segment (the VAD's start level is raised above the coach's own echo
        while it speaks; voicing keeps breath and hiss from counting)."""
        vad = self.vad
        fresh = vad.active and vad.seg_start != self._onset_seg
        if fresh and not self._voiced:
            window = np.concatenate((self._last_res, res))
            self._voiced = voicing(window) >= VOICED or (
                SIBILANT is not None and sibilance(window) >= SIBILANT
            )
        self._last_res = res
        if fresh and self._voiced and vad.loud_s >= VOICE_ONSET_S - 1e-9:
            self._onset_seg = vad.seg_start
            return vad.voiced_start / RATE
        if not vad.active:
            self._voiced = False
        return None
