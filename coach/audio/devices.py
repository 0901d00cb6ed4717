"""What sound devices PortAudio can see, which PulseAudio microphone and speaker are really
behind its "pulse"/"default" devices, and a clear explanation when there are none."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from coach.audio.alsa_quiet import quiet_alsa
from coach.errors import AudioDeviceError

NO_DEVICE_HINT = (
    "plug in or switch on a microphone and a speaker (or a headset) and check that they are not "
    "disabled in the sound settings; on a headless machine start the virtual devices with "
    "`scripts/virtual-audio start` and export the PULSE_SERVER it prints. Without devices, "
    "`coach demo` and `coach export` still work."
)
PULSE_NAMES = ("pulse", "default")  # PortAudio's ALSA devices that lead to PulseAudio


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


# --- what is really behind "pulse" and "default" ---------------------------------------------


@dataclass(frozen=True)
class PulseEnd:
    """One end (microphone = source, speaker = sink) as PulseAudio will connect it."""

    name: str | None  # None: the server has no default for it
    description: str | None  # the server's human name; None when there is no such device
    chosen_by: str  # "PULSE_SOURCE" / "PULSE_SINK" (environment) or "default" (the server's)
    available: tuple[str, ...] = ()  # every name of this kind the server has

    def problem(self, role: str) -> str | None:
        """What is wrong with this end for a session ("microphone"/"speaker"), or None."""
        if self.exists:
            return None
        has = f" (it has: {', '.join(self.available)})" if self.available else ""
        if self.name is None:
            return f"the sound server has no {role} to use{has}"
        var = f"{self.chosen_by}={self.name}" if self.chosen_by != "default" else self.name
        fix = (
            f"; unset {self.chosen_by} or set it to one of those"
            if self.chosen_by != "default"
            else ""
        )
        return f"the {role} {var} is not on the sound server{has}{fix}"

    @property
    def exists(self) -> bool:
        return self.description is not None

    def text(self) -> str:
        if self.name is None:
            return "none (the sound server has no default)"
        desc = (
            f" ({self.description})" if self.description and self.description != self.name else ""
        )
        why = f", from {self.chosen_by}" if self.chosen_by != "default" else ""
        missing = "" if self.exists else ", NOT FOUND on the sound server"
        return f"{self.name}{desc}{why}{missing}"


@dataclass(frozen=True)
class PulseRoute:
    server: str
    source: PulseEnd  # the microphone
    sink: PulseEnd  # the speaker


def _pactl(args: list[str], env: Mapping[str, str] | None) -> str | None:
    try:
        r = subprocess.run(
            ["pactl", *args],
            capture_output=True,
            text=True,
            timeout=3,
            env={**(env if env is not None else os.environ), "LC_ALL": "C"},  # untranslated
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout if r.returncode == 0 else None


def _descriptions(listing: str | None) -> dict[str, str]:
    """Name -> Description from `pactl list sources|sinks` (the long form, any pactl version)."""
    out: dict[str, str] = {}
    name = None
    for line in (listing or "").splitlines():
        m = re.match(r"\s*(Name|Description): (.*)$", line)
        if m and m.group(1) == "Name":
            name = m.group(2).strip()
            out[name] = name
        elif m and name is not None:
            out[name] = m.group(2).strip()
    return out


def pulse_route(env: Mapping[str, str] | None = None) -> PulseRoute | None:
    """Which PulseAudio source and sink a stream of this process lands on (PULSE_SOURCE /
    PULSE_SINK, else the server's defaults), from `pactl`. None when pactl is not installed or
    no PulseAudio server (or PipeWire's) answers: then nothing more can be said."""
    env = os.environ if env is None else env
    if shutil.which("pactl", path=env.get("PATH")) is None:
        return None
    info = _pactl(["info"], env)
    if info is None:
        return None
    fields = dict(re.findall(r"^([^:\n]+): (.*)$", info, re.M))
    ends = []
    for kind, var in (("source", "PULSE_SOURCE"), ("sink", "PULSE_SINK")):
        known = _descriptions(_pactl(["list", f"{kind}s"], env))
        chosen = env.get(var) or None
        name = chosen or fields.get(f"Default {kind.title()}")
        if name in ("", "@DEFAULT_SOURCE@", "@DEFAULT_SINK@"):
            name = fields.get(f"Default {kind.title()}")
        ends.append(
            PulseEnd(
                name,
                known.get(name) if name else None,
                var if chosen else "default",
                tuple(sorted(known)),
            )
        )
    return PulseRoute(fields.get("Server String", "?"), ends[0], ends[1])


def goes_to_pulse(d: Device, devices: list[Device]) -> bool:
    """PortAudio's ALSA "pulse" device always goes to PulseAudio; "default" does when the pulse
    ALSA plugin is loaded (it then lists "pulse" too and makes itself ALSA's default)."""
    names = {x.name for x in devices}
    return d.name == "pulse" or (d.name == "default" and "pulse" in names)


def server_problem(env: Mapping[str, str] | None = None) -> str | None:
    """Why no devices showed up, when PulseAudio is the likely reason (None when unknown)."""
    env = os.environ if env is None else env
    server = env.get("PULSE_SERVER")
    if shutil.which("pactl", path=env.get("PATH")) is None:
        if server:
            return f"PULSE_SERVER is set to {server}; is a sound server running there?"
        return None
    if _pactl(["info"], env) is not None:
        return None
    if server:
        return f"the sound server at PULSE_SERVER={server} does not answer"
    return "no sound server (PulseAudio or PipeWire) answers"


def explain_missing(devices: list[Device], env: Mapping[str, str] | None = None) -> str | None:
    """What a person reads when the microphone, the speaker or both are missing; None when both
    are there."""
    mic = any(d.inputs for d in devices)
    spk = any(d.outputs for d in devices)
    if mic and spk:
        return None
    if not mic and not spk:
        what = "no microphone and no speaker found: the coach can neither talk to you nor hear you"
    elif not mic:
        what = "no microphone found: the coach could talk, but not hear you say stop or pain"
    else:
        what = "no speaker found: the coach could not talk to you"
    why = server_problem(env)
    return what + (f" ({why})" if why else "")
