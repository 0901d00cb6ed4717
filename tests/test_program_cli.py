"""Whole programs in simulated time through the file back end, with the REAL listener hearing REAL
synthesized user speech (espeak-ng, as tests/test_session_cli.py): `coach run daily-back` with
nobody speaking between the exercises; pain in the second exercise, then yes or no to carrying
on; a stop in a rest; a change of position that waits for "ready". The events, and one history
record per exercise. The simulated user says a word again when the coach does not react (as a
person would), and every "no" has the same outcome as silence, so nothing rests on one clip
being recognized once."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from coach import paths
from coach.app.demo import Reaction, SimulatedUser, mic_track
from coach.app.runner import RunResult
from coach.audio.format import RATE, write_wav
from coach.exercise.program import (
    GO_ON_PROMPT,
    READY_PROMPT,
    begin_text,
    go_on_text,
    load_programs,
    position_text,
    rest_text,
    skip_text,
)
from coach.exercise.routine import load_library
from coach.history.db import History
from coach.history.program_runs import program_runs
from coach.session import safety
from tests.conftest import coach_cli
from tests.test_session_cli import (
    assert_cut,
    commands,
    cues,
    first,
    on,
    on_cue,
    simulate,
    voice,
)

LIB = load_library()
DAILY = load_programs(LIB)["daily-back"]
TR, PT, SK, DB = (e.routine for e in DAILY.exercises)
CC = LIB["cat-camel"]
Pred = Callable[[str, dict[str, Any]], bool]


def of(events: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == type_]


def then(a: Pred, b: Pred) -> Pred:
    """b, once a has been seen."""
    seen = [False]

    def when(type_: str, d: dict[str, Any]) -> bool:
        if seen[0]:
            return b(type_, d)
        seen[0] = a(type_, d)
        return False

    return when


def records(db: Path) -> list[tuple[str, str | None, int, int]]:
    with History(db) as h:
        return [(s.routine, s.end_reason, s.reps_left, s.reps_right) for s in h.sessions()]


def ready() -> Reaction:
    return Reaction(on_cue(safety.HEARING_PROMPT), 2.5, voice("ready"), "ready", retries=2)


def run_program(
    tmp_path: Path, name: str, reactions: list[Reaction]
) -> tuple[RunResult, SimulatedUser]:
    return simulate(tmp_path, [ready(), *reactions], echo=0.0, routine=name, reps=None)


def test_daily_back_through_the_cli_nobody_speaks_between_the_exercises(tmp_path: Path) -> None:
    # "ready", and once more after the coach would have asked again (if the first was not
    # heard); heard the first time, the second falls in the briefing and changes nothing
    mic = tmp_path / "mic.wav"
    write_wav(mic, mic_track([(2.5, voice("ready")), (15.0, voice("ready"))], 5.0), RATE)
    ev, db = tmp_path / "ev.jsonl", tmp_path / "h.sqlite3"
    r = coach_cli(
        "run", "daily-back", "--tempo", "10", "--plain", "--mic-file", str(mic),
        "--speaker-file", str(tmp_path / "spk.wav"), "--events", str(ev), "--db", str(db),
        timeout=900,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    events = [json.loads(x) for x in ev.read_text().splitlines()]
    assert set(commands(events)) == {"ready"}
    started = of(events, "started")
    assert [(e["routine"], e["exercise"]) for e in started] == [
        (ex.routine.id, n) for n, ex in enumerate(DAILY.exercises, 1)
    ]
    assert all(e["program"] == "daily-back" for e in started)
    ended = of(events, "ended")
    assert [e["reason"] for e in ended] == ["completed"] * 4
    assert [e["reps"]["right"] for e in ended] == [ex.reps for ex in DAILY.exercises]
    for end, nxt, ex in zip(ended, started[1:], DAILY.exercises, strict=False):
        assert nxt["t"] - end["t"] == pytest.approx(ex.rest_s, abs=0.05)  # timed
        said = cues(events, end["t"])
        assert said[:2] == [rest_text(LIB[nxt["routine"]]), begin_text(LIB[nxt["routine"]])]
    assert of(events, "program")[-1]["reason"] == "completed"
    assert "coach: session ended: completed" in r.stderr
    assert records(db) == [(ex.routine.id, "completed", ex.reps, ex.reps) for ex in DAILY.exercises]
    with History(db) as h:  # and one program run holding them, in order
        (run,) = program_runs(h)
    assert (run.program, run.end_reason, run.left_out) == ("daily-back", "completed", ())
    assert [(s.routine, s.reps_right) for s in run.exercises] == [
        (ex.routine.id, ex.reps) for ex in DAILY.exercises
    ]


def pain_in_pelvic_tilt() -> list[Reaction]:
    return [
        Reaction(then(on("started", routine=PT.id), on("state", state="exercising")), 4.0,
                 voice("pain"), "pain", retries=2),
        Reaction(on_cue(safety.OFFER_QUESTION), 2.0, voice("no"), "no", retries=1,
                 retry_after=2.0),
    ]  # fmt: skip


def test_pain_in_pelvic_tilt_then_yes_leaves_out_what_bends_forward(tmp_path: Path) -> None:
    result, _ = run_program(tmp_path, "daily-back", [
        *pain_in_pelvic_tilt(),
        Reaction(on_cue(GO_ON_PROMPT), 1.5, voice("yes"), "yes", retries=2, retry_after=2.0),
    ])  # fmt: skip
    ev = result.events
    t_pain = first(ev, "command", intent="pain")["t"]
    assert cues(ev, t_pain)[:3] == [*safety.PAIN_ADVICE, safety.RED_FLAGS]
    assert go_on_text([DB]) in cues(ev, t_pain)
    assert [e["routine"] for e in of(ev, "started")] == [TR.id, PT.id, DB.id]
    assert of(ev, "left-out") == [first(ev, "left-out")]
    assert first(ev, "left-out")["routine"] == SK.id
    t_yes = first(ev, "command", intent="yes")["t"]
    assert cues(ev, t_yes)[:2] == [skip_text(SK, ["flexion"]), begin_text(DB)]
    assert [e["reason"] for e in of(ev, "ended")] == ["completed", "pain", "completed"]
    with History(tmp_path / "h.sqlite3") as h:
        (run,) = program_runs(h)
    assert run.left_out == (SK.id,)
    assert [(s.routine, s.end_reason) for s in run.exercises] == [
        (TR.id, "completed"), (PT.id, "pain"), (DB.id, "completed"),
    ]  # fmt: skip
    assert result.reason == "completed" and result.routines == [TR.id, PT.id, DB.id]
    recs = records(tmp_path / "h.sqlite3")
    assert [(r[0], r[1]) for r in recs] == [(TR.id, "completed"), (PT.id, "pain"),
                                            (DB.id, "completed")]  # fmt: skip
    prog = of(ev, "program")[-1]
    assert prog["ran"] == [TR.id, PT.id, DB.id] and prog["left_out"] == [SK.id]


def test_pain_in_pelvic_tilt_then_no_ends_the_program(tmp_path: Path) -> None:
    result, _ = run_program(tmp_path, "daily-back", [
        *pain_in_pelvic_tilt(),
        Reaction(on_cue(GO_ON_PROMPT), 1.5, voice("no"), "no", retries=1, retry_after=2.0),
    ])  # fmt: skip
    ev = result.events
    assert [e["routine"] for e in of(ev, "started")] == [TR.id, PT.id]  # nothing resumed
    assert cues(ev)[-1] == safety.OFFER_DECLINED and not of(ev, "left-out")
    assert result.reason == "pain"
    assert [(r[0], r[1]) for r in records(tmp_path / "h.sqlite3")] == [
        (TR.id, "completed"), (PT.id, "pain"),
    ]  # fmt: skip


TURN = """id = "turn"
name = "Tilt and camel"
[[exercise]]
routine = "pelvic-tilt"
reps = 5
rest = 10
[[exercise]]
routine = "cat-camel"
reps = 5
"""


@pytest.fixture
def turn() -> str:
    folder = paths.user_routines_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "turn.program.toml").write_text(TURN)
    return "turn"


def test_stop_in_a_rest_is_silent_at_once_and_ends_the_program(tmp_path: Path, turn: str) -> None:
    result, user = run_program(tmp_path, turn, [
        Reaction(on_cue(rest_text(CC)), 0.8, voice("stop"), "stop", retries=2),
    ])  # fmt: skip
    ev = result.events
    assert_cut(user, "stop", first(ev, "cue", text=safety.STOPPING)["t"])
    assert result.reason == "stopped" and [e["routine"] for e in of(ev, "started")] == [PT.id]
    assert cues(ev)[-1] == safety.STOPPING
    assert of(ev, "program")[-1]["reason"] == "stopped"
    assert records(tmp_path / "h.sqlite3") == [(PT.id, "completed", 5, 5)]  # not amended


def test_a_change_of_position_waits_for_ready_then_stop_ends_all(tmp_path: Path, turn: str) -> None:
    result, _ = run_program(tmp_path, turn, [
        Reaction(on_cue(READY_PROMPT), 5.0, voice("ready"), "ready", retries=2),
        Reaction(on("state", state="exercising"), 3.0, voice("stop"), "stop", retries=2),
    ])  # fmt: skip
    ev = result.events
    t_prompt = first(ev, "cue", text=READY_PROMPT)["t"]
    assert first(ev, "cue", text=position_text(CC))["t"] < t_prompt
    assert first(ev, "state", state="getting-ready")["t"] < t_prompt
    t_ready = [e["t"] for e in ev if e["type"] == "command" and e["intent"] == "ready"][-1]
    cc_start = first(ev, "started", routine=CC.id)
    assert t_ready <= cc_start["t"] < t_ready + 0.1 and cc_start["exercise"] == 2
    assert result.reason == "stopped" and [e["reason"] for e in of(ev, "ended")] == [
        "completed", "stopped",
    ]  # fmt: skip
    assert [(r[0], r[1]) for r in records(tmp_path / "h.sqlite3")] == [
        (PT.id, "completed"), (CC.id, "stopped"),
    ]  # fmt: skip
