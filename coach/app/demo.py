"""`coach demo`: a headless rehearsal. A simulated user (speech synthesized by espeak-ng) talks
into the file back end; the real session, listener and player do the rest in simulated time.

The user reacts to what the coach does, like a person: "ready" after the hearing prompt,
"slower" a few seconds into the exercise, "pain" in the middle of a cue after the tempo change,
"yes" after the offer. `SimulatedUser` places each utterance into the mic at that moment (and
`mic_track` builds a mic WAV from fixed (time, audio) pairs, for tests and experiments).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from coach.audio.files import FileAudio
from coach.audio.format import RATE, read_wav, write_wav
from coach.audio.io import AudioIO
from coach.audio.levels import room_noise
from coach.errors import CoachError
from coach.session import safety

USER_VOICE = ("en-us", 150, 40)  # espeak-ng voice, words/min, pitch: unlike the coach's
USER_PEAK = 0.5
NOISE_DB = -55.0  # a quiet room, never digital zeros (the watchdog treats those as a dead mic)


def synth_user(text: str, voice: tuple[str, int, int] = USER_VOICE) -> np.ndarray:
    """`text` spoken by the simulated user (espeak-ng command), 16 kHz float32."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise CoachError("espeak-ng is not installed", hint="run ./scripts/setup")
    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "u.wav"
        v, rate, pitch = voice
        r = subprocess.run(
            [exe, "-v", v, "-s", str(rate), "-p", str(pitch), "-w", str(wav), text],
            capture_output=True,
            text=True,
            check=False,
        )
        if r.returncode != 0:
            raise CoachError(f"espeak-ng failed: {r.stderr.strip()}")
        x = read_wav(wav, RATE)
    peak = float(np.max(np.abs(x))) or 1.0
    return (x * (USER_PEAK / peak)).astype(np.float32)


def mic_track(
    placements: list[tuple[float, np.ndarray]],
    seconds: float,
    noise_db: float = NOISE_DB,
    seed: int = 1,
) -> np.ndarray:
    """A mic recording: a quiet noise floor with each (time s, audio) placed at its time."""
    n = max(
        round(seconds * RATE), max((round(t * RATE) + len(a) for t, a in placements), default=0)
    )
    x = room_noise(n, noise_db, seed)
    for t, a in placements:
        i = round(t * RATE)
        x[i : i + len(a)] += a
    return x


@dataclass
class Reaction:
    """Say `clip` `delay` seconds after the first event for which `when(type, detail)` is true
    (and after the previous reaction has fired)."""

    when: Callable[[str, dict[str, Any]], bool]
    delay: float
    clip: np.ndarray
    text: str
    retries: int = 0  # like a person: say it again if the coach does not react
    retry_after: float = 3.0  # seconds after the words end


class SimulatedUser(AudioIO):
    """An AudioIO around FileAudio that adds a simulated user's speech to the microphone."""

    realtime = False

    def __init__(self, inner: FileAudio, reactions: list[Reaction] | None = None) -> None:
        super().__init__()
        self.inner = inner
        self.clock = inner.clock
        self.reactions = list(reactions or [])
        self.spoken: list[tuple[float, str]] = []
        self._queue: list[tuple[int, np.ndarray]] = []
        self._user: list[np.ndarray] = []
        self._coach: list[np.ndarray] = []
        self._waiting: tuple[Reaction, float, int] | None = None  # said, not yet acted upon

    def observe(self, t: float, type: str, detail: dict[str, Any]) -> None:
        """The runner's observer hook: react to the coach's events."""
        if type == "command" and self._waiting and detail["intent"] == self._waiting[0].text:
            self._waiting = None
        if self.reactions and self.reactions[0].when(type, detail):
            r = self.reactions.pop(0)
            self.say_at(t + r.delay, r.clip, r.text)
            if r.retries:
                self._waiting = (r, t + r.delay + len(r.clip) / RATE + r.retry_after, r.retries)

    def _retry(self) -> None:
        if self._waiting is None:
            return
        r, at, left = self._waiting
        now = self.clock.now()
        if now >= at:
            self.say_at(now, r.clip, r.text)
            left -= 1
            self._waiting = (r, now + len(r.clip) / RATE + r.retry_after, left) if left else None

    def say_at(self, t: float, clip: np.ndarray, text: str = "") -> None:
        self._queue.append((round(t * RATE), clip))
        self.spoken.append((round(t, 2), text))

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def _exchange(self, out: np.ndarray) -> np.ndarray:
        self._retry()
        mic = self.inner._exchange(out)
        s0 = self.clock.samples
        user = np.zeros(len(out), np.float32)
        for start, clip in self._queue:
            a, b = max(start, s0), min(start + len(clip), s0 + len(out))
            if a < b:
                user[a - s0 : b - s0] += clip[a - start : b - start]
        self._queue = [(s, c) for s, c in self._queue if s + len(c) > s0 + len(out)]
        self._user.append(user)
        self._coach.append(np.array(out, np.float32))
        return mic + user

    @property
    def coach_track(self) -> np.ndarray:
        """Everything the coach played (the speaker)."""
        return np.concatenate(self._coach) if self._coach else np.zeros(0, np.float32)

    @property
    def user_track(self) -> np.ndarray:
        return np.concatenate(self._user) if self._user else np.zeros(0, np.float32)


def demo_reactions() -> list[Reaction]:
    """ready, slower, pain (mid-cue, after the tempo change), yes."""
    state: dict[str, bool] = {}

    def after_tempo(type: str, detail: dict[str, Any]) -> bool:
        if type == "tempo":
            state["tempo"] = True
        return state.get("tempo", False) and type == "cue"

    return [
        Reaction(_cue_is(safety.HEARING_PROMPT), 2.5, synth_user("ready"), "ready", retries=2),
        Reaction(_state_is("exercising"), 4.0, synth_user("slower"), "slower", retries=2),
        Reaction(after_tempo, 0.8, synth_user("pain"), "pain", retries=3, retry_after=1.0),
        Reaction(_cue_is(safety.OFFER_QUESTION), 5.0, synth_user("yes"), "yes", retries=2),
    ]


def _cue_is(text: str) -> Callable[[str, dict[str, Any]], bool]:
    return lambda ty, d: ty == "cue" and d["text"] == text


def _state_is(state: str) -> Callable[[str, dict[str, Any]], bool]:
    return lambda ty, d: ty == "state" and d["state"] == state


def timeline_lines(events: list[dict[str, Any]], routine: str) -> list[tuple[float, str]]:
    """The session's events as (t, line) for the demo's timeline: what the coach said, and each
    other event in words (`[state] checking that it can hear you`), never a Python dict."""
    from coach.app.display import describe_event, routine_is_sided

    out = []
    for e in events:
        detail = {k: v for k, v in e.items() if k not in ("t", "type")}
        if e["type"] == "cue":
            out.append((e["t"], f"coach: {e['text']}"))
            continue
        sided = routine_is_sided(routine) if e["type"] == "ended" else None
        out.append((e["t"], f"[{e['type']}] {describe_event(e['type'], detail, sided)}"))
        if e["type"] == "started":
            routine = str(e["routine"])
    return out


def rehearse(output: Path, events: Path | None, voice: str | None, engine: str) -> int:
    """Run the demo, write coach + user mixed to `output`, print the timeline. Exit code 0."""
    from coach.app.session_run import SessionOptions, run_session

    if output.suffix.lower() != ".wav":
        raise CoachError(f"{output}: the output must be a .wav file")
    if not output.resolve().parent.is_dir():
        raise CoachError(f"{output}: folder {output.resolve().parent} does not exist")
    print(
        "coach demo: a headless rehearsal — no microphone or speaker is used. A simulated user "
        "(espeak-ng) says ready, slower, pain, then yes; the real listener and session respond.",
        flush=True,
    )
    user = SimulatedUser(FileAudio(None, None, echo_gain=0.3), demo_reactions())  # a room
    with tempfile.TemporaryDirectory() as d:
        opts = SessionOptions(
            target="trunk-rotation", reps=5, tempo=8.0, voice=voice, engine=engine, plain=True,
            events=events, db=Path(d) / "demo-history.sqlite3",  # a rehearsal is not yours
        )  # fmt: skip
        result = run_session(opts, user, observer=user.observe, quiet=True)
    coach = user.coach_track
    mix = coach.copy()
    u = user.user_track[: len(mix)]
    mix[: len(u)] += u
    write_wav(output, np.clip(mix, -1.0, 1.0), RATE)
    lines = [(t, f"user says: {text}") for t, text in user.spoken]
    lines += timeline_lines(result.events, opts.target)
    print("\ntimeline (session seconds):")
    for t, line in sorted(lines, key=lambda x: x[0]):
        print(f"  {t:7.2f}  {line}")
    m, s = divmod(round(len(mix) / RATE), 60)
    print(
        f"\ncoach demo: wrote {output.resolve()} ({m}:{s:02d}, the coach and the simulated user "
        f"mixed). Session ended: {result.reason}; routines: {' then '.join(result.routines)}."
    )
    sys.stdout.flush()
    return 0
