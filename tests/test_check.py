"""`coach check` on the real virtual devices (a person says "ready" into the mic with paplay), with
the devices really gone (PULSE_SERVER at a dead socket), and with each other part broken for real."""

from __future__ import annotations

import json
import os
import queue
import re
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from coach.app.check import check_database, check_recognizer, check_speech, tone, tone_level
from coach.history.db import History
from tests.audio_rig import play_into_mic


def _check_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "coach", "check", *args]


def _espeak_clip(espeak: Any, text: str, tmp_path: Path, name: str) -> Path:
    from coach.audio.format import read_wav, write_wav

    x = read_wav(espeak(text, "en-us", 130, 50))
    out = tmp_path / f"{name}.wav"
    write_wav(out, x * (0.5 / float(np.max(np.abs(x)))))
    return out


@pytest.mark.audio
def test_check_passes_on_virtual_devices_when_the_user_says_ready_stop_and_pain(
    virtual_audio: dict[str, str], espeak: Any, tmp_path: Path
) -> None:
    from coach.audio.format import write_wav

    data = tmp_path / "data"
    # a quiet room (the virtual mic alone gives digital zeros, which no real microphone does)
    room = tmp_path / "room.wav"
    write_wav(room, np.random.default_rng(0).standard_normal(16000 * 90).astype(np.float32) * 0.003)
    # "I'm ready" in this voice is one the bundled pocketsphinx hears reliably, so this test names
    # that recognizer: it is about coach check, not recognition (the default engine, built for
    # human voices, hears this espeak-ng voice less surely; its accuracy is measured by
    # scripts/eval_commands.py and tested in tests/test_phoneme_engine.py). Like a person, each
    # word is said again if the coach has not moved on 3.5 s later.
    words = {w: _espeak_clip(espeak, t, tmp_path, w)
             for w, t in (("ready", "I'm ready"), ("stop", "stop"), ("pain", "pain"))}  # fmt: skip
    noise = subprocess.Popen(["paplay", "--device=micfeed", str(room)])
    p = subprocess.Popen(
        _check_cmd("--json", "--listen-seconds", "12", "--engine", "pocketsphinx"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COACH_DATA_DIR": str(data)},
    )
    assert p.stderr is not None
    lines: queue.Queue[str] = queue.Queue()
    err: list[str] = []
    reader = threading.Thread(target=lambda: [lines.put(x) for x in p.stderr], daemon=True)  # type: ignore[union-attr]
    reader.start()
    asked: str | None = None
    tries, next_try = 0, 0.0
    deadline = time.monotonic() + 150
    while p.poll() is None and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.1)
            err.append(line)
            m = re.search(r'say "(\w+)" now', line)
            if m:  # a new prompt; its spoken form ends in ~4.5 s (stop) or ~2 s
                asked, tries = m.group(1), 0
                next_try = time.monotonic() + {"ready": 0.5, "stop": 5.0, "pain": 2.5}[asked]
        except queue.Empty:
            pass
        if asked and tries < 3 and time.monotonic() >= next_try:
            play_into_mic(words[asked])
            tries, next_try = tries + 1, time.monotonic() + 3.5
    out, rest = p.communicate(timeout=60)
    noise.terminate()
    noise.wait()
    reader.join(timeout=5)
    rest = "".join(err) + rest + "".join(list(lines.queue))
    results = {d["check"]: d for d in map(json.loads, out.splitlines())}
    assert set(results) == {
        "database", "speech", "recognizer", "speaker", "microphone", "safety words",
    }, rest  # fmt: skip
    assert all(d["ok"] for d in results.values()), (results, rest)
    assert "heard it on speaker.monitor" in results["speaker"]["detail"]
    assert "ready" in results["microphone"]["detail"]
    assert '"stop"' in results["safety words"]["detail"]
    assert '"pain"' in results["safety words"]["detail"]
    assert p.returncode == 0
    assert "Traceback" not in rest
    # remembered: the first session on this microphone will not ask again
    from coach.app import safety_words

    (rec,) = json.loads((data / safety_words.FILE).read_text())
    assert rec["engine"] == "pocketsphinx" and rec["microphone"] == virtual_audio["PULSE_SOURCE"]


@pytest.mark.audio
def test_check_fails_when_nobody_answers(virtual_audio: dict[str, str]) -> None:
    r = subprocess.run(
        _check_cmd("--listen-seconds", "2"), capture_output=True, text=True, timeout=90
    )
    assert r.returncode == 1, r.stdout
    assert "✗ microphone" in r.stdout and "fix:" in r.stdout
    assert "✓ speaker" in r.stdout
    assert "cannot run" in r.stdout
    assert "Traceback" not in r.stderr


def test_check_without_devices_says_how_to_fix(tmp_path: Path) -> None:
    """A real absence: no sound server at all (PULSE_SERVER points at a socket that is not there)."""
    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path}/no-such-socket"}
    env.pop("PULSE_SINK", None)
    env.pop("PULSE_SOURCE", None)
    r = subprocess.run(
        _check_cmd("--no-prompt"), capture_output=True, text=True, timeout=90, env=env
    )
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    lines = r.stdout.splitlines()
    assert any(s.strip().startswith("✗ speaker") for s in lines), r.stdout
    assert any(s.strip().startswith("✗ microphone") for s in lines), r.stdout
    assert "virtual-audio" in r.stdout  # the fix says how to get devices
    assert any(s.strip().startswith("✓ speech") for s in lines), r.stdout  # the rest still checked
    assert "cannot run" in r.stdout


def test_database_check_sees_a_lock_held_by_another_process(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    History(db).close()
    assert check_database(str(db)).ok
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        r = check_database(str(db))
    finally:
        holder.kill()
        holder.wait()
    assert not r.ok
    assert "locked" in r.detail and r.fix


def test_database_check_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    with History(db) as h:
        sid = h.start_session("trunk-rotation", 6.0, "pocketsphinx", "calm", 5)
        h.end_session(sid, "completed", 5, 5, 6.0)
    conn = sqlite3.connect(db)
    before = conn.execute("SELECT count(*) FROM sessions").fetchone()
    conn.close()
    r = check_database(str(db))
    assert r.ok and "1 sessions" in r.detail
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM sessions").fetchone() == before
    conn.close()
    missing = tmp_path / "new" / "h.sqlite3"
    assert check_database(str(missing)).ok and not missing.exists()


def test_database_check_rejects_a_corrupt_file(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    r = check_database(str(db))
    assert not r.ok and str(db) in r.detail and r.fix


def test_speech_check_renders_and_rejects_an_unknown_voice() -> None:
    r, audio = check_speech(None)
    assert r.ok and audio is not None and len(audio) > 8000
    bad, _ = check_speech("no-such-voice")
    assert not bad.ok and "no-such-voice" in bad.detail and bad.fix


def test_recognizer_check_names_engine_and_explains_a_missing_model() -> None:
    r, listener = check_recognizer("pocketsphinx", "en", None)
    assert r.ok and "pocketsphinx" in r.detail and listener is not None
    bad, none = check_recognizer("vosk", "en", None)
    assert not bad.ok and none is None
    assert "model" in bad.detail and bad.fix and "install" in bad.fix


def test_tone_detector_hears_the_tone_and_not_silence() -> None:
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(16000) * 0.01).astype(np.float32)
    assert tone_level(np.concatenate([noise, tone(), noise])) > -30
    assert tone_level(noise) < -50
