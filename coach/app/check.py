"""`coach check`: can a session run here? Checks each part a session needs, for real.

The user is about to lie down and stop touching the keyboard, so everything that could stop the
coach from hearing "stop" is tried first: the database opens (nothing written: a rolled-back
probe), speech renders with the chosen voice (into a throw-away cache, so the engine really runs),
the recognizer and its model load, the speaker plays a tone (heard back on the speaker's monitor
where PulseAudio has one), and the microphone delivers a live signal in which the real listener
hears the user say "ready", then "stop" and "pain", each asked aloud (coach/app/check_words.py). Each
item is a CheckResult with a fix when it failed.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from coach import paths
from coach.app.check_result import CheckOptions, CheckResult, failed, open_device
from coach.audio.levels import level_db

TONE_HZ = 880.0
TONE_S = 0.5
TONE_DB = -12.0
HEARD_DB = -50.0  # the tone counts as heard on the monitor above this level at TONE_HZ
FLAT = 1e-7  # a block whose peak is below this is digital silence (muted or dead input)


# --- database ---------------------------------------------------------------------------------


def check_database(db: str | None = None) -> CheckResult:
    """Open the history the session will use; prove it is writable without writing anything."""
    path = Path(db).expanduser() if db else paths.db_path()
    if not path.exists():
        folder = path.parent
        probe_dir = folder
        while not probe_dir.exists():
            probe_dir = probe_dir.parent
        try:
            with tempfile.NamedTemporaryFile(dir=probe_dir, prefix=".coach-check-"):
                pass
        except OSError as e:
            return CheckResult(
                "database",
                False,
                f"cannot create the history database in {folder}: {e.strerror or e}",
                "make the folder writable, or choose another file with --db or COACH_DB",
            )
        return CheckResult("database", True, f"{path} (new; will be created by the first session)")
    try:
        from coach.history.db import History

        with History(path, create=False) as h:
            n = len(h.sessions())
        conn = sqlite3.connect(path, timeout=1.0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")  # takes the write lock: proves we could write...
            conn.execute("ROLLBACK")  # ...and writes nothing
        finally:
            conn.close()
    except sqlite3.OperationalError as e:
        locked = "locked" in str(e) or "busy" in str(e)
        return CheckResult(
            "database",
            False,
            f"{path}: {'locked by another program' if locked else e}",
            "close the other coach (or program) using it"
            if locked
            else "check the file's permissions, or choose another file with --db or COACH_DB",
        )
    except Exception as e:  # HistoryError carries its own hint
        return failed("database", e, "choose another file with --db or COACH_DB")
    return CheckResult("database", True, f"{path} ({n} sessions, writable)")


# --- speech -----------------------------------------------------------------------------------


def check_speech(voice_name: str | None = None) -> tuple[CheckResult, np.ndarray | None]:
    """Render one line with the chosen voice, bypassing the cache so the engine really runs."""
    try:
        from coach.speech.tts import SpeechRenderer
        from coach.speech.voice import get_voice

        voice = get_voice(voice_name)
        if voice.engine == "piper":  # a natural voice that cannot load is not what was asked for
            from coach.speech.piper_voice import unavailable

            if (err := unavailable()) is not None:
                why = f"voice {voice.name!r} cannot load: {err.message}; a session would speak "
                return CheckResult("speech", False, why + f"with {voice.fallback!r} instead",
                                   err.hint), None  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="coach-check-") as tmp:
            audio = SpeechRenderer(cache_dir=tmp).render("The coach can speak.", voice)
    except Exception as e:
        return failed("speech", e, "run ./scripts/setup (it installs espeak-ng)"), None
    level = level_db(audio)
    if len(audio) < 1600 or level < -50:
        return (
            CheckResult(
                "speech",
                False,
                f"voice {voice.name!r} rendered {'nothing' if len(audio) < 1600 else 'silence'}",
                f"check the voice file {voice.path} (volume) and espeak-ng (`espeak-ng -v {voice.espeak} hello`)"
                if voice.engine == "espeak"
                else f"check the voice file {voice.path} (volume)",
            ),
            None,
        )
    return (
        CheckResult(
            "speech",
            True,
            f"voice {voice.name!r} ({voice.speaks_with}): rendered {len(audio) / 16000:.1f} s at {level:.0f} dBFS",
        ),
        audio,
    )


# --- recognizer -------------------------------------------------------------------------------


def check_recognizer(engine: str, lang: str, model: str | None) -> tuple[CheckResult, Any]:
    try:
        from coach.listening.factory import make_listener

        listener = make_listener(engine, lang, model)
    except Exception as e:
        return (
            failed(
                "recognizer",
                e,
                f"coach model install {lang}  (or --engine pocketsphinx for English)",
            ),
            None,
        )
    return (
        CheckResult("recognizer", True, f"{listener.engine_name}, language {lang}"),
        listener,
    )


# --- speaker and microphone -------------------------------------------------------------------


def monitor_source() -> str | None:
    """The PulseAudio monitor of the sink the coach plays to, if there is one (pactl)."""
    pactl = shutil.which("pactl")
    if not pactl:
        return None
    try:
        sink = (
            os.environ.get("PULSE_SINK")
            or subprocess.run(
                [pactl, "get-default-sink"], capture_output=True, text=True, timeout=3
            ).stdout.strip()
        )
        sources = subprocess.run(
            [pactl, "list", "short", "sources"], capture_output=True, text=True, timeout=3
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    names = {line.split("\t")[1] for line in sources.splitlines() if "\t" in line}
    mon = f"{sink}.monitor"
    return mon if sink and mon in names else None


class _MonitorRecorder:
    """parecord on the monitor, in its own process (like a second person listening)."""

    def __init__(self, source: str) -> None:
        self.proc = subprocess.Popen(
            ["parecord", f"--device={source}", "--rate=16000", "--channels=1"]
            + ["--format=s16le", "--raw", "--latency-msec=20"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> np.ndarray:
        if self.proc.poll() is None:
            self.proc.terminate()
        data, _ = self.proc.communicate(timeout=5)
        return np.frombuffer(data[: len(data) // 2 * 2], "<i2").astype(np.float32) / 32768.0


def tone(seconds: float = TONE_S, hz: float = TONE_HZ, db: float = TONE_DB) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    env = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.02)  # 20 ms fades: no click
    return (10 ** (db / 20) * env * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def tone_level(x: np.ndarray, hz: float = TONE_HZ) -> float:
    """Level (dBFS) of the `hz` component in x, through a narrow FFT band."""
    if len(x) < 1024:
        return -200.0
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) / (len(x) / 4)
    freqs = np.fft.rfftfreq(len(x), 1 / 16000)
    band = (freqs > hz - 20) & (freqs < hz + 20)
    return 20 * np.log10(max(float(spec[band].max()), 1e-10))


def check_speaker() -> CheckResult:
    """Play a short tone through the same stream type a session uses; hear it on the monitor."""
    mon = monitor_source()
    rec = _MonitorRecorder(mon) if mon else None
    if rec:
        time.sleep(0.3)  # the recorder's stream must be up before the tone
    try:
        io = open_device()
        try:
            clip = np.concatenate([np.zeros(1600, np.float32), tone(), np.zeros(4800, np.float32)])
            for i in range(0, len(clip), io.block):
                io.exchange(clip[i : i + io.block])
        finally:
            io.close()
    except Exception as e:
        if rec:
            rec.stop()
        return failed("speaker", e)
    if not rec:
        return CheckResult(
            "speaker", True, "played a tone (no monitor source to confirm it; did you hear it?)"
        )
    time.sleep(0.2)
    level = tone_level(rec.stop())
    if level < HEARD_DB:
        return CheckResult(
            "speaker",
            False,
            f"played a tone but {mon} stayed silent ({level:.0f} dBFS at {TONE_HZ:.0f} Hz)",
            "unmute the speaker and turn the volume up (pactl set-sink-mute @DEFAULT_SINK@ 0)",
        )
    return CheckResult("speaker", True, f"played a tone and heard it on {mon} ({level:.0f} dBFS)")


def check_microphone(
    listener: Any, opts: CheckOptions, say: Callable[[str], None] = print
) -> CheckResult:
    """A level meter, then (with a prompt) the real listener must hear the user say "ready"."""
    from coach.intents import Intent

    try:
        io = open_device()
    except Exception as e:
        return failed("microphone", e)
    peak, heard, blocks = 0.0, None, 0
    levels: list[float] = []
    try:
        zeros = np.zeros(io.block, np.float32)
        if listener is not None:
            listener.reset()
            listener.expect({Intent.READY})
        meter_blocks = int(opts.level_s * 16000 / io.block)
        listen_blocks = int(opts.listen_s * 16000 / io.block) if opts.prompt else 0
        for i in range(meter_blocks + listen_blocks):
            if i == meter_blocks and listen_blocks:
                say('  say "ready" now ...')
            mic = io.exchange(zeros)
            blocks += 1
            peak = max(peak, float(np.max(np.abs(mic))))
            levels.append(level_db(mic))
            if i % 25 == 24 and sys.stdout.isatty():
                bar = "#" * max(0, int((max(levels[-25:]) + 70) / 2))
                print(
                    f"\r  mic level {max(levels[-25:]):6.1f} dBFS |{bar:<35}|", end="", flush=True
                )
            if listener is not None and i >= meter_blocks:
                for d in listener.feed(mic, zeros):
                    if d.intent == Intent.READY:
                        heard = d
                if heard is not None:
                    break
    except Exception as e:
        return failed("microphone", e)
    finally:
        io.close()
        if sys.stdout.isatty():
            print()
    top = max(levels) if levels else -200.0
    if blocks == 0:
        return CheckResult("microphone", False, "no microphone frames arrived")
    if peak < FLAT:
        return CheckResult(
            "microphone",
            False,
            f"the microphone delivers digital silence ({blocks * 20 / 1000:.1f} s, peak 0)",
            "unmute it and raise its input volume (pactl set-source-mute @DEFAULT_SOURCE@ 0; "
            "pavucontrol or alsamixer)",
        )
    if not opts.prompt:
        return CheckResult("microphone", True, f"live signal, loudest block {top:.0f} dBFS")
    if listener is None:
        return CheckResult(
            "microphone",
            False,
            f"live signal (loudest {top:.0f} dBFS), but no recognizer to listen with",
            "fix the recognizer first",
        )
    if heard is None:
        return CheckResult(
            "microphone",
            False,
            f'did not hear "ready" within {opts.listen_s:g} s (loudest block {top:.0f} dBFS)',
            "speak up or move the microphone closer; check its input volume; "
            "or run `coach check --no-prompt` to test the signal only",
        )
    return CheckResult(
        "microphone",
        True,
        f'heard "{heard.phrase}" (confidence {heard.confidence:.2f}, loudest block {top:.0f} dBFS)',
    )


def run_checks(
    opts: CheckOptions,
    report: Callable[[CheckResult], None],
    say: Callable[[str], None] = print,
) -> list[CheckResult]:
    """Every check, in the order a session needs them; `report` is called as each finishes."""
    results: list[CheckResult] = []

    def add(r: CheckResult) -> None:
        results.append(r)
        report(r)

    add(check_database(opts.db))
    add(check_speech(opts.voice)[0])
    rec, listener = check_recognizer(opts.engine, opts.lang, opts.model)
    add(rec)
    add(check_speaker())
    mic = check_microphone(listener, opts, say)
    add(mic)
    if mic.ok and opts.prompt and listener is not None:
        from coach.app.check_words import check_safety_words

        add(check_safety_words(listener, opts, say))
    return results
