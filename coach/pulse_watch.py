"""Notices when PulseAudio moves our microphone or speaker stream to another device.

When a device disappears (unplugged, its module unloaded), PulseAudio does not end our stream: it
moves it to the default device. For the microphone that can be the speaker's monitor, so the coach
would hear only itself (measured: tests/test_faults.py); for the speaker it can be a sink that feeds
the microphone, or one nobody hears (measured in CI: the coach kept prompting "say ready" into it
for 30 s). PortAudio reports neither. This watcher follows `pactl subscribe` and, on any change to
sources, sinks or our streams, looks up which source and sink this process's streams are on; if
one differs from where it started, `moved` says so and the audio back end ends the session as a
fault instead of talking or listening to the wrong thing. Without pactl or a PulseAudio server it
does nothing (`available` is False).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading

_EVENT = re.compile(r"Event '(?:new|change|remove)' on (?:source|source-output|sink|sink-input) #\d+")
_ROLE = {"source": "microphone", "sink": "speaker"}


def _pactl(args: list[str], env: dict[str, str] | None) -> str:
    return subprocess.run(
        ["pactl", *args], capture_output=True, text=True, timeout=3, env=env
    ).stdout


def _our_device(pid: int, kind: str, env: dict[str, str] | None = None) -> str | None:
    """Name of the `kind` ("source" or "sink") this process's first stream of that kind is
    connected to, or None."""
    streams = "source-outputs" if kind == "source" else "sink-inputs"
    try:
        outs = _pactl(["list", streams], env)
        devs = _pactl(["list", "short", f"{kind}s"], env)
    except (OSError, subprocess.SubprocessError):
        return None
    names = {}
    for line in devs.splitlines():
        parts = line.split("\t")
        if len(parts) > 1:
            names[parts[0]] = parts[1]
    field = "Source" if kind == "source" else "Sink"
    for block in outs.split("\n\n"):
        if f'application.process.id = "{pid}"' in block:
            m = re.search(rf"^\s*{field}: (\d+)", block, re.M)
            if m:
                return names.get(m.group(1), f"#{m.group(1)}")
    return None


class StreamWatch:
    """Watches this process's capture and playback streams; `moved` is a message once one of
    them left its device."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid or os.getpid()
        self.moved: str | None = None
        self.devices: dict[str, str] = {}  # "source"/"sink" -> where it started
        self._proc: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None
        self.available = bool(shutil.which("pactl"))

    @property
    def source(self) -> str | None:
        return self.devices.get("source")

    def start(self) -> StreamWatch:
        """Call once the streams are running."""
        if not self.available:
            return self
        for kind in _ROLE:
            where = _our_device(self.pid, kind)
            if where is not None:
                self.devices[kind] = where
        if not self.devices:
            self.available = False
            return self
        try:
            self._proc = subprocess.Popen(
                ["pactl", "subscribe"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        except OSError:
            self.available = False
            return self
        self._thread = threading.Thread(target=self._follow, name="coach-stream-watch", daemon=True)
        self._thread.start()
        return self

    def _follow(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            if not _EVENT.search(line):
                continue
            for kind, started in self.devices.items():
                now = _our_device(self.pid, kind)
                # None: no stream of ours right now (being reopened); not a move. A stream that
                # is killed rather than moved is the audio back end's own (stall) business.
                if now is not None and now != started:
                    self.moved = (
                        f"the {_ROLE[kind]} '{started}' went away "
                        f"(the sound server switched to '{now}')"
                    )
                    return

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._proc = None
