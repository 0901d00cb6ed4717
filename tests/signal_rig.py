"""The machinery of tests/test_signals.py (and scripts/bench_signals.py): a real `coach run` on
the virtual audio devices taken to a moment of its session, then a signal, and the verdict.

A `Case` names the moment (`When`: a line on stderr, a state or a cue in the events file), what
the user says to get there (`Say`: espeak-ng speech played into the microphone), the signals, and
how the coach is started: SIGINT inherited ignored (a background job), or in a terminal of its
own (`Terminal`, a pseudo-terminal) that is then closed, as a person closes the window: the
kernel hangs it up, SIGHUP reaches the coach, and every later write to it fails (EIO).
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from coach.audio.format import RATE, write_wav
from coach.history.db import History
from coach.session import safety
from tests import ROOT
from tests.audio_rig import PrivateAudio, passed_safety_words, play_into_mic, pointing_at
from tests.conftest import espeak_wav

TTS_CACHE = ROOT / ".pytest_cache" / "tts"  # the speech cache the other tests share (conftest)
LOST_S = 10.0  # no end within this of the signal: it was lost (the target, 1 s, is measured)
OWN_LINE = re.compile(r"^(\[coach\] |coach: )")
XRUN_LINE = re.compile(
    r"^Expression '.*' failed in 'src/hostapi/alsa/pa_linux_alsa\.c', line: \d+$"
)
SIG = {"INT": signal.SIGINT, "TERM": signal.SIGTERM, "HUP": signal.SIGHUP}


# --- one case: a coach process, what the user says, and the signal -----------------------------


@dataclass(frozen=True)
class When:
    """A moment in a session: `kind` "stderr" (a regex on a line), "state" or "cue" (a prefix
    of its text), seen in the process's stderr or events file; then `after_s` seconds."""

    kind: str
    what: str
    after_s: float = 0.0


@dataclass(frozen=True)
class Say:
    """The user says `wav` at `when`, again (up to `tries` times) until the state is `until`."""

    when: When
    wav: str
    until: str
    tries: int = 3


@dataclass(frozen=True)
class Case:
    id: str
    signals: tuple[str, ...]  # "INT"/"TERM", sent 30 ms apart
    when: When
    expect: str | None  # the state at the signal (None: before any, speech being prepared)
    says: tuple[Say, ...] = ()
    args: tuple[str, ...] = ()
    fresh_cache: bool = False  # an empty speech cache: everything is rendered first
    ignore_sigint: bool = False  # start the coach with SIGINT ignored (as a background job)
    terminal: bool = False  # run it in a terminal (status line); the "signal" is closing that
    quick_routine: bool = False  # one intro breath: exercising ~25 s in (cues only)
    background: bool = False
    stall_at: When | None = None  # suspend the mic source then: the stream stalls (own server)


@dataclass
class Outcome:
    case: Case
    code: int | None = None
    seconds: float | None = None  # signal -> exit
    stderr: str = ""
    stderr_before: int = 0  # how much of it was written before the signal
    state: str | None = None  # the state when the signal went out
    cued: bool = False  # had the coach said anything then
    reason: str | None = None  # history
    failed: str | None = None  # a moment that never came
    log: list[str] = field(default_factory=list)


READY, PAUSE, PAIN, STOP = "I'm ready", "pause", "pain", "stop"
PROMPT = When("cue", safety.HEARING_PROMPT)
READY_AFTER_PROMPT = Say(When("cue", safety.HEARING_PROMPT, 2.6), READY, until="briefing")
PREPARING = r"preparing speech: 0/\d+"
PREPARED = r"preparing speech: (\d+)/\1$"
def launcher(ignore_sigint: bool = False, terminal: bool = False) -> list[str]:
    """`python -c SCRIPT`: the coach (exec'd, the same process) started with SIGHUP at its default,
    as a terminal starts it, whatever this test run was started with — under `nohup ./scripts/test`
    SIGHUP is inherited ignored, and the coach keeps an inherited ignored SIGHUP on purpose
    (`nohup coach run`), so every SIGHUP case failed there (measured). `ignore_sigint`: what a
    non-interactive shell does to a background job (`coach run ... &`); `terminal`: the coach's
    own session (setsid) with the terminal on its stdin as its controlling one."""
    lines = ["import fcntl, os, signal, sys, termios",
             "signal.signal(signal.SIGHUP, signal.SIG_DFL)"]  # fmt: skip
    if ignore_sigint:
        lines.append("signal.signal(signal.SIGINT, signal.SIG_IGN)")
    if terminal:
        lines.append("fcntl.ioctl(0, termios.TIOCSCTTY, 0)")
    lines.append("os.execv(sys.executable, [sys.executable, '-m', 'coach', *sys.argv[1:]])")
    return [sys.executable, "-c", "\n".join(lines)]


class Terminal:
    """A pseudo-terminal for the coach's stdin, stdout and stderr, as a terminal window is; what
    it shows is copied to `copy_to` as it comes (a window's scrollback). close() is closing the
    window: the kernel hangs the terminal up, sends SIGHUP to the coach (the leader of the
    session it controls), and every later write to it fails with EIO."""

    def __init__(self, copy_to: Path) -> None:
        self.master, self.slave = os.openpty()
        self._copy_to = copy_to.open("wb")
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._copy, name="terminal", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        while not self._done.is_set():
            if not select.select([self.master], [], [], 0.02)[0]:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:  # the coach has closed its end (it exited)
                break
            if not data:
                break
            self._copy_to.write(data)
            self._copy_to.flush()

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=2)
        os.close(self.master)
        self._copy_to.close()


def quick_routine(folder: Path) -> Path:
    """Trunk rotation with one intro breath (its texts, so its speech is in the cache)."""
    text = (ROOT / "coach" / "routines" / "trunk-rotation.toml").read_text()
    head, rest = text.split("[[intro]]", 1)
    cycle = rest[rest.index("[[cycle]]") :]
    intro = '[[intro]]\ntext = "Lie on your back, on a bed, a couch or the floor."\n'
    intro += 'short = "Lie on your back."\nbreaths = 1\n\n'
    path = folder / "trunk-rotation-quick.toml"
    path.write_text(
        head.replace('id = "trunk-rotation"', 'id = "trunk-rotation-quick"') + intro + cycle
    )
    return path


def words() -> dict[str, str]:
    """The user's words: espeak-ng, a voice the bundled recognizer hears well."""
    return {w: str(espeak_wav(w, "en-us", 130, 50)) for w in (READY, PAUSE, PAIN, STOP)}


class Watch:
    """Reads a running coach's stderr file and events file as they grow."""

    def __init__(self, err: Path, events: Path) -> None:
        self.err, self.events = err, events
        self.lines: list[str] = []
        self.seen: list[dict[str, object]] = []

    def poll(self) -> None:
        if self.err.exists():
            self.lines = self.err.read_text(errors="replace").splitlines()
        part = self.events.with_name(self.events.name + ".part")
        for p in (part, self.events):
            if p.exists():
                rows = p.read_text().splitlines()
                self.seen = [json.loads(r) for r in rows if r.endswith("}")]
                break

    def state(self) -> str | None:
        states = [e["state"] for e in self.seen if e["type"] == "state"]
        return str(states[-1]) if states else None

    def hit(self, w: When) -> bool:
        if w.kind == "stderr":
            return any(re.search(w.what, line) for line in self.lines)
        if w.kind == "state":
            return any(e["type"] == "state" and e["state"] == w.what for e in self.seen)
        return any(e["type"] == "cue" and str(e["text"]).startswith(w.what) for e in self.seen)


def run_case(case: Case, tmp: Path, env: dict[str, str], wavs: dict[str, str]) -> Outcome:
    """One coach process, taken to the case's moment, then the signal; returns what happened."""
    out = Outcome(case)
    events, db, err = tmp / "events.jsonl", tmp / "h.sqlite3", tmp / "stderr.txt"
    cache = tmp / "cache" if case.fresh_cache else TTS_CACHE
    routine = str(quick_routine(tmp)) if case.quick_routine else "trunk-rotation"
    cmd = [*launcher(case.ignore_sigint, case.terminal), "run", routine, "--tempo", "10"]
    cmd += ["--events", str(events), "--db", str(db), *case.args]
    if not case.terminal:
        cmd.append("--plain")  # in a terminal: its status line, as a person sees it
    env = {**env, "COACH_CACHE_DIR": str(cache), "COACH_DATA_DIR": str(tmp / "data"),
           "COACH_CONFIG_DIR": str(tmp / "config")}  # fmt: skip
    passed_safety_words(tmp / "data", env)  # not the first session here: it begins after "ready"
    term: Terminal | None = None
    if case.terminal:
        term = Terminal(err)
        tty = term.slave
        p = subprocess.Popen(cmd, stdin=tty, stdout=tty, stderr=tty, env=env, cwd=ROOT,
                             start_new_session=True)  # fmt: skip
        os.close(tty)
    else:
        with err.open("w") as err_f:
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err_f, env=env, cwd=ROOT)
    watch = Watch(err, events)
    t0 = time.monotonic()
    try:

        def wait_for(w: When, limit: float) -> bool:
            end = time.monotonic() + limit
            while time.monotonic() < end and p.poll() is None:
                watch.poll()
                if watch.hit(w):
                    time.sleep(w.after_s)
                    return True
                time.sleep(0.01)
            return False

        for say in case.says:
            if not wait_for(say.when, 90):
                out.failed = f"never came: {say.when}"
                return out
            for _ in range(say.tries):
                play_into_mic(wavs[say.wav])
                if wait_for(When("state", say.until), 4.0):
                    break
            else:
                out.failed = f"{say.wav!r} was never heard (no {say.until!r})"
                return out
        if case.stall_at is not None:
            if not wait_for(case.stall_at, 90):
                out.failed = f"never came: {case.stall_at}"
                return out
            subprocess.run(["pactl", "suspend-source", "mic", "1"], env=env, check=True, timeout=10)
        if not wait_for(case.when, 120):
            out.failed = f"never came: {case.when}"
            return out
        watch.poll()
        out.state, out.cued = watch.state(), any(e["type"] == "cue" for e in watch.seen)
        out.log = [f"{time.monotonic() - t0:.2f} s: {case.signals} in {out.state}"]
        out.stderr_before = len(err.read_text(errors="replace"))
        t_sig = time.monotonic()
        if term is not None:  # the window is closed: the kernel sends the SIGHUP
            term.close()
            term = None
        for i, name in enumerate(case.signals if not case.terminal else ()):
            if i:
                time.sleep(0.03)
            p.send_signal(SIG[name])
        while p.poll() is None and time.monotonic() < t_sig + LOST_S:
            time.sleep(0.005)
        if p.poll() is not None:
            out.seconds = time.monotonic() - t_sig
    finally:
        if p.poll() is None:
            p.kill()
        out.code = p.wait(timeout=30)
        if term is not None:
            term.close()
        out.stderr = err.read_text(errors="replace")
    if db.exists():
        with History(db, create=False) as h:
            s = h.sessions()
        out.reason = s[-1].end_reason if s else None
    return out


def report(out: Outcome) -> None:
    """The measured time (the 1 s target), and PortAudio's poll errors, before and after the
    signal (seen mostly at the device open, with the machine at load 5 and more)."""
    s = "lost" if out.seconds is None else f"{out.seconds * 1000:.0f} ms"
    print(f"{out.case.id}: signal -> exit {s};", *out.log)
    lines = out.stderr.splitlines()
    before = len(out.stderr[: out.stderr_before].splitlines())
    xruns = [i for i, line in enumerate(lines) if XRUN_LINE.match(line)]
    if xruns:
        after = sum(i >= before for i in xruns)
        print(f"  PortAudio poll errors on stderr: {len(xruns) - after} before, {after} after")


def check(out: Outcome) -> None:
    """The verdict on one case (see the module doc)."""
    c = out.case
    tail = out.stderr[-1500:]
    assert out.failed is None, f"{c.id}: {out.failed}\n{tail}"
    if c.expect is None:  # while preparing: no state yet (or, before the prompt, nothing said)
        assert out.state is None and not out.cued, f"{c.id}: too late, already {out.state}"
    else:
        assert out.state == c.expect, f"{c.id}: the signal came in {out.state}, not {c.expect}"
    assert out.seconds is not None, f"{c.id}: still running {LOST_S:g} s after {c.signals}\n{tail}"
    assert out.code == 130, f"{c.id}: exit {out.code}\n{tail}"
    assert out.reason == "stopped", f"{c.id}: history says {out.reason!r}\n{tail}"
    assert "Traceback" not in out.stderr, tail
    if c.terminal:  # closed: what the coach wrote after the signal went nowhere (EIO)
        shown = out.stderr[: out.stderr_before]
        assert "breaths/min" in shown, f"{c.id}: no status line in the terminal:\n{shown[-500:]}"
        return
    lines = out.stderr.splitlines()
    foreign = [line for line in lines if not OWN_LINE.match(line)]  # PortAudio's: see report
    assert not foreign, f"{c.id}: not the coach's lines on stderr: {foreign}"
    assert out.stderr.rstrip().endswith("coach: interrupted"), tail


# --- fixtures --------------------------------------------------------------------------------


@contextmanager
def live_room(audio_dir: str) -> Iterator[dict[str, str]]:
    """A virtual-audio server of our own with a quiet room's noise in its mic (a real mic is
    never digitally silent: the mic watchdog would take that for a dead one), and os.environ
    pointing at it for paplay. Yields the environment for the coach."""
    from coach.app.demo import mic_track

    server = PrivateAudio(audio_dir)
    try:
        with pointing_at(server.env), tempfile.TemporaryDirectory(prefix="coach-room-") as d:
            room = Path(d) / "room.wav"
            write_wav(room, mic_track([], 600.0, noise_db=-50.0), RATE)
            noise = play_into_mic(room, wait=False)
            try:
                yield {**os.environ, **server.env}
            finally:
                noise.kill()
                noise.wait()
    finally:
        server.stop()


def start_in_background(
    cases: list[Case], folder: Callable[[str], Path], env: dict[str, str]
) -> dict[str, Callable[[], Outcome]]:
    """Start each case on its own thread now; returns a join (-> its Outcome) per case id."""
    wavs = words()
    results: dict[str, Outcome] = {}
    threads = {}
    for case in cases:
        assert not case.says, "a background case must not use the microphone (others listen)"

        tmp = folder(case.id)

        def run(case: Case = case, tmp: Path = tmp) -> None:
            results[case.id] = run_case(case, tmp, env, wavs)

        threads[case.id] = threading.Thread(target=run, name=case.id, daemon=True)
        threads[case.id].start()

    def joiner(case_id: str) -> Callable[[], Outcome]:
        def join() -> Outcome:
            threads[case_id].join(timeout=240)
            assert case_id in results, f"{case_id}: the case never finished"
            return results[case_id]

        return join

    return {cid: joiner(cid) for cid in threads}
