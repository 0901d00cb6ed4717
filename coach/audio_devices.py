"""What sound devices PortAudio can see, and a clear explanation when there are none."""

from __future__ import annotations

from dataclasses import dataclass

from .alsa_quiet import quiet_alsa
from .errors import AudioDeviceError

NO_DEVICE_HINT = (
    "no sound devices were found. Plug in or enable a speaker and a microphone; on a headless "
    "machine start the virtual devices with `scripts/virtual-audio start` and export the "
    "PULSE_SERVER it prints. Without devices, `coach demo` and `coach export` still work."
)


@dataclass(frozen=True)
class Device:
    index: int
    name: str
    inputs: int
    outputs: int
    default_rate: float
    is_default_input: bool
    is_default_output: bool


def list_devices() -> list[Device]:
    """All PortAudio devices. Raises AudioDeviceError if PortAudio itself is missing."""
    quiet_alsa()  # before PortAudio starts: ALSA's messages go to a debug log, not stderr
    try:
        import sounddevice as sd
    except OSError as e:  # libportaudio2 missing
        raise AudioDeviceError(
            f"PortAudio is not installed ({e})",
            hint="run ./scripts/start, or apt-get install libportaudio2",
        ) from None
    try:
        raw = sd.query_devices()
        din, dout = sd.default.device
    except sd.PortAudioError as e:
        raise AudioDeviceError(f"cannot query sound devices: {e}", hint=NO_DEVICE_HINT) from None
    out = []
    for i, d in enumerate(raw):
        out.append(
            Device(
                index=i,
                name=str(d["name"]),
                inputs=int(d["max_input_channels"]),
                outputs=int(d["max_output_channels"]),
                default_rate=float(d["default_samplerate"]),
                is_default_input=i == din,
                is_default_output=i == dout,
            )
        )
    return out


def require_duplex() -> tuple[Device, Device]:
    """The default input and output device, or AudioDeviceError saying how to get them."""
    devs = list_devices()
    ins = [d for d in devs if d.inputs > 0]
    outs = [d for d in devs if d.outputs > 0]
    if not ins or not outs:
        missing = "microphone" if not ins and outs else "speaker" if ins else "sound devices"
        raise AudioDeviceError(f"no {missing} found", hint=NO_DEVICE_HINT)
    din = next((d for d in ins if d.is_default_input), ins[0])
    dout = next((d for d in outs if d.is_default_output), outs[0])
    return din, dout
