"""The audio stage: one small interface, AudioIO, and its back ends.

io (the interface: blocks of 20 ms in and out, a clock), device (PortAudio through sounddevice,
duplex), files (WAV in, WAV out, simulated time), format (rate, blocks, WAV files), buffers,
devices (which microphone and speaker), pulse_watch, stream_close and alsa_quiet (living with
PulseAudio and ALSA). Nothing here knows about sessions or words.
"""

from __future__ import annotations

from coach.audio.files import FileAudio
from coach.audio.format import BLOCK, RATE, read_wav, write_wav
from coach.audio.io import AudioIO

__all__ = ["AudioIO", "BLOCK", "FileAudio", "RATE", "read_wav", "write_wav"]
