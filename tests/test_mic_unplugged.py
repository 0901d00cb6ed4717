"""The microphone unplugged mid-session (issue #13), live: a real `coach run` on this test's OWN
PulseAudio server (we unload and load its modules), heard on speaker.monitor.

The unplug is the mic's remap source unloaded mid-cue (PulseAudio then moves the capture stream
to another source; coach/audio/pulse_watch.py sees it); the plug-in is the same module loaded again. The
coach must say it (its pre-rendered notice is found in the monitor recording by correlation, after
the unplug), pause, and when the mic is back say so; a spoken "resume" carries on and a "stop"
ends it normally. Never back within --mic-wait: the end is a fault, said aloud too. The user's
words are repeated when the coach does not react, like a person (recognition is not the point).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from coach import paths
from coach.app.demo import mic_track
from coach.audio.format import RATE, write_wav
from coach.history.db import History
from coach.session import safety
from coach.speech.tts import SpeechRenderer
from coach.speech.voice import get_voice
from tests import ROOT
from tests.audio_rig import Recorder, pactl, passed_safety_words, play_into_mic, private_server
from tests.conftest import clip, espeak_wav

AUDIO_DIR = os.environ.get("COACH_AUDIO_DIR", "/tmp/coach-virtual-audio") + "-unplug"
MIC_MODULE = (
    "module-remap-source master=micfeed.monitor source_name=mic channels=1 "
    "source_properties=device.description=mic"
)  # as scripts/virtual-audio loads it
# unplug -> the notice's first sound: measured 0.1-2.4 s at load 5-9 (README); the bound only
# says "promptly" (a loaded machine must not fail it), the wait for the mic being 120 s
NOTICE_WITHIN_S = 8.0
HEARD = 0.85  # find_clip's score for "this notice is on the speaker": 0.98-1.0 played back
# (through a gap too), 0.36-0.78 for another notice but the one sharing its first words (0.94)


@pytest.fixture
def own_audio() -> Iterator[dict[str, str]]:
    with private_server(AUDIO_DIR) as env:
        yield env


def _unplug(env: dict[str, str]) -> None:
    for line in pactl(env, "list", "short", "modules").splitlines():
        if "module-remap-source" in line:
            pactl(env, "unload-module", line.split("\t")[0])
            return
    raise AssertionError("no microphone module to unload")


def _plug_in(env: dict[str, str]) -> None:
    """Load the microphone again. PulseAudio then moves every capture stream that follows the
    default source to it (it is the configured default), our speaker.monitor recorder too
    (measured): moved back at once, so the recording goes on hearing the speaker."""
    pactl(env, "load-module", *MIC_MODULE.split())
    for block in pactl(env, "list", "source-outputs").split("\n\n"):
        if 'application.name = "parecord"' in block:
            index = block.split("#", 1)[1].split()[0]
            pactl(env, "move-source-output", index, "speaker.monitor")


def find_clip(audio: np.ndarray, clip_: np.ndarray, after_s: float) -> tuple[float, float]:
    """Where the beginning of `clip_` best matches `audio` after `after_s`: (onset in s,
    normalized correlation). Each of its first three half seconds is looked for on its own and
    the best is kept (its onset less its place in the clip): an underrun's gap inside one of
    them (under load: 0.498 once at load 15, 0.438 at load ~5 with the head alone) spoils that
    one only. Measured for the head: 0.98 for the coach's own rendering played and recorded
    back; against its other lines 0.43 for "I can hear you again" and 0.55-0.62 for the two
    notices that share "I can('t) hear you" / "the microphone" with another line, so the tests
    also require the match inside the window after the unplug or plug, where only that notice
    is said."""
    best = (-1.0, 0.0)
    for k in range(3):
        at, score = _find_piece(audio, clip_[k * RATE // 2 : (k + 1) * RATE // 2], after_s)
        if score > best[1]:
            best = (at - k * 0.5, score)
    return best


NOTICES = ("MIC_UNPLUGGED", "MIC_BACK", "MIC_GAVE_UP", "MIC_LOST")


def test_find_clip_hears_a_notice_through_a_gap_only() -> None:
    """The coach's real renderings: each notice is found where it is, through a 60 ms gap
    anywhere in its first 1.5 s (an underrun), and no other notice scores HEARD (but the one
    that begins with the same words)."""
    room = (1e-3 * np.random.default_rng(0).standard_normal(RATE)).astype(np.float32)
    clips = {n: _notice(getattr(safety, n)) for n in NOTICES}
    for name, x in clips.items():
        for gap_at in (0.05, 0.3, 0.55, 0.8, 1.3):
            g = round(gap_at * RATE)
            gap = np.zeros(round(0.06 * RATE), np.float32)
            at, score = find_clip(np.concatenate([room, x[:g], gap, x[g:], room]), x, 0.0)
            assert score > 0.95 and abs(at - 1.0) <= 0.07, (name, gap_at, at, score)
        for other, y in clips.items():
            # (the lost and the unplugged notice begin with the same words: only the window
            # after the unplug, where the one is said, tells them apart)
            if other != name and {name, other} != {"MIC_UNPLUGGED", "MIC_LOST"}:
                _, score = find_clip(np.concatenate([room, y, room]), x, 0.0)
                assert score < HEARD, (name, other, score)


def _find_piece(audio: np.ndarray, piece: np.ndarray, after_s: float) -> tuple[float, float]:
    head = piece.astype(np.float64)
    seg = audio[round(after_s * RATE) :].astype(np.float64)
    if len(seg) < len(head) or not len(head):
        return -1.0, 0.0
    n = 1 << (len(seg) + len(head)).bit_length()
    corr = np.fft.irfft(np.fft.rfft(seg, n) * np.conj(np.fft.rfft(head, n)), n)
    corr = corr[: len(seg) - len(head) + 1]
    power = np.concatenate(([0.0], np.cumsum(seg**2)))
    window = np.sqrt(np.maximum(power[len(head) :] - power[: -len(head)], 1e-12))
    score = corr / (window * np.linalg.norm(head))
    k = int(np.argmax(score))
    return after_s + k / RATE, float(score[k])


class Live:
    """One live `coach run` with a person at the microphone: the events as they come."""

    def __init__(self, tmp_path: Path, env: dict[str, str], mic_wait_s: float) -> None:
        passed_safety_words(paths.data_dir(), env)  # the session begins after "ready"
        self.ev = tmp_path / "ev.jsonl"
        self.part = self.ev.with_name(self.ev.name + ".part")
        self.db = tmp_path / "h.sqlite3"
        room = tmp_path / "room.wav"  # a real microphone always has a noise floor
        write_wav(room, mic_track([], 240.0, noise_db=-50.0), RATE)
        self.noise = play_into_mic(room, wait=False)
        self.rec = Recorder().__enter__()
        cmd = [sys.executable, "-m", "coach", "run", "trunk-rotation", "--tempo", "10"]
        cmd += ["--plain", "--events", str(self.ev), "--db", str(self.db)]
        cmd += ["--mic-wait", str(mic_wait_s)]
        self.p = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def events(self) -> list[dict[str, Any]]:
        path = self.part if self.part.exists() else self.ev
        if not path.exists():
            return []
        return [json.loads(x) for x in path.read_text().splitlines() if x.endswith("}")]

    def why(self) -> str:
        """For a failed wait: what the coach said on stderr if it has ended."""
        if self.p.poll() is None:
            return "the coach is still running"
        _, err = self.p.communicate()
        return f"the coach exited with {self.p.returncode}: {err[-3000:]}"

    def wait_for(self, type_: str, limit: float, **match: Any) -> dict[str, Any] | None:
        end = time.monotonic() + limit
        while time.monotonic() < end:
            for e in self.events():
                if e["type"] == type_ and all(e.get(k) == v for k, v in match.items()):
                    return e
            if self.p.poll() is not None:
                return None
            time.sleep(0.02)
        return None

    def say(self, wav: Path, heard: str, tries: int = 4, **match: Any) -> bool:
        """Say `wav` until the coach logs `heard` (a command intent, or an event type)."""
        for _ in range(tries):
            play_into_mic(wav)
            if heard in ("resume", "ready", "stop"):
                if self.wait_for("command", 3.5, intent=heard):
                    return True
            elif self.wait_for(heard, 3.5, **match):
                return True
        return False

    def now(self) -> float:
        """Seconds into the monitor recording."""
        return time.monotonic() - self.rec.t_start

    def finish(self, timeout: float = 60.0) -> tuple[int, str, np.ndarray]:
        try:
            _, err = self.p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            _, err = self.p.communicate()
            raise AssertionError(f"coach did not end: {err[-2000:]}") from None
        finally:
            self.noise.kill()
        time.sleep(0.5)
        return self.p.returncode, err, self.rec.stop()

    def close(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
            self.p.communicate()
        self.noise.kill()
        self.rec.stop()

    def begin(self) -> None:
        """Through the hearing check to the briefing's long green-light line."""
        assert self.wait_for("cue", 120, text=safety.HEARING_PROMPT), self.why()
        time.sleep(3.5)  # after the prompt (which itself says "ready")
        ready = espeak_wav("I'm ready", "en-us", 130, 50)
        assert self.say(ready, "ready"), "'ready' was never heard"
        assert self.wait_for("cue", 30, text=safety.GREEN_LIGHT), "no briefing"


def _notice(text: str) -> np.ndarray:
    """The coach's own rendering of `text` (the shared speech cache: what it played)."""
    return SpeechRenderer().render(text, get_voice(None))


@pytest.mark.audio
def test_unplugged_mic_is_said_paused_and_resumed_when_back(
    tmp_path: Path, own_audio: dict[str, str]
) -> None:
    live = Live(tmp_path, own_audio, mic_wait_s=120)
    try:
        live.begin()
        time.sleep(1.0)  # mid-cue
        t_unplug = live.now()
        _unplug(own_audio)
        lost = live.wait_for("mic-lost", 10)
        seen_lost = live.now() - t_unplug
        assert lost is not None, live.events()[-5:]
        assert live.wait_for("cue", 5, text=safety.MIC_UNPLUGGED)
        assert live.wait_for("state", 5, state="paused")
        time.sleep(8.0)  # the notice has been said; paused, the mic still gone
        assert not live.wait_for("mic-back", 0.1)
        t_plug = live.now()
        _plug_in(own_audio)
        back = live.wait_for("mic-back", 15)
        seen_back = live.now() - t_plug
        assert back is not None, live.events()[-5:]
        assert live.wait_for("cue", 5, text=safety.MIC_BACK)
        time.sleep(4.0)  # "I can hear you again. Say resume when you are ready."
        assert live.say(espeak_wav("resume", "en-us", 130, 50), "resume"), "resume never heard"
        assert live.wait_for("cue", 5, text=safety.RESUMED)
        assert live.wait_for("cue", 15, text=safety.GREEN_LIGHT)  # the briefing again
        time.sleep(1.0)
        assert live.say(clip("stop/stop_1eddce1d_nohash_3.wav"), "stop"), "stop never heard"
        code, err, audio = live.finish()
    finally:
        live.close()
    assert code == 0, err[-2000:]
    assert "Traceback" not in err
    events = live.events() or [json.loads(x) for x in live.ev.read_text().splitlines()]
    types = [e["type"] for e in events]
    assert types.count("mic-lost") == 1 and types.count("mic-back") == 1, types
    assert [e["reason"] for e in events if e["type"] == "ended"] == ["stopped"]
    with History(live.db, create=False) as h:
        assert h.sessions()[-1].end_reason == "stopped"
    # the terminal: one line each
    assert sum("mic-lost:" in line for line in err.splitlines()) == 1, err[-2000:]
    assert sum("mic-back:" in line for line in err.splitlines()) == 1, err[-2000:]
    # heard on the speaker: the notice after the unplug, "I can hear you again" after the plug
    at, score = find_clip(audio, _notice(safety.MIC_UNPLUGGED), t_unplug)
    assert score > HEARD and t_unplug < at < t_unplug + NOTICE_WITHIN_S, (at - t_unplug, score)
    at_back, score_back = find_clip(audio, _notice(safety.MIC_BACK), t_plug)
    assert score_back > HEARD and t_plug < at_back < t_plug + 10, (at_back - t_plug, score_back)
    # the measurement the README quotes (pytest -s shows it)
    print(f"\nunplug -> notice {at - t_unplug:.3f} s (mic-lost seen {seen_lost:.3f} s); "
          f"plug -> notice {at_back - t_plug:.3f} s (mic-back seen {seen_back:.3f} s)")  # fmt: skip


@pytest.mark.audio
def test_unplugged_mic_never_back_is_a_fault_said_aloud(
    tmp_path: Path, own_audio: dict[str, str]
) -> None:
    wait = 6.0
    live = Live(tmp_path, own_audio, mic_wait_s=wait)
    try:
        live.begin()
        time.sleep(1.0)
        t_unplug = live.now()
        _unplug(own_audio)
        assert live.wait_for("mic-lost", 10), live.events()[-5:]
        code, err, audio = live.finish(timeout=wait + 30)
    finally:
        live.close()
    assert code == 1, err[-2000:]
    assert "Traceback" not in err
    assert "did not come back within 6 s" in err, err[-2000:]
    events = [json.loads(x) for x in live.ev.read_text().splitlines()]
    said = [e["text"] for e in events if e["type"] == "cue"]
    assert said[-2:] == [safety.MIC_UNPLUGGED, safety.MIC_GAVE_UP], said[-4:]
    ended = [e for e in events if e["type"] == "ended"]
    assert [e["reason"] for e in ended] == ["fault"]
    lost = next(e for e in events if e["type"] == "mic-lost")
    assert wait <= ended[0]["t"] - lost["t"] <= wait + 0.05  # the bound, in session time
    with History(live.db, create=False) as h:
        assert h.sessions()[-1].end_reason == "fault"
    at, score = find_clip(audio, _notice(safety.MIC_UNPLUGGED), t_unplug)
    assert score > HEARD and t_unplug < at < t_unplug + NOTICE_WITHIN_S, (at - t_unplug, score)
    # said after the bound (queued after the first notice, if that is still being said)
    end, score_end = find_clip(audio, _notice(safety.MIC_GAVE_UP), t_unplug + wait)
    assert score_end > HEARD and end > t_unplug + wait, (end - t_unplug, score_end)
