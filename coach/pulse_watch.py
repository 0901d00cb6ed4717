"""Notices when PulseAudio moves our microphone stream to another source.

When the microphone disappears (unplugged, its module unloaded), PulseAudio does not end the
capture stream: it moves it to the default source — which can be the speaker's monitor, so the
coach would hear only itself (measured: tests/test_faults.py). PortAudio reports nothing. This
watcher follows `pactl subscribe` and, on any change to sources or source-outputs, looks up which
source this process's capture stream is on; if that differs from the one it started on, `moved`
says so and the audio back end ends the session as a fault instead of listening to the wrong thing.
Without pactl or a PulseAudio server it does nothing (`available` is False).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading

_EVENT = re.compile(r"Event '(?:new|change|remove)' on (?:source|source-output) #\d+")


def _our_source(pid: int, env: dict[str, str] | None = None) -> str | None:
    """Name of the source this process's (first) capture stream is connected to, or None."""
    try:
        outs = subprocess.run(
            ["pactl", "list", "source-outputs"], capture_output=True, text=True, timeout=3, env=env
        ).stdout
        srcs = subprocess.run(
            ["pactl", "list", "short", "sources"],
            capture_output=True,
            text=True,
            timeout=3,
            env=env,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    names = {}
    for line in srcs.splitlines():
        parts = line.split("\t")
        if len(parts) > 1:
            names[parts[0]] = parts[1]
    for block in outs.split("\n\n"):
        if f'application.process.id = "{pid}"' in block:
            m = re.search(r"^\s*Source: (\d+)", block, re.M)
            if m:
                return names.get(m.group(1), f"#{m.group(1)}")
    return None


class SourceWatch:
    """Watches this process's capture stream; `moved` is a message once it left its source."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid or os.getpid()
        self.moved: str | None = None
        self.source: str | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None
        self.available = bool(shutil.which("pactl"))

    def start(self) -> SourceWatch:
        """Call once the capture stream is running."""
        if not self.available:
            return self
        self.source = _our_source(self.pid)
        if self.source is None:
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
        self._thread = threading.Thread(target=self._follow, name="coach-source-watch", daemon=True)
        self._thread.start()
        return self

    def _follow(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            if not _EVENT.search(line):
                continue
            now = _our_source(self.pid)
            # None: no capture stream of ours right now (being reopened); not a move. A stream
            # that is killed rather than moved is the audio back end's own (stall) business.
            if now is not None and now != self.source:
                self.moved = (
                    f"the microphone '{self.source}' went away "
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
