"""The file back end: microphone from a WAV, speaker to a WAV, time counted in samples.

Runs as fast as the CPU allows, so a 20-minute session is tested in seconds and `coach export`
renders without waiting. After the mic WAV ends the microphone continues as a quiet seeded noise
floor, never digital zeros: a dead-flat signal is what a dead microphone looks like to the watchdog
(and zero padding hurts recognizers, docs/design-facts.md). The optional room echo mixes what the speaker
played back into the mic after a delay, so "the coach hears itself" is testable offline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from coach.audio.format import WavInfo, read_wav, wav_info, write_wav
from coach.audio.io import AudioIO
from coach.audio.levels import RoomNoise
from coach.errors import CoachError, UsageError

MIC_FILE_HINT = "give --mic-file a WAV recording of the microphone (PCM integer or float, any rate)"


def check_mic_file(path: Path | str) -> WavInfo:
    """Is `path` a microphone recording a session can use? Reads the header only (fast, before
    any speech is rendered). UsageError naming the file and the reason: missing, a folder, not a
    readable WAV (empty, cut short, another format), or no audio in it (a 0-frame WAV would
    otherwise run a whole session on the noise floor to `no-response`)."""
    try:
        info = wav_info(path)
    except CoachError as e:
        raise UsageError(e.message, hint=MIC_FILE_HINT) from None
    if info.frames == 0:
        if info.claimed_frames:
            raise UsageError(
                f"{info.path}: not a usable microphone recording: the file is cut short (its "
                f"header promises {info.claimed_frames / info.rate:.2f} s of audio, it holds none)",
                hint=MIC_FILE_HINT,
            )
        raise UsageError(
            f"{info.path}: not a usable microphone recording: it holds no audio (0 frames)",
            hint=MIC_FILE_HINT,
        )
    return info


class FileAudio(AudioIO):
    """Mic from `mic_wav` (any PCM WAV; None = noise floor only), speaker to `speaker_wav`.

    A `mic_wav` that cannot be used is refused here, when the back end is made (check_mic_file:
    UsageError), not at open() after all speech has been rendered."""

    realtime = False

    def __init__(
        self,
        mic_wav: Path | str | None = None,
        speaker_wav: Path | str | None = None,
        echo_gain: float = 0.0,
        echo_delay_s: float = 0.05,
        noise_floor_db: float = -60.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if mic_wav is not None:
            check_mic_file(mic_wav)
        if echo_delay_s < 0:
            raise CoachError(f"echo delay must be >= 0 s (got {echo_delay_s})")
        self.mic_wav = Path(mic_wav) if mic_wav is not None else None
        self.speaker_wav = Path(speaker_wav) if speaker_wav is not None else None
        self.echo_gain = float(echo_gain)
        self.echo_delay = round(echo_delay_s * self.rate)
        self.seed = seed
        self._mic = np.zeros(0, np.float32)
        self._mic_pos = 0
        self._room = RoomNoise(noise_floor_db, seed)  # the mic after its WAV ends
        self._echo = np.zeros(self.echo_delay, np.float32)  # delay line: played, not yet heard
        self._speaker: list[np.ndarray] = []
        self._open = False

    def open(self) -> None:
        self._mic = read_wav(self.mic_wav, self.rate) if self.mic_wav is not None else self._mic
        if self.speaker_wav is not None:
            d = self.speaker_wav.resolve().parent
            if not d.is_dir():
                raise CoachError(f"{self.speaker_wav}: folder {d} does not exist")
        self._open = True

    @property
    def mic_done(self) -> bool:
        """True once every sample of the mic WAV has been delivered."""
        return self._mic_pos >= len(self._mic)

    @property
    def speaker(self) -> np.ndarray:
        """Everything played so far (what the WAV will hold)."""
        return np.concatenate(self._speaker) if self._speaker else np.zeros(0, np.float32)

    def _exchange(self, out: np.ndarray) -> np.ndarray:
        if not self._open:
            raise CoachError("FileAudio.exchange() before open()")
        out = np.asarray(out, dtype=np.float32)
        n = len(out)
        mic = self._room.take(n)
        take = self._mic[self._mic_pos : self._mic_pos + n]
        if len(take):
            mic[: len(take)] = take  # the recording as it is; the noise floor only after it ends
            self._mic_pos += len(take)
        if self.echo_gain:
            line = np.concatenate((self._echo, out))
            mic += self.echo_gain * line[:n]
            self._echo = line[n:]
        if self.speaker_wav is not None:
            self._speaker.append(out.copy())
        return mic

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        if self.speaker_wav is not None:
            write_wav(self.speaker_wav, self.speaker, self.rate)
