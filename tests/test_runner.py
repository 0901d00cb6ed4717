"""The runner on the file back end: real speech, real Player, real SQLite history, simulated time.
(Sessions with the real listener and synthesized user speech: tests/test_session_cli.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from coach.app.demo import mic_track
from coach.app.runner import EventsFile, MicWatchdog, Runner, render_phrasebook
from coach.audio.files import FileAudio
from coach.audio.format import BLOCK, RATE, read_wav
from coach.clock import ManualClock
from coach.errors import ModelError
from coach.exercise.routine import load_library
from coach.exercise.tempo import Tempo
from coach.history.db import History
from coach.session import safety
from coach.session.machine import EndReason, Session
from coach.speech.player import Player
from coach.speech.tts import SpeechRenderer
from coach.speech.voice import get_voice
from tests import ROOT
from tests.conftest import coach_cli

LIB = load_library()


def quiet_mic(path: Path, seconds: float = 1.0) -> Path:
    from coach.audio.format import write_wav

    write_wav(path, mic_track([], seconds), RATE)
    return path


def events_of(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_no_listen_session_completes_with_events_history_and_speaker(tmp_path: Path) -> None:
    ev, spk, db = tmp_path / "ev.jsonl", tmp_path / "out.wav", tmp_path / "h.sqlite3"
    r = coach_cli(
        "run", "pelvic-tilt", "--reps", "5", "--tempo", "10", "--no-listen", "--plain",
        "--mic-file", str(quiet_mic(tmp_path / "mic.wav")), "--speaker-file", str(spk),
        "--events", str(ev), "--db", str(db),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    evs = events_of(ev)
    assert not (tmp_path / "ev.jsonl.part").exists()
    allowed = {
        "state": {"state"},
        "cue": {"text", "late_ms"},
        "command": {"intent", "phrase"},
        "tempo": {"bpm"},
        "ended": {"reason", "reps", "suggestion"},
        "started": {"routine"},
    }
    for e in evs:
        keys = {"t", "type"} | allowed[e["type"]]
        if e["type"] == "cue" and "late_ms" not in e:  # only a breath cue is on the grid
            keys.discard("late_ms")
        assert set(e) == keys, e
    breath = [e for e in evs if e["type"] == "cue" and "late_ms" in e]
    assert breath and all(0 <= e["late_ms"] <= 20 for e in breath)  # within one block
    ts = [e["t"] for e in evs]
    assert ts == sorted(ts)
    assert evs[-2] == {
        "t": evs[-2]["t"],
        "type": "ended",
        "reason": "completed",
        "reps": {"left": 5, "right": 5},
        "suggestion": None,
    }
    states = [e["state"] for e in evs if e["type"] == "state"]
    assert states == ["briefing", "positioning", "exercising", "ended"]
    cues = [e["text"] for e in evs if e["type"] == "cue"]
    assert "I am not listening" in cues[0]
    # the speaker track is as long as the session and the coach really spoke
    audio = read_wav(spk)
    assert abs(len(audio) / RATE - evs[-1]["t"]) < 1.0
    assert float(np.max(np.abs(audio))) > 0.1
    with History(db) as h:
        (s,) = h.sessions()
        assert (s.end_reason, s.reps_left, s.reps_right, s.routine) == (
            "completed",
            5,
            5,
            "pelvic-tilt",
        )
        assert len(h.events(s.id, "cue")) == len(cues)
    assert "session ended: completed" in r.stderr


class FailingListener:
    """A fake: a recognizer that breaks mid-session (a fault we cannot cause on demand for real)."""

    engine_name = "broken"

    def __init__(self, after_blocks: int) -> None:
        self.n = after_blocks

    def feed(self, mic: np.ndarray, ref: np.ndarray | None = None) -> list:  # type: ignore[type-arg]
        self.n -= 1
        if self.n <= 0:
            raise ModelError("the recognizer crashed (simulated)")
        return []

    def expect(self, intents: set) -> None:  # type: ignore[type-arg]
        pass

    def speaking(self, text: str | None) -> None:
        pass

    def heard_voice(self) -> list:  # type: ignore[type-arg]
        return []


def build(
    routine: str = "trunk-rotation", listen: bool = True, bpm: float = 10.0
) -> tuple[Session, dict]:  # type: ignore[type-arg]
    s = Session(LIB[routine], 5, Tempo(bpm), LIB, listen=listen)
    return s, render_phrasebook(s, SpeechRenderer(), get_voice())


def test_component_fault_cuts_the_speaker_and_records_fault(tmp_path: Path) -> None:
    session, clips = build()
    io = FileAudio(None, tmp_path / "out.wav")
    fault_at = 50  # blocks: 1 s, in the middle of the hearing prompt
    with History(tmp_path / "h.sqlite3") as h:
        runner = Runner(io, Player(), session, clips, FailingListener(fault_at), history=h,
                        events=EventsFile(tmp_path / "ev.jsonl"))  # fmt: skip
        with pytest.raises(ModelError):
            runner.run()
        (rec,) = h.sessions()
        assert rec.end_reason == "fault"
    evs = events_of(tmp_path / "ev.jsonl")
    assert evs[-2]["type"] == "ended" and evs[-2]["reason"] == "fault"
    audio = read_wav(tmp_path / "out.wav")
    cut = fault_at * BLOCK
    assert float(np.max(np.abs(audio[cut - 25 * BLOCK : cut]))) > 0.05  # it was talking
    # silence from the block after the fault, then (the speaker still works) it says why it ended
    assert float(np.max(np.abs(audio[cut + 2 * BLOCK : cut + 14 * BLOCK]))) < 1e-3
    spoken = clips[(safety.FAULT_SPOKEN, 1.0)]
    assert float(np.max(np.abs(audio[cut + 14 * BLOCK :]))) > 0.05
    assert len(audio) <= cut + len(spoken) + 0.3 * RATE + 2 * BLOCK


def test_fault_exits_non_zero_without_traceback(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    r = coach_cli(
        "run", "trunk-rotation", "--no-listen", "--db", str(db),
        "--mic-file", str(quiet_mic(tmp_path / "mic.wav")), "--speaker-file", str(tmp_path / "o.wav"),
    )  # fmt: skip
    assert r.returncode != 0
    assert r.stderr.startswith("coach: ") and "Traceback" not in r.stderr
    assert db.read_bytes().startswith(b"this is not")  # never touched


def test_sigterm_ends_the_session_as_stopped(tmp_path: Path) -> None:
    ev, db = tmp_path / "ev.jsonl", tmp_path / "h.sqlite3"
    p = subprocess.Popen(
        [sys.executable, "-m", "coach", "run", "trunk-rotation", "--reps", "10", "--tempo", "3",
         "--no-listen", "--plain", "--mic-file", str(quiet_mic(tmp_path / "mic.wav")),
         "--speaker-file", str(tmp_path / "o.wav"), "--events", str(ev), "--db", str(db)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    part = tmp_path / "ev.jsonl.part"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and p.poll() is None:
        if part.exists() and '"cue"' in part.read_text():
            break
        time.sleep(0.02)
    assert p.poll() is None, "the session ended before it could be interrupted"
    os.kill(p.pid, signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "Traceback" not in err
    evs = events_of(ev)
    assert evs[-2]["type"] == "ended" and evs[-2]["reason"] == "stopped"
    with History(db) as h:
        assert h.sessions()[0].end_reason == "stopped"


def test_watchdog_fires_once_per_outage_on_a_dead_flat_mic() -> None:
    wd = MicWatchdog(seconds=3.0)
    clock = ManualClock()
    live = np.random.default_rng(0).standard_normal(BLOCK).astype(np.float32) * 1e-3
    flat = np.zeros(BLOCK, np.float32)
    fired = []
    for i in range(1000):  # 20 s: live 5 s, flat 6 s, live 4 s, flat 5 s
        t = i * BLOCK / RATE
        clock.t = t
        block = flat if 5 <= t < 11 or t >= 15 else live
        if wd.update(block, t):
            fired.append(round(t, 2))
    assert fired == [pytest.approx(8.0, abs=0.05), pytest.approx(18.0, abs=0.05)]
    assert MicWatchdog(3.0).update(live, 0.0, no_input_s=5.0)  # no frames at all


def test_ended_reason_values_match_history() -> None:
    from coach.history.db import EndReason as HistoryReason

    assert {str(r) for r in EndReason} == {str(r) for r in HistoryReason}


def test_third_session_of_the_day_is_warned_in_print_and_speech(tmp_path: Path) -> None:
    db, ev = tmp_path / "h.sqlite3", tmp_path / "ev.jsonl"
    with History(db) as h:
        for _ in range(2):
            sid = h.start_session("trunk-rotation", 6.0, "pocketsphinx", "calm", 5)
            h.end_session(sid, "completed", 5, 5, 6.0)
    r = coach_cli(
        "run", "trunk-rotation", "--reps", "5", "--tempo", "10", "--no-listen", "--plain",
        "--mic-file", str(quiet_mic(tmp_path / "mic.wav")), "--speaker-file", str(tmp_path / "o.wav"),
        "--events", str(ev), "--db", str(db),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "coach: warning: This is session 3 of Trunk rotation stretch today" in r.stderr
    said = [e["text"] for e in events_of(ev) if e["type"] == "cue"]
    assert any(t.startswith("This is session 3 of Trunk rotation stretch today") for t in said)
    assert said.index(safety.GREEN_LIGHT) > 0
