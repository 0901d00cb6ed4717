"""The CLI basics: version, help, and `coach devices` with and without sound devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coach import __version__
from tests.conftest import clip, coach_cli


def coach(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coach", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_version() -> None:
    r = coach("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"coach {__version__}"


def test_help_lists_commands() -> None:
    r = coach("--help")
    assert r.returncode == 0
    assert "devices" in r.stdout


@pytest.mark.audio
def test_devices_lists_virtual_devices(virtual_audio: dict[str, str]) -> None:
    r = coach("devices", env={**os.environ})
    assert r.returncode == 0, r.stderr
    assert "default" in r.stdout


def test_devices_without_any_sound_server_says_how_to_fix() -> None:
    # A real absence, not a mock: point PulseAudio at a socket that does not exist.
    env = {**os.environ, "PULSE_SERVER": "unix:/nonexistent/socket"}
    env.pop("PULSE_SINK", None)
    env.pop("PULSE_SOURCE", None)
    r = coach("devices", env=env)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert "virtual-audio" in r.stderr


def test_without_a_sound_server_the_message_says_what_is_wrong_and_what_to_do() -> None:
    env = {**os.environ, "PULSE_SERVER": "unix:/nonexistent/socket"}
    env.pop("PULSE_SINK", None)
    env.pop("PULSE_SOURCE", None)
    r = coach("devices", env=env)
    assert r.returncode == 1 and r.stdout == ""
    first, rest = r.stderr.split("\n", 1)
    assert first == (
        "coach: no microphone and no speaker found: the coach can neither talk to you nor hear "
        "you (the sound server at PULSE_SERVER=unix:/nonexistent/socket does not answer)."
    )
    assert rest.startswith("  what to do: plug in or switch on a microphone and a speaker")
    assert "none:" not in r.stderr


def _pactl(*args: str) -> str:
    return subprocess.run(["pactl", *args], capture_output=True, text=True, check=True).stdout


@pytest.mark.audio
def test_devices_name_the_pulseaudio_microphone_and_speaker(virtual_audio: dict[str, str]) -> None:
    """The virtual server's own devices, as PULSE_SOURCE/PULSE_SINK and as its defaults."""
    r = coach("devices", env={**os.environ})
    assert r.returncode == 0, r.stderr
    src, sink = virtual_audio["PULSE_SOURCE"], virtual_audio["PULSE_SINK"]
    assert f"  microphone: {src}, from PULSE_SOURCE\n" in r.stdout
    assert f"  speaker:    {sink}, from PULSE_SINK\n" in r.stdout
    server = virtual_audio["PULSE_SERVER"]
    assert f'"pulse" and "default" lead to the PulseAudio server {server}, which' in r.stdout
    assert 'The coach uses the devices marked <in out>: "default" (PulseAudio above).' in r.stdout
    env = {k: v for k, v in os.environ.items() if k not in ("PULSE_SOURCE", "PULSE_SINK")}
    r = coach("devices", env=env)
    assert r.returncode == 0, r.stderr
    assert f"  microphone: {_pactl('get-default-source').strip()}\n" in r.stdout
    assert f"  speaker:    {_pactl('get-default-sink').strip()}\n" in r.stdout
    r = coach("devices", "--json", env={**os.environ})
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert {(d["name"], d["pulse"]["source"], d["pulse"]["sink"]) for d in rows} == {
        ("pulse", src, sink),
        ("default", src, sink),
    }


@pytest.mark.audio
def test_a_pulse_source_that_is_not_there_is_named_with_the_choices(
    virtual_audio: dict[str, str],
) -> None:
    r = coach("devices", env={**os.environ, "PULSE_SOURCE": "no-such-mic"})
    assert r.returncode == 1
    assert "  microphone: no-such-mic, from PULSE_SOURCE, NOT FOUND on the sound server" in r.stdout
    assert r.stderr.startswith("coach: the microphone PULSE_SOURCE=no-such-mic is not on the sound")
    assert "(it has: " in r.stderr and virtual_audio["PULSE_SOURCE"] in r.stderr
    assert "unset PULSE_SOURCE" in r.stderr


@pytest.mark.audio
def test_devices_without_pactl_list_portaudio_names_only(
    virtual_audio: dict[str, str], tmp_path: Path
) -> None:
    r = coach("devices", env={**os.environ, "PATH": str(tmp_path)})  # no pactl on this PATH
    assert r.returncode == 0, r.stderr
    assert "default" in r.stdout and "PulseAudio server" not in r.stdout


def test_pactl_listing_descriptions_are_read() -> None:
    from coach.audio.devices import _descriptions

    listing = (
        "Source #0\n\tState: SUSPENDED\n\tName: alsa_input.usb-Blue-00.mono\n"
        "\tDescription: Yeti Stereo Microphone Mono\n\tDriver: module-alsa-card.c\n\n"
        "Source #1\n\tName: speaker.monitor\n\tDescription: Monitor of Null Output\n"
    )
    assert _descriptions(listing) == {
        "alsa_input.usb-Blue-00.mono": "Yeti Stereo Microphone Mono",
        "speaker.monitor": "Monitor of Null Output",
    }


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--engine", "nosuch"], "nosuch"),
        (["--lang", "xx"], "no language pack for 'xx'"),
    ],
)
def test_an_unknown_engine_or_language_is_a_usage_mistake(args: list[str], words: str) -> None:
    """Exit 2, as the README says of usage mistakes, with one clear line and no traceback."""
    for cmd in (["hear", str(clip("stop/stop_1eddce1d_nohash_3.wav"))], ["run", "trunk-rotation"]):
        r = coach_cli(*cmd, *args, timeout=120)
        assert r.returncode == 2, (cmd, r.stderr)
        assert words in r.stderr and "Traceback" not in r.stderr
