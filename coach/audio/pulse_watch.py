"""Notices when PulseAudio moves our microphone or speaker stream to another device.

When a device disappears (unplugged, its module unloaded), PulseAudio does not end our stream: it
moves it to the default device. For the microphone that can be the speaker's monitor, so the coach
would hear only itself (measured: tests/test_faults.py); for the speaker it can be a sink that feeds
the microphone, or one nobody hears (measured in CI: the coach kept prompting "say ready" into it
for 30 s). PortAudio reports neither. This watcher follows `pactl subscribe` and, on any change to
sources, sinks or our streams, looks up which source and sink this process's streams are on; if
one differs from where it started the audio back end is told, so it never talks or listens to the
wrong thing: the speaker gone (`moved`) ends the session as a fault; the microphone gone
(`take_mic_moved()`) is an unplugged mic, which the back end waits for on an output-only stream,
while this watch goes on following the speaker and whether the mic's source is there again
(`source_present`). Without pactl or a PulseAudio server it does nothing (`available` is False).
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import threading

_EVENT = re.compile(
    r"Event '(?:new|change|remove)' on (?:source|source-output|sink|sink-input) #\d+"
)
_ROLE = {"source": "microphone", "sink": "speaker"}


RETRY_S = 0.5  # a look pactl did not answer (a loaded machine: it times out) is tried again


def _pactl(args: list[str], env: dict[str, str] | None) -> str:
    """pactl's output; SubprocessError when it fails or takes over 3 s."""
    return subprocess.run(
        ["pactl", *args], capture_output=True, text=True, timeout=3, env=env, check=True
    ).stdout


def _listing(pid: int, kind: str, env: dict[str, str] | None = None) -> tuple[str | None, set[str]]:
    """(name of the `kind` ("source" or "sink") this process's first stream of that kind is on,
    or None when it has none; the names of all the server's `kind`s). Raises OSError or
    SubprocessError when pactl fails."""
    streams = "source-outputs" if kind == "source" else "sink-inputs"
    outs = _pactl(["list", streams], env)
    short = _pactl(["list", "short", f"{kind}s"], env).splitlines()
    names = {p[0]: p[1] for line in short if len(p := line.split("\t")) > 1}
    field = "Source" if kind == "source" else "Sink"
    for block in outs.split("\n\n"):
        if f'application.process.id = "{pid}"' in block:
            m = re.search(rf"^\s*{field}: (\d+)", block, re.M)
            if m:
                return names.get(m.group(1), f"#{m.group(1)}"), set(names.values())
    return None, set(names.values())


def _our_device(pid: int, kind: str, env: dict[str, str] | None = None) -> str | None:
    """Name of the `kind` ("source" or "sink") this process's first stream of that kind is
    connected to, or None (none, or pactl failed)."""
    try:
        return _listing(pid, kind, env)[0]
    except (OSError, subprocess.SubprocessError):
        return None


class StreamWatch:
    """Watches this process's capture and playback streams: `moved` is a message once the
    playback stream left its device (for good); `take_mic_moved()` one when the capture stream
    did (each time); `source_present` whether the source it started on exists now."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid or os.getpid()
        self.moved: str | None = None
        self.source_present = True
        self._mic_moved: str | None = None
        self._lock = threading.Lock()
        self.devices: dict[str, str] = {}  # "source"/"sink" -> where it started
        self._proc: subprocess.Popen[bytes] | None = None
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
                bufsize=0,  # unbuffered: select() sees every line that is not read yet
            )
        except OSError:
            self.available = False
            return self
        self._thread = threading.Thread(target=self._follow, name="coach-stream-watch", daemon=True)
        self._thread.start()
        return self

    def mic_elsewhere(self) -> str | None:
        """The source our capture stream is on now if it is not the one it started on."""
        now = _our_device(self.pid, "source") if "source" in self.devices else None
        return now if now is not None and now != self.source else None

    def take_mic_moved(self) -> str | None:
        """The message of a capture stream move seen since the last call (then None again)."""
        with self._lock:
            moved, self._mic_moved = self._mic_moved, None
        return moved

    def _follow(self) -> None:
        """Look after every event; a look pactl did not answer is tried again RETRY_S later
        (under load it can miss the 3 s timeout, and the move's events would be gone)."""
        assert self._proc is not None and self._proc.stdout is not None
        out = self._proc.stdout
        retry = False
        while not self.moved:
            if select.select([out], [], [], RETRY_S if retry else None)[0]:
                line = out.readline()
                if not line:
                    return  # pactl ended (the server went away)
                if not _EVENT.search(line.decode(errors="replace")):
                    continue
            retry = not self._look()

    def _look(self) -> bool:
        """Where our streams are, and whether the mic's source is there; False when pactl did
        not answer."""
        try:
            for kind, started in self.devices.items():
                now, names = _listing(self.pid, kind)
                if kind == "source":
                    self.source_present = started in names
                # None: no stream of ours right now (being reopened, or output only while the
                # mic is gone); not a move. A stream that is killed rather than moved is the
                # audio back end's own (stall) business.
                if now is None or now == started:
                    continue
                msg = f"the {_ROLE[kind]} '{started}' went away (the sound server switched to '{now}')"
                if kind == "sink":
                    self.moved = msg
                    return True
                with self._lock:
                    self._mic_moved = msg
        except (OSError, subprocess.SubprocessError):
            return False
        return True

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._proc = None
