"""Voice comfort through `coach run` on the file back end (simulated time), the REAL listener hearing
REAL synthesized user speech (espeak-ng, as tests/test_session_cli.py) with the default listener
(phonemes + Whisper; the bundled pocketsphinx missed an espeak-ng "quieter" said three times in a
row here, heard alone): louder, how many left,
quieter, skip in one session, the acknowledgements heard at their new level in the speaker track,
the end recorded as completed-early; the level remembered for the next run of that voice. The
simulated user says a word again when the coach does not react (as a person would), so nothing
rests on one clip being recognized once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from coach.app import output_level
from coach.app.demo import Reaction, SimulatedUser, mic_track
from coach.audio.format import RATE, read_wav, write_wav
from coach.exercise.routine import load_library
from coach.history.db import History
from coach.session import comfort, safety
from coach.speech.tts import SpeechRenderer
from coach.speech.voice import get_voice
from tests.conftest import coach_cli
from tests.test_session_cli import commands, cues, first, on, on_cue, ready_first, simulate, voice

LIB = load_library()
TR = LIB["trunk-rotation"]


def level_ratio_db(user: SimulatedUser, events: list[dict[str, Any]], text: str) -> float:
    """How much louder (dB) the speaker played `text` than it was rendered: its first 0.5 s in
    the speaker track against the same stretch of the clip."""
    t = first(events, "cue", text=text)["t"]
    clip = SpeechRenderer().render(text, get_voice(None))
    n = round(0.5 * RATE)
    a = round(t * RATE)
    played = user.coach_track[a : a + n]
    rendered = clip[:n]
    return float(20 * np.log10(np.sqrt(np.mean(played**2)) / np.sqrt(np.mean(rendered**2))))


def said_after(events: list[dict[str, Any]], intent: str) -> list[str]:
    return cues(events, first(events, "command", intent=intent)["t"])


def test_louder_how_many_left_quieter_and_skip_in_one_session(tmp_path: Path) -> None:
    result, user = simulate(tmp_path, [
        ready_first(),
        Reaction(on("state", state="exercising"), 2.5, voice("louder"), "louder", retries=2),
        Reaction(on_cue(comfort.LOUDER_OK), 1.0, voice("how many left"), "remaining", retries=2),
        Reaction(on("command", intent="remaining"), 4.0, voice("quieter"), "quieter", retries=2),
        Reaction(on_cue(comfort.QUIETER_OK), 1.0, voice("skip"), "skip", retries=2),
    ], echo=0.0, engine="auto")  # fmt: skip
    ev = result.events
    assert commands(ev) == ["ready", "louder", "remaining", "quieter", "skip"]
    assert [e["db"] for e in ev if e["type"] == "level"] == [4.0, 0.0]
    # each acknowledgement at the level it announces (+4 dB, then the voice's own again)
    assert 3.0 < level_ratio_db(user, ev, comfort.LOUDER_OK) < 4.5  # (the limiter: under 4)
    assert abs(level_ratio_db(user, ev, comfort.QUIETER_OK)) < 0.5
    answers = set(comfort.texts([TR]))
    assert any(t in answers and t.endswith("more.") for t in said_after(ev, "remaining"))
    assert said_after(ev, "skip")[0] == comfort.SKIP_END
    ended = first(ev, "ended")
    assert ended["reason"] == "completed-early" and result.reason == "completed-early"
    assert ended["reps"]["right"] < 5  # it ended before the last rep
    with History(tmp_path / "h.sqlite3") as h:
        assert [s.end_reason for s in h.sessions()] == ["completed-early"]
    assert output_level.load("calm") == 0.0  # back where it began: nothing to remember


def test_the_level_is_remembered_for_the_next_run_of_that_voice(tmp_path: Path) -> None:
    result, user = simulate(tmp_path, [
        ready_first(),
        Reaction(on("state", state="exercising"), 2.5, voice("quieter"), "quieter", retries=2),
        Reaction(on_cue(comfort.QUIETER_OK), 1.0, voice("quieter"), "quieter", retries=2),
        Reaction(on_cue(comfort.QUIETER_OK, nth=2), 1.0, voice("stop"), "stop", retries=2),
    ], echo=0.0, engine="auto")  # fmt: skip
    assert [e["db"] for e in result.events if e["type"] == "level"] == [-4.0, -8.0]
    assert output_level.load("calm") == -8.0 and output_level.load("clear") == 0.0
    # the next `coach run` (a new process) begins at -8 dB from its first word
    mic = tmp_path / "mic.wav"
    write_wav(mic, mic_track([(2.5, voice("ready")), (22.0, voice("stop"))], 30.0), RATE)
    ev, spk = tmp_path / "ev.jsonl", tmp_path / "spk.wav"
    r = coach_cli(
        "run", "trunk-rotation", "--tempo", "10", "--plain",
        "--mic-file", str(mic), "--speaker-file", str(spk), "--events", str(ev),
        "--db", str(tmp_path / "h2.sqlite3"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    events = [json.loads(x) for x in ev.read_text().splitlines()]
    assert events[0] == {"t": 0.0, "type": "level", "db": -8.0}
    played = read_wav(spk)
    t = first(events, "cue", text=safety.HEARING_PROMPT)["t"]
    clip = SpeechRenderer().render(safety.HEARING_PROMPT, get_voice(None))
    a, n = round(t * RATE), len(clip)
    ratio = np.sqrt(np.mean(played[a : a + n] ** 2)) / np.sqrt(np.mean(clip**2))
    assert abs(20 * np.log10(ratio) + 8.0) < 0.5
    # another voice keeps its own level
    assert output_level.load("clear") == 0.0
