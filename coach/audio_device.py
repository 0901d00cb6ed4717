"""The real-device back end: one sounddevice duplex stream at 16 kHz mono float32.

Callback + FIFOs rather than blocking read/write (measured, README "audio"): the PortAudio callback
hands each mic block to an input FIFO and takes the next speaker block from an output FIFO that
`exchange()` keeps a small cushion deep. That gives a bounded, known speaker delay (so a cancel is
heard within cushion + one block), timeouts instead of hangs when the stream dies, and a timestamp
of the last mic frames for the watchdog. If the loop falls behind and the output FIFO runs dry,
silence is played and the same number of late samples is dropped when they arrive, so speech stays
aligned with the sample clock (a short gap, never drift).
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import numpy as np

from .audio_devices import NO_DEVICE_HINT
from .audio_io import AudioIO
from .errors import AudioDeviceError

OPEN_TIMEOUT_S = 3.0  # the first mic callback must arrive within this
STALL_TIMEOUT_S = 2.0  # exchange() gives up (AudioDeviceError) when no mic frames come this long
INPUT_CAP_S = 2.0  # mic audio kept if the loop stalls; older samples are dropped (counted)


class _Fifo:
    """A lock-protected sample FIFO (float32), small and allocation-light."""

    def __init__(self, capacity: int) -> None:
        self.buf = np.zeros(capacity, np.float32)
        self.cap = capacity
        self.start = 0
        self.size = 0
        self.lock = threading.Lock()

    def write(self, x: np.ndarray) -> int:
        """Append; when full, the oldest samples are dropped. Returns how many were dropped."""
        with self.lock:
            x = x[-self.cap :]
            dropped = max(0, self.size + len(x) - self.cap)
            if dropped:
                self.start = (self.start + dropped) % self.cap
                self.size -= dropped
            end = (self.start + self.size) % self.cap
            k = min(len(x), self.cap - end)
            self.buf[end : end + k] = x[:k]
            self.buf[: len(x) - k] = x[k:]
            self.size += len(x)
            return dropped

    def read_into(self, out: np.ndarray) -> int:
        """Fill `out` from the front; returns how many samples there were (rest untouched)."""
        with self.lock:
            n = min(len(out), self.size)
            k = min(n, self.cap - self.start)
            out[:k] = self.buf[self.start : self.start + k]
            out[k:n] = self.buf[: n - k]
            self.start = (self.start + n) % self.cap
            self.size -= n
            return n

    def drop(self, n: int) -> int:
        with self.lock:
            n = min(n, self.size)
            self.start = (self.start + n) % self.cap
            self.size -= n
            return n

    def __len__(self) -> int:
        return self.size


class DeviceAudio(AudioIO):
    """A duplex stream on real (or PulseAudio virtual) devices; exchange() paces at real time."""

    realtime = True

    def __init__(
        self,
        input_device: int | str | None = None,
        output_device: int | str | None = None,
        latency: str | float = "low",
        cushion_blocks: int = 1,
        stall_timeout_s: float = STALL_TIMEOUT_S,
    ) -> None:
        super().__init__()
        self.input_device = input_device
        self.output_device = output_device
        self.latency = latency
        self.cushion = max(0, cushion_blocks) * self.block
        self.stall_timeout_s = stall_timeout_s
        self._stream: object | None = None
        self._in = _Fifo(round(INPUT_CAP_S * self.rate))
        self._out = _Fifo(self.cushion + 64 * self.block)
        self._have_input = threading.Condition()
        self._last_input = 0.0  # time.monotonic() of the last mic frames
        self._debt = 0  # speaker samples the callback had to invent; dropped when they arrive
        self._debt_lock = threading.Lock()
        self.status = Counter[str]()  # PortAudio status flags and our own under/overruns
        self._error: str | None = None

    # --- the PortAudio side (runs on its thread) ------------------------------------------
    def _callback(self, indata: np.ndarray, outdata: np.ndarray, frames: int, t, status) -> None:  # noqa: ANN001
        if status:
            for flag in (
                "input_underflow",
                "input_overflow",
                "output_underflow",
                "output_overflow",
                "priming_output",
            ):
                if getattr(status, flag, False):
                    self.status[flag] += 1
        if self._in.write(indata[:, 0]):
            self.status["mic_dropped"] += 1
        out = outdata[:, 0]
        got = self._out.read_into(out)
        if got < frames:
            out[got:] = 0.0
            if self.clock.samples > 0:  # before the first exchange silence is expected
                self.status["speaker_starved"] += 1
                with self._debt_lock:
                    self._debt += frames - got
        with self._have_input:
            self._last_input = time.monotonic()
            self._have_input.notify_all()

    # --- the session side ---------------------------------------------------------------------
    def open(self) -> None:
        if self._stream is not None:
            return
        try:
            import sounddevice as sd
        except OSError as e:
            raise AudioDeviceError(
                f"PortAudio is not installed ({e})", hint=NO_DEVICE_HINT
            ) from None
        try:
            if not any(d["max_input_channels"] for d in sd.query_devices()) or not any(
                d["max_output_channels"] for d in sd.query_devices()
            ):
                raise AudioDeviceError("no microphone or speaker found", hint=NO_DEVICE_HINT)
            stream = sd.Stream(
                samplerate=self.rate,
                blocksize=0,  # PortAudio picks (~4 ms here): 8 ms latency vs 40+60 ms at 320
                device=(self.input_device, self.output_device),
                channels=1,
                dtype="float32",
                latency=self.latency,
                callback=self._callback,
                finished_callback=self._finished,
            )
        except (sd.PortAudioError, ValueError) as e:
            raise AudioDeviceError(
                f"cannot open the sound devices: {e}", hint=NO_DEVICE_HINT
            ) from None
        self._out.write(np.zeros(self.cushion, np.float32))
        self._last_input = 0.0
        try:
            stream.start()
        except sd.PortAudioError as e:
            stream.close(ignore_errors=True)
            raise AudioDeviceError(
                f"cannot start the audio stream: {e}", hint=NO_DEVICE_HINT
            ) from None
        self._stream = stream
        with self._have_input:
            ok = self._have_input.wait_for(lambda: self._last_input > 0, OPEN_TIMEOUT_S)
        if not ok:
            self.close()
            raise AudioDeviceError(
                f"the microphone delivered nothing within {OPEN_TIMEOUT_S:g} s of opening",
                hint="check that a microphone is connected and not used exclusively by another program",
            )
        self._in.drop(len(self._in))  # start from now: mic and speaker counted from the same block

    def _finished(self) -> None:
        if self._stream is not None:
            self._error = "the audio stream stopped"
            with self._have_input:
                self._have_input.notify_all()

    def seconds_since_input(self) -> float:
        """Seconds since mic frames last arrived (the mic watchdog's dead-stream signal)."""
        return time.monotonic() - self._last_input if self._last_input else float("inf")

    no_input_seconds = seconds_since_input  # the name the contract suggests

    @property
    def output_delay_s(self) -> float:
        """Samples queued ahead of the speaker right now, in seconds (cushion + pending)."""
        return len(self._out) / self.rate

    def _exchange(self, out: np.ndarray) -> np.ndarray:
        if self._stream is None:
            raise AudioDeviceError("DeviceAudio.exchange() before open()")
        out = np.asarray(out, dtype=np.float32)
        with self._debt_lock:
            skip = min(self._debt, len(out))
            self._debt -= skip
        self._out.write(out[skip:])
        mic = np.empty(len(out), np.float32)
        got = 0
        deadline = time.monotonic() + self.stall_timeout_s
        with self._have_input:
            while True:
                got += self._in.read_into(mic[got:])
                if got == len(mic):
                    return mic
                if self._error:
                    raise AudioDeviceError(
                        self._error, hint="check the sound device, then start again"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AudioDeviceError(
                        f"the audio stream stalled: no microphone frames for {self.stall_timeout_s:g} s",
                        hint="the sound device may have been unplugged or taken by another program",
                    )
                self._have_input.wait(min(left, 0.5))

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop(ignore_errors=True)
            finally:
                stream.close(ignore_errors=True)
