"""Faults, each caused for real on a real `coach run` process, and the safe state checked:
silence within 1 s (heard on the speaker's monitor), a clear message, the session recorded in
history with the documented reason, the documented exit code, and never a traceback.

Live faults run on this test's OWN PulseAudio server (a second one, since we unload its modules):
the speaker sink disappears, the server itself dies, SIGINT, SIGTERM. The microphone source
disappearing is no longer an end but a pause said aloud (tests/test_mic_unplugged.py). File back
end:
the recognizer raises mid-session (a fake: an engine crash cannot be caused for real — said
below), a corrupt model folder, TTS that cannot run (espeak-ng data unreadable), a broken voice
file, a locked database (another process holds the write lock), a full disk (a real tiny tmpfs).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from coach.audio.format import read_wav, write_wav
from coach.history.db import History
from tests import ROOT
from tests.audio_rig import Recorder, pactl, private_server, rms

SILENT_RMS = 1e-3
LIVE_DIR = os.environ.get("COACH_AUDIO_DIR", "/tmp/coach-virtual-audio") + "-faults"


# --- helpers ------------------------------------------------------------------------------------


def _mic(tmp_path: Path, espeak: object, at_s: float = 2.5) -> Path:
    """A quiet room with the user saying "ready" at `at_s` seconds (as tests/test_session_cli)."""
    from coach.app.demo import mic_track

    ready = read_wav(espeak("ready", "en-us", 150, 40))  # type: ignore[operator]
    ready = (ready * (0.5 / float(np.max(np.abs(ready))))).astype(np.float32)
    p = tmp_path / "mic.wav"
    write_wav(p, mic_track([(at_s, ready)], at_s + 2.5))
    return p




def _file_run(
    tmp_path: Path, mic: Path, *extra: str, env: dict[str, str] | None = None, pre: str = ""
) -> subprocess.CompletedProcess[str]:
    """`coach run` on the file back end; `pre` is Python run before the CLI (fakes only)."""
    args = ["run", "trunk-rotation", "--tempo", "10", "--plain", "--mic-file", str(mic)]
    args += ["--speaker-file", str(tmp_path / "speaker.wav")]
    args += ["--events", str(tmp_path / "events.jsonl"), "--db", str(tmp_path / "h.sqlite3")]
    code = f"{pre}\nimport sys\nfrom coach.cli import main\nsys.exit(main({[*args, *extra]!r}))"
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


def _events(path: Path) -> list[dict[str, object]]:
    for p in (path, path.with_name(path.name + ".part")):
        if p.exists():
            return [json.loads(s) for s in p.read_text().splitlines() if s.strip()]
    return []


def _ended_reason(tmp_path: Path) -> object:
    ended = [e for e in _events(tmp_path / "events.jsonl") if e["type"] == "ended"]
    return ended[-1]["reason"] if ended else None


def _history_reason(db: Path) -> str | None:
    with History(db, create=False) as h:
        s = h.sessions()
    return s[-1].end_reason if s else None


def _clean(r: subprocess.CompletedProcess[str] | tuple[int, str]) -> str:
    stderr = r.stderr if isinstance(r, subprocess.CompletedProcess) else r[1]
    assert "Traceback" not in stderr, stderr[-3000:]
    return stderr


# --- file back end faults -----------------------------------------------------------------------

# A FAKE, said plainly: a recognizer crash cannot be caused for real (the bundled engine does not
# fail on any audio we can give it), so the listener raises on its 50th block (1.0 s in: mid-cue).
CRASHING_ENGINE = """
from coach.listening import listener as _l
_feed = _l.Listener.feed
_calls = [0]
def _crash(self, mic, ref=None):
    _calls[0] += 1
    if _calls[0] == 50:
        raise RuntimeError("decoder crashed (injected by tests/test_faults.py)")
    return _feed(self, mic, ref)
_l.Listener.feed = _crash
"""


def test_recognizer_crash_mid_cue_ends_as_fault(tmp_path: Path, espeak: object) -> None:
    r = _file_run(tmp_path, _mic(tmp_path, espeak), pre=CRASHING_ENGINE)
    err = _clean(r)
    assert r.returncode == 1, err[-2000:]
    assert "coach:" in err and "decoder crashed" in err
    assert _ended_reason(tmp_path) == "fault"
    assert _history_reason(tmp_path / "h.sqlite3") == "fault"
    # the speaker track: speaking before the fault, cut at once, then only the spoken notice
    t = float([e for e in _events(tmp_path / "events.jsonl") if e["type"] == "ended"][-1]["t"])  # type: ignore[arg-type]
    out = read_wav(tmp_path / "speaker.wav")
    at = int(t * 16000)
    assert rms(out[at - 4800 : at]) > 0.005, "the fault did not come mid-cue"
    assert rms(out[at + 400 : at + 4000]) < SILENT_RMS  # silent within 25 ms, for 0.2 s
    assert len(out) > at + 16000 and rms(out[at + 4800 :]) > 0.005  # "Something went wrong…"


def test_corrupt_model_folder_is_refused_cleanly(tmp_path: Path, espeak: object) -> None:
    """Real: a vosk model folder with every file in place but garbage inside (vosk itself fails)."""
    model = tmp_path / "model"
    for rel in ("am/final.mdl", "conf/mfcc.conf", "graph/HCLr.fst", "graph/Gr.fst"):
        (model / rel).parent.mkdir(parents=True, exist_ok=True)
        (model / rel).write_bytes(os.urandom(4096))
    args = ("--engine", "vosk", "--lang", "ko", "--model", str(model))
    r = _file_run(tmp_path, _mic(tmp_path, espeak), *args)
    err = _clean(r)
    assert r.returncode == 1, err[-2000:]
    assert f"coach: {model}" in err and "model" in err.lower()


def test_tts_with_unreadable_espeak_data_fails_cleanly(tmp_path: Path, espeak: object) -> None:
    """Real: espeak-ng pointed at an empty data folder, and an empty speech cache."""
    empty = tmp_path / "espeak-data"
    empty.mkdir()
    env = {"ESPEAK_DATA_PATH": str(empty), "COACH_CACHE_DIR": str(tmp_path / "cache")}
    r = _file_run(tmp_path, _mic(tmp_path, espeak), env=env)
    err = _clean(r)
    assert r.returncode != 0, err[-2000:]
    assert "coach: espeak-ng" in err, err[-2000:]


def test_broken_voice_file_is_refused_with_file_and_line(tmp_path: Path, espeak: object) -> None:
    voices = Path(os.environ["COACH_CONFIG_DIR"]) / "voices"
    voices.mkdir(parents=True)
    (voices / "broken.toml").write_text('voice = "gmw/en-us"\nrate = "fast"\n')
    r = _file_run(tmp_path, _mic(tmp_path, espeak), "--voice", "broken")
    err = _clean(r)
    assert r.returncode == 2
    assert f"{voices / 'broken.toml'}:" in err


def test_locked_database_is_refused_cleanly(tmp_path: Path, espeak: object) -> None:
    db = tmp_path / "h.sqlite3"
    History(db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, time\n"
         f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
         "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        r = _file_run(tmp_path, _mic(tmp_path, espeak))
    finally:
        holder.kill()
        holder.wait()
    err = _clean(r)
    assert r.returncode != 0
    assert "locked" in err and "coach:" in err


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 200 KiB tmpfs (we are root here); unmounted afterwards."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, f"mount tmpfs failed (needs root): {r.stderr}"
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_during_the_session_ends_as_fault(
    tmp_path: Path, espeak: object, tiny_disk: Path
) -> None:
    db = tiny_disk / "h.sqlite3"
    History(db).close()
    # fill the disk, leaving a few KiB: the session starts, then its writes run out of space
    free = os.statvfs(tiny_disk).f_bavail * os.statvfs(tiny_disk).f_frsize
    (tiny_disk / "filler").write_bytes(b"\0" * max(0, free - 48 * 1024))
    args = ["--reps", "10"]
    mic = _mic(tmp_path, espeak)
    cmd = ["run", "trunk-rotation", "--tempo", "10", "--plain", "--mic-file", str(mic)]
    cmd += ["--speaker-file", str(tmp_path / "speaker.wav"), "--events", str(tmp_path / "ev.jsonl")]
    r = subprocess.run(
        [sys.executable, "-m", "coach", *cmd, "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    err = _clean(r)
    if r.returncode == 0 or "full" not in err:
        # the session fitted in the space left: say what happened rather than pass silently
        pytest.fail(f"the disk never filled up (exit {r.returncode}): {err[-1500:]}")
    assert r.returncode == 1
    assert "coach:" in err
    ended = [e for e in _events(tmp_path / "ev.jsonl") if e["type"] == "ended"]
    assert ended and ended[-1]["reason"] == "fault", (
        err[-1500:],
        _events(tmp_path / "ev.jsonl")[-3:],
    )
    at = int(float(ended[-1]["t"]) * 16000)  # type: ignore[arg-type]
    out = read_wav(tmp_path / "speaker.wav")
    assert rms(out[at + 400 : at + 4000]) < SILENT_RMS  # the cue is cut at once


# --- live faults on our own PulseAudio server ---------------------------------------------------


@pytest.fixture
def own_audio() -> Iterator[dict[str, str]]:
    """A separate virtual-audio server for this test (we unload its modules)."""
    with private_server(LIVE_DIR) as env:
        yield env


def _module_id(env: dict[str, str], needle: str) -> str:
    for line in pactl(env, "list", "short", "modules").splitlines():
        if needle in line:
            return line.split("\t")[0]
    raise AssertionError(f"no module matching {needle!r}")


def _live(tmp_path: Path, env: dict[str, str], fault: str) -> tuple[int, str, np.ndarray, float]:
    """Start a live session, wait until the coach is speaking, cause `fault`, and return
    (exit code, stderr, speaker monitor recording, fault time in the recording in seconds)."""
    events = tmp_path / "events.jsonl"
    db = tmp_path / "h.sqlite3"
    cmd = [sys.executable, "-m", "coach", "run", "trunk-rotation", "--plain"]
    cmd += ["--events", str(events), "--db", str(db)]
    with Recorder() as rec:
        p = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
        )
        deadline = time.monotonic() + 60
        while not any(e["type"] == "cue" for e in _events(events)):
            assert p.poll() is None, p.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the coach never started speaking"
            time.sleep(0.05)
        time.sleep(0.8)  # mid-cue
        t_fault = time.monotonic() - rec.t_start
        if fault in ("SIGINT", "SIGTERM"):
            p.send_signal(getattr(signal, fault))
        elif fault == "speaker":
            pactl(env, "unload-module", _module_id(env, "sink_name=speaker"))
        elif fault == "server":  # the sound server itself dies (our own one, by its id)
            os.kill(int((Path(LIVE_DIR) / "runtime" / "pid").read_text()), signal.SIGTERM)
        try:
            _, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            raise AssertionError(
                f"coach did not end within 30 s of the fault: {err[-2000:]}"
            ) from None
        # keep listening at least 1.5 s past the fault (parecord itself lags a little)
        time.sleep(max(0.3, t_fault + 1.5 - (time.monotonic() - rec.t_start)))
        audio = rec.stop()
    return p.returncode, err, audio, t_fault


def _assert_was_speaking_then_silent(audio: np.ndarray, t_fault: float) -> None:
    i = int(t_fault * 16000)
    assert len(audio) > i + 16000, (
        f"the monitor recording is too short ({len(audio) / 16000:.1f} s)"
    )
    before = audio[max(0, i - 8000) : i]
    assert np.sqrt(np.mean(before**2)) > 0.005, "the coach was not speaking when the fault came"
    after = audio[i + 16000 :]
    blocks = [np.sqrt(np.mean(after[k : k + 320] ** 2)) for k in range(0, len(after) - 320, 320)]
    loud = [k for k, b in enumerate(blocks) if b > SILENT_RMS]
    assert not loud, f"sound {loud[0] * 0.02 + 1:.2f} s after the fault"


@pytest.mark.audio
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_signal_mid_cue_silences_and_records(
    tmp_path: Path, own_audio: dict[str, str], sig: str
) -> None:
    code, err, audio, t = _live(tmp_path, own_audio, sig)
    _clean((code, err))
    assert code == 130, err[-2000:]
    assert "coach: interrupted" in err
    _assert_was_speaking_then_silent(audio, t)
    assert _history_reason(tmp_path / "h.sqlite3") == "stopped"


@pytest.mark.audio
def test_speaker_disappears_mid_session(tmp_path: Path, own_audio: dict[str, str]) -> None:
    code, err, _audio, _t = _live(tmp_path, own_audio, "speaker")
    _clean((code, err))
    assert code != 0, err[-2000:]
    assert "coach:" in err
    assert _history_reason(tmp_path / "h.sqlite3") == "fault"
    # the sink is gone, so its monitor is gone too: nothing can be heard by construction
    assert "speaker" not in pactl(own_audio, "list", "short", "sinks")


@pytest.mark.audio
def test_sound_server_dies_mid_session(tmp_path: Path, own_audio: dict[str, str]) -> None:
    """The reopen tries fail at once (no server), the session ends as a fault with a message,
    and the process ends too: PortAudio's close of the dead stream can hang, and that must
    not keep `coach` alive (exit_now_if_hung)."""
    code, err, _audio, _t = _live(tmp_path, own_audio, "server")  # fails if not ended in 30 s
    _clean((code, err))
    assert code != 0, err[-2000:]
    assert "coach:" in err and "stream" in err, err[-2000:]
    assert _history_reason(tmp_path / "h.sqlite3") == "fault"


def test_sqlite_lock_helper_really_locks(tmp_path: Path) -> None:
    """Control for the locked-database test: the holder's lock does block a writer."""
    db = tmp_path / "x.sqlite3"
    History(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(db, timeout=0.1)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("CREATE TABLE t(x)")
    holder.execute("ROLLBACK")
