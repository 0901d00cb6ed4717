"""The audio rig is real: sound played through PortAudio reaches the virtual speaker's monitor, and
a WAV spoken into the virtual microphone reaches a PortAudio input stream."""

from __future__ import annotations

import time
import wave

import numpy as np
import pytest
import sounddevice as sd

from tests.audio_rig import Recorder, play_into_mic, rms

pytestmark = pytest.mark.audio
RATE = 16_000


def _tone(freq: float, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _dominant_freq(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / RATE)[int(np.argmax(spec))])


def test_output_stream_is_captured_from_speaker_monitor(virtual_audio: dict[str, str]) -> None:
    tone = _tone(880.0, 1.0)
    with Recorder("speaker.monitor") as rec:
        sd.play(tone, RATE, blocking=True)
        time.sleep(0.3)
    heard = rec.audio
    loud = heard[np.abs(heard) > 0.05]
    assert len(loud) > 0.5 * RATE, f"only {len(loud)} loud samples captured from the monitor"
    seg = heard[np.argmax(np.abs(heard) > 0.05) :][: RATE // 2]
    assert abs(_dominant_freq(seg) - 880.0) < 10
    assert 0.25 < rms(seg) < 0.5  # 0.5 amplitude sine -> rms 0.354


def test_wav_played_into_mic_is_heard_by_input_stream(
    virtual_audio: dict[str, str], tmp_path
) -> None:
    wav_path = tmp_path / "tone.wav"
    with wave.open(str(wav_path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((_tone(440.0, 0.8) * 32767).astype("<i2").tobytes())
    blocks: list[np.ndarray] = []
    first = []

    def callback(indata: np.ndarray, frames: int, t: object, status: object) -> None:
        blocks.append(indata[:, 0].copy())
        first.append(True)

    with sd.InputStream(samplerate=RATE, channels=1, dtype="float32", callback=callback):
        deadline = time.monotonic() + 5
        while not first and time.monotonic() < deadline:
            time.sleep(0.01)  # wait for the first input callback before feeding (docs/design-facts.md)
        assert first, "the input stream never delivered audio"
        play_into_mic(wav_path)
        time.sleep(0.3)
    heard = np.concatenate(blocks)
    loud = heard[np.abs(heard) > 0.05]
    assert len(loud) > 0.4 * RATE, f"only {len(loud)} loud samples reached the input stream"
    start = int(np.argmax(np.abs(heard) > 0.05))
    assert abs(_dominant_freq(heard[start : start + RATE // 2]) - 440.0) < 10
