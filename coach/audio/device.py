"""The real-device back end: one sounddevice duplex stream at 16 kHz mono float32.

Callback + FIFOs rather than blocking read/write (measured, README "audio"): the PortAudio callback
hands each mic block to an input FIFO and takes the next speaker block from an output FIFO that
`exchange()` keeps a small cushion deep. That gives a bounded, known speaker delay (so a cancel is
heard within cushion + one block), timeouts instead of hangs when the stream dies, and a timestamp
of the last mic frames for the watchdog. If the loop falls behind and the output FIFO runs dry,
silence is played and the same number of late samples is dropped when they arrive, so speech stays
aligned with the sample clock (a short gap, never drift).

When the microphone goes away but the speaker is still there (unplugged: PulseAudio moves our
capture stream elsewhere, coach/audio/pulse_watch.py), the duplex stream is replaced by an output-only
one whose callback hands silence to the input FIFO: exchange() keeps its pacing and returns
silence, `mic_missing()` says why, and the coach can still speak (coach/session/mic_outage.py). Once the
watch sees the mic's source again, and the speaker has been silent a moment (the switch is a short
gap), the duplex stream is opened again (tried every MIC_RETRY_S until it works).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Any

import numpy as np

from coach.audio.alsa_quiet import quiet_alsa
from coach.audio.buffers import SampleFifo, WallLock
from coach.audio.devices import NO_DEVICE_HINT
from coach.audio.io import AudioIO
from coach.audio.levels import RoomNoise
from coach.audio.pulse_watch import StreamWatch
from coach.audio.stream_close import STREAM_HUNG, exit_now_if_hung, let_go
from coach.errors import AudioDeviceError

__all__ = ["STREAM_HUNG", "DeviceAudio", "exit_now_if_hung"]  # (the CLI calls the last at exit)

# PortAudio's ALSA->PulseAudio path busy-polls at small latencies: measured CPU of one idle stream
# with blocksize 0 was 88 % at latency="low" (8 ms), 66 % at 20 ms, 24 % at 25 ms, 1 % at 30 ms.
# The busy stream starves the audio server on a shared 2-core machine and causes the underruns
# it is meant to avoid, so 30 ms it is (README "audio").
LATENCY_S = 0.03
OPEN_TIMEOUT_S = 5.0  # the first mic callback must arrive within this
WAIT_STEP_S = 0.05  # waits on the mic come back this often, to act on a signal (interrupts.py)
STALL_TIMEOUT_S = 2.0  # no mic frames this long: the stream is reopened (or the session ends)
# Reopening a stream: at most this many tries within RESTART_WINDOW_S, then AudioDeviceError. A
# reopened stream can itself abort or stay silent for a while when the audio server is starved
# (seen in CI), so one failed try is not the end; a device that is really gone fails every try.
MAX_RESTARTS = 4
RESTART_WINDOW_S = 60.0
# A stream that dies as it opens is tried again after this pause, then twice it, ...: back to back,
# all four tries of one open died within the same starved moment of the server (a test run with
# two CPU hogs and more beside them); the pauses give it 1.8 s in all to recover
OPEN_RETRY_PAUSE_S = 0.3
INPUT_CAP_S = 2.0  # mic audio kept if the loop stalls; older samples are dropped (counted)
MIC_RETRY_S = 1.0  # the mic gone: its source back, the duplex stream is tried this often
QUIET_BLOCKS = 5  # ... once the speaker was handed this many silent blocks (the cushion is 2)


class _StreamDied(AudioDeviceError):
    """A new stream ended before its first callback (PortAudio under a starved server)."""


class DeviceAudio(AudioIO):
    """A duplex stream on real (or PulseAudio virtual) devices; exchange() paces at real time."""

    realtime = True

    def __init__(
        self,
        input_device: int | str | None = None,
        output_device: int | str | None = None,
        latency: str | float = LATENCY_S,
        cushion_blocks: int = 2,
        realign: bool = False,
        stall_timeout_s: float = STALL_TIMEOUT_S,
    ) -> None:
        super().__init__()
        self.input_device = input_device
        self.output_device = output_device
        self.latency = latency
        self.cushion = max(0, cushion_blocks) * self.block
        self.stall_timeout_s = stall_timeout_s
        # Skip the speaker ahead after a stall (cues stay on the breath) at the price of the mic
        # falling behind the speaker by the skipped time (PulseAudio still delivers the stalled
        # mic audio, later): measured +0.8 s after 13 k samples of skips under heavy load, which
        # would misalign the listener's echo reference. Off by default: safety before timing.
        self.realign = realign
        self._stream: Any = None
        self._in = SampleFifo(round(INPUT_CAP_S * self.rate))
        self._out = SampleFifo(self.cushion + 64 * self.block)
        self._have_input = threading.Condition()
        self._last_input = 0.0  # time.monotonic() of the last mic frames
        self._debt = 0  # speaker samples the callback had to invent; dropped when they arrive
        self._debt_lock = threading.Lock()
        self.status = Counter[str]()  # PortAudio status flags and our own under/overruns
        self._error: str | None = None
        self._lock = WallLock(self.rate)
        self._dac_ok: bool | None = None  # does the host API give DAC times? (first callback)
        self._gen = 0  # which stream is current (finished callbacks of old ones are ignored)
        self.restarts = 0
        self._tries: deque[float] = deque()  # when recent reopen tries started
        self._room = RoomNoise(-60.0)  # fills a mic gap after lost time
        # notices PulseAudio moving our mic or speaker stream (see pulse_watch.py)
        self._watch: StreamWatch | None = None
        self._mic_gone: str | None = None  # why the mic is gone (an output-only stream meanwhile)
        self._mic_try_at = 0.0  # time.monotonic() of the next try to reopen it
        self._quiet = 0  # silent speaker blocks in a row

    # --- the PortAudio side (runs on its thread) ------------------------------------------
    def _out_callback(self, outdata: np.ndarray, frames: int, t, status) -> None:  # noqa: ANN001
        """The output-only stream's (the mic is gone): silence stands in for its frames."""
        self._callback(None, outdata, frames, t, status)

    def _callback(  # noqa: ANN001
        self, indata: np.ndarray | None, outdata: np.ndarray, frames: int, t, status
    ) -> None:
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
        mic = indata[:, 0] if indata is not None else np.zeros(frames, np.float32)
        if self._in.write(mic):
            self.status["mic_dropped"] += 1
        dac = float(getattr(t, "outputBufferDacTime", 0.0) or 0.0)
        if self._dac_ok is None:
            self._dac_ok = dac > 0
            if not self._dac_ok:
                self._lock = WallLock(self.rate, window_s=0.5, tolerance=self.block)
        stamp = dac if self._dac_ok else time.monotonic() - frames / self.rate
        behind = self._lock.update(frames, stamp) if self.realign else 0
        if behind:  # lost time: fill the mic gap with a quiet floor, skip the speaker ahead
            self.status["resyncs"] += 1
            self.status["resync_samples"] += behind
            gap = self._room.take(behind)
            self._in.write(gap)
            with self._debt_lock:
                self._debt += behind
        out = outdata[:, 0]
        with self._debt_lock:
            if self._debt:  # late speaker samples: skip them so what follows is on time
                self._debt -= self._out.drop(self._debt)
        got = self._out.read_into(out)
        if got < frames:
            out[got:] = 0.0
            if self.clock.samples > 0:  # before the first exchange silence is expected
                self.status["speaker_starved"] += 1
                self.status["starved_samples"] += frames - got  # played as silence, then skipped
                with self._debt_lock:
                    self._debt += frames - got
        with self._have_input:
            self._last_input = time.monotonic()
            self._have_input.notify_all()

    # --- the session side ---------------------------------------------------------------------
    def open(self) -> None:
        if self._stream is not None:
            return
        quiet_alsa()  # before PortAudio starts: ALSA's messages go to a debug log, not stderr
        try:
            import sounddevice as sd
        except OSError as e:
            raise AudioDeviceError(
                f"PortAudio is not installed ({e})", hint=NO_DEVICE_HINT
            ) from None
        try:
            devs = sd.query_devices()
        except sd.PortAudioError as e:
            raise AudioDeviceError(f"cannot list sound devices: {e}", hint=NO_DEVICE_HINT) from None
        if not any(d["max_input_channels"] for d in devs) or not any(
            d["max_output_channels"] for d in devs
        ):
            raise AudioDeviceError("no microphone or speaker found", hint=NO_DEVICE_HINT)
        self._out.write(np.zeros(self.cushion, np.float32))
        for attempt in range(1, MAX_RESTARTS + 1):
            try:
                self._start()
                break
            except _StreamDied:  # seen with the CPU saturated; a device that is missing fails
                if attempt == MAX_RESTARTS:  # to open or stays silent instead: not retried
                    raise
                self.status["open_retries"] += 1
                time.sleep(OPEN_RETRY_PAUSE_S * attempt)  # a signal still ends it (interrupts.py)
        self._in.drop(len(self._in))  # start from now: mic and speaker counted from the same block
        self._lock.reset()
        self.restarts = 0
        self._tries.clear()
        # if the mic or the speaker vanishes, PulseAudio moves our stream to another device
        # (the speaker's monitor: the coach would hear only itself); watch for that.
        self._watch = StreamWatch().start()

    def _start(self, first_input_s: float = OPEN_TIMEOUT_S) -> None:
        """Open and start a stream (output only while the mic is gone), and wait for its first
        callback."""
        import sounddevice as sd

        self._gen += 1
        gen = self._gen
        common: dict[str, Any] = {
            "samplerate": self.rate,
            "blocksize": 0,  # PortAudio picks: 32 ms each way vs 40 + 60 ms with 320
            "channels": 1,
            "dtype": "float32",
            "latency": self.latency,
            "finished_callback": lambda: self._finished(gen),
        }
        try:
            if self._mic_gone is None:
                device = (self.input_device, self.output_device)
                stream = sd.Stream(device=device, callback=self._callback, **common)
            else:
                stream = sd.OutputStream(
                    device=self.output_device, callback=self._out_callback, **common
                )
        except (sd.PortAudioError, ValueError) as e:
            raise AudioDeviceError(
                f"cannot open the sound devices: {e}", hint=NO_DEVICE_HINT
            ) from None
        self._last_input = 0.0
        self._error = None
        for attempt in (1, 2):  # a starved audio server can time out once ("Wait timed out")
            try:
                stream.start()
                break
            except sd.PortAudioError as e:
                if attempt == 2:
                    if not let_go(stream):
                        self.status["close_hung"] += 1
                    raise AudioDeviceError(
                        f"cannot start the audio stream: {e}",
                        hint="the sound server did not answer in time; if the machine is very "
                        "busy, try again. " + NO_DEVICE_HINT,
                    ) from None
                time.sleep(0.5)
        self._stream = stream
        deadline = time.monotonic() + first_input_s
        with self._have_input:  # in short waits: a signal another thread took is seen (interrupts)
            while self._last_input <= 0 and self._error is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._have_input.wait(min(left, WAIT_STEP_S))
        if self._last_input <= 0:
            died = self._error
            self._stream = None
            if not let_go(stream):
                self.status["close_hung"] += 1
            hint = (
                "check that a microphone is connected and not used exclusively by another program"
            )
            if died:
                raise _StreamDied(
                    f"the audio stream stopped as soon as it was opened ({died})", hint
                )
            raise AudioDeviceError(
                f"the microphone delivered nothing within {first_input_s:g} s of opening", hint
            )

    def _finished(self, gen: int) -> None:
        if gen == self._gen:  # not one we are closing (close() and _restart() move gen on)
            self._error = "the audio stream stopped"
            with self._have_input:
                self._have_input.notify_all()

    def _restart(self, reason: str) -> None:
        """PortAudio's ALSA layer can abort a stream, or stop calling back, when PulseAudio is
        starved of CPU or drops our stream (measured here): open a new one rather than end the
        session. Several tries, since a new stream can fail the same way while the server is
        still starved; gives up after MAX_RESTARTS tries within RESTART_WINDOW_S, or
        MAX_RESTARTS failed tries in a row however long they took (a frozen server makes each
        open wait ~30 s before it fails, measured)."""
        last: AudioDeviceError | None = None
        failed = 0
        while True:
            now = time.monotonic()
            while self._tries and now - self._tries[0] > RESTART_WINDOW_S:
                self._tries.popleft()
            if len(self._tries) >= MAX_RESTARTS or failed >= MAX_RESTARTS:
                n = max(len(self._tries), failed)
                raise AudioDeviceError(
                    f"{reason} and could not be restarted ({n} tries, the last: {last.message})"
                    if last
                    else f"{reason} again ({n} restarts within {RESTART_WINDOW_S:g} s)",
                    hint=last.hint if last else "check the sound device, then start again",
                )
            self._tries.append(now)
            self.restarts += 1
            self.status["restarts"] += 1
            self._drop_stream()
            try:
                self._start(first_input_s=self.stall_timeout_s)
                return
            except AudioDeviceError as e:
                last = e
                failed += 1

    def _drop_stream(self) -> None:
        """Let the current stream go (its late callbacks are ignored: a new generation)."""
        old, self._stream = self._stream, None
        self._gen += 1
        if old is not None and not let_go(old):
            self.status["close_hung"] += 1

    def mic_missing(self) -> str | None:
        """Why the microphone is gone while the speaker plays on (None: it is there)."""
        return self._mic_gone

    def _switch(self, mic_gone: str | None) -> None:
        """Close the stream and open the other kind: output only (`mic_gone`: why) or duplex.
        A duplex stream that does not open, or hears another source than the mic's: output only
        again, tried later; an output stream that does not open: reopened as after a stall
        (AudioDeviceError if that fails: the speaker is gone too)."""
        why = mic_gone or self._mic_gone or "the microphone went away"
        self._mic_gone, self._mic_try_at = mic_gone, time.monotonic() + MIC_RETRY_S
        self._drop_stream()
        try:
            self._start(first_input_s=self.stall_timeout_s)
            if mic_gone is None and self._watch is not None and self._watch.mic_elsewhere():
                raise AudioDeviceError("the reopened stream hears another source")
            self.status["mic_back" if mic_gone is None else "mic_lost"] += 1
            return
        except AudioDeviceError as e:
            if mic_gone is not None:
                self._restart(e.message)
                return
            self.status["mic_retries"] += 1
        self._switch(why)  # (the duplex stream, if it opened, is closed first)

    def _follow_mic(self, watch: StreamWatch, out: np.ndarray) -> None:
        """Once per exchange: an unplugged mic (the watch saw our capture stream moved) means
        output only; its source back, and the speaker silent for a moment, the duplex stream."""
        moved = watch.take_mic_moved()  # (while output only: a late report, dropped)
        if self._mic_gone is None:
            if moved:
                self._in.drop(len(self._in))  # what the moved stream heard: not the user
                self._switch(moved)
            return
        self._quiet = 0 if out.any() else self._quiet + 1
        back = watch.source_present and time.monotonic() >= self._mic_try_at
        if back and self._quiet >= QUIET_BLOCKS:
            self._switch(None)

    def seconds_since_input(self) -> float:
        """Seconds since mic frames last arrived (the mic watchdog's dead-stream signal)."""
        return time.monotonic() - self._last_input if self._last_input else float("inf")

    no_input_seconds = seconds_since_input  # the name the contract suggests

    def silence_queued(self, fade_s: float = 0.005) -> int:
        """The cushion is ~40 ms of speech already queued: on a stop it must not play out."""
        return self._out.fade_out(round(fade_s * self.rate))

    def _exchange(self, out: np.ndarray) -> np.ndarray:
        if self._stream is None:
            raise AudioDeviceError("DeviceAudio.exchange() before open()")
        out = np.asarray(out, dtype=np.float32)
        if self._watch is not None:
            if self._watch.moved:  # the speaker went away: nothing can be said
                raise AudioDeviceError(
                    self._watch.moved, hint="reconnect the device, then start the session again"
                )
            self._follow_mic(self._watch, out)
        with self._debt_lock:
            skip = min(self._debt, len(out))
            self._debt -= skip
        self._out.write(out[skip:])
        mic = np.empty(len(out), np.float32)
        got = 0
        deadline = time.monotonic() + self.stall_timeout_s
        while True:
            with self._have_input:
                got += self._in.read_into(mic[got:])
                if got == len(mic):
                    return mic
                reason = self._error
                left = deadline - time.monotonic()
                if reason is None and left > 0:
                    self._have_input.wait(min(left, WAIT_STEP_S))
                    continue
            self._restart(
                reason
                or f"the audio stream stalled: no microphone frames for {self.stall_timeout_s:g} s"
            )
            deadline = time.monotonic() + self.stall_timeout_s

    def close(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.stop()
        stream, self._stream = self._stream, None
        self._gen += 1
        if stream is not None and not let_go(stream):
            self.status["close_hung"] += 1
