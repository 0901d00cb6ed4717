"""The audio I/O interface: one duplex endpoint, exchanged block by block.

Two back ends implement it (see audio_files.py and audio_device.py): real devices through one
sounddevice stream, and WAV files with a simulated clock. The session loop is the same for both:

    with io:
        while running:
            mic = io.exchange(speaker_block)   # one BLOCK of 16 kHz float32 each way

`io.clock` counts exchanged samples, so session time is exact on both back ends.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType

import numpy as np

from coach.audio.format import BLOCK, RATE
from coach.clock import SampleClock


class AudioIO(ABC):
    """A duplex audio endpoint. `exchange` plays one block and returns one block of microphone."""

    rate: int = RATE
    block: int = BLOCK
    realtime: bool = False  # True when exchange() waits for real audio hardware

    def __init__(self) -> None:
        self.clock = SampleClock(self.rate)

    @abstractmethod
    def open(self) -> None:
        """Acquire devices/files. Raises AudioDeviceError (or CoachError) with a fix."""

    @abstractmethod
    def _exchange(self, out: np.ndarray) -> np.ndarray:
        """Back-end specific: play `out` (BLOCK float32), return BLOCK float32 of mic input."""

    @abstractmethod
    def close(self) -> None:
        """Release everything; safe to call twice."""

    def silence_queued(self, fade_s: float = 0.005) -> int:
        """Silence speaker audio already handed over but not yet played (a stop jumps the queue).

        The samples stay (zeroed after a short fade), so the sample clock and the breath grid do
        not move. Returns how many samples were silenced; back ends with no queue return 0."""
        return 0

    def no_input_seconds(self) -> float:
        """Seconds since microphone frames last arrived (the mic watchdog's dead-stream signal);
        0 for a back end whose microphone never stalls."""
        return 0.0

    def mic_missing(self) -> str | None:
        """Why the microphone is gone while the speaker still plays (unplugged: exchange() then
        returns silence until it is back), or None while it is there."""
        return None

    def exchange(self, out: np.ndarray) -> np.ndarray:
        mic = self._exchange(out)
        self.clock.advance_samples(len(out))
        return mic

    def __enter__(self) -> AudioIO:
        self.open()
        return self

    def __exit__(
        self,
        et: type[BaseException] | None,
        ev: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
