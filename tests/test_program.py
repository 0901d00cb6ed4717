"""Programs as data: the built-in ones, the errors a user gets (file, line, field; exit 2), a
broken program nobody asked for (a warning), `coach list`, and `coach export PROGRAM`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coach import paths
from coach.errors import DataFileError, UsageError
from coach.exercise.program import find_program, load_program, load_programs
from coach.exercise.routine import load_library
from tests.conftest import coach_cli

LIB = load_library()
GOOD = """id = "mine"
name = "My program"
summary = "Two exercises."

[[exercise]]
routine = "pelvic-tilt"
reps = 6
tempo = 7
rest = 30

[[exercise]]
routine = "trunk-rotation"
"""


def write(text: str, name: str = "mine") -> Path:
    folder = paths.user_routines_dir()
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / f"{name}.program.toml"
    p.write_text(text)
    return p


def test_the_built_in_programs() -> None:
    progs = load_programs(LIB, [paths.BUILTIN_ROUTINES])
    assert [e.routine.id for e in progs["daily-back"].exercises] == [
        "trunk-rotation", "pelvic-tilt", "single-knee-to-chest", "diaphragmatic-breathing",
    ]  # fmt: skip
    assert len(progs) >= 2 and "gentle-morning" in progs
    for p in progs.values():
        for e in p.exercises:
            assert e.routine.reps_min <= e.reps <= e.routine.reps_max
        assert p.exercises[-1].rest_s == 0 and all(e.rest_s >= 5 for e in p.exercises[:-1])
    assert not set(progs) & set(LIB)  # and no routine is taken for a program
    gm = progs["gentle-morning"].exercises
    assert len({e.routine.position for e in gm}) == 2  # it changes position once


def test_a_user_program_loads_with_its_defaults(coach_dirs: Path) -> None:
    write(GOOD)
    p = find_program("mine")
    assert p is not None and p.path.parent == paths.user_routines_dir()
    assert p.per_day == 2  # the default: once or twice a day
    pt, tr = p.exercises
    assert (pt.reps, pt.tempo, pt.rest_s) == (6, 7.0, 30.0)
    assert (tr.reps, tr.tempo, tr.rest_s) == (LIB["trunk-rotation"].reps_default, None, 0.0)
    assert "mine" not in load_library()  # a program file is no routine
    assert find_program("trunk-rotation") is None and find_program("x.toml") is None


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ('routine = "trunk-rotation"', 'routine = "trunk-rotaton"', "exercise[1].routine",
         "unknown routine 'trunk-rotaton'"),
        ("reps = 6", "reps = 12", "exercise[0].reps", "out of range 5..10"),
        ("tempo = 7", "tempo = 12", "exercise[0].tempo", "out of range 3.0..10.0"),
        ("rest = 30", "rest = 1", "exercise[0].rest", "out of range 5.0..300.0"),
        ('routine = "trunk-rotation"', 'routine = "trunk-rotation"\nrest = 20',
         "exercise[1].rest", "the last exercise has no rest"),
        ("reps = 6", "reps = 6\nrepz = 3", "exercise[0].repz", "unknown field"),
        ('id = "mine"', 'id = "yours"', "id", "must match the file name"),
        ('name = "My program"', 'name = "My program, again"', "name", "sounds like 'pain'"),
        ("reps = 6", 'reps = "six"', "exercise[0].reps", "must be int"),
        ('name = "My program"', 'name = "My program"\nper_day = 11', "per_day", "out of range 1..10"),
    ],
)  # fmt: skip
def test_mistakes_name_file_line_and_field(
    coach_dirs: Path, old: str, new: str, field: str, words: str
) -> None:
    assert old in GOOD
    p = write(GOOD.replace(old, new))
    with pytest.raises(DataFileError) as e:
        find_program("mine")
    err = e.value
    assert err.path == p and err.field == field and err.line is not None, str(err)
    key = field.split(".")[-1].split("[")[0]
    assert key in p.read_text().splitlines()[err.line - 1], (str(err), err.line)
    assert words in str(err)
    assert "mine" not in load_programs()  # nobody asked: skipped, the rest loads


def test_a_program_needs_its_own_id_and_at_least_one_exercise(coach_dirs: Path) -> None:
    with pytest.raises(DataFileError, match="already a routine's id"):
        load_program(write(GOOD.replace('id = "mine"', 'id = "pelvic-tilt"'), "pelvic-tilt"), LIB)
    with pytest.raises(DataFileError, match=r"needs 1 to 12 \[\[exercise\]\]") as e:
        load_program(write('id = "mine"\nname = "Empty"\nexercise = []\n'), LIB)
    assert e.value.line == 3


def test_a_name_that_puts_a_command_word_in_a_rest_sentence_is_refused(coach_dirs: Path) -> None:
    tilt = (paths.BUILTIN_ROUTINES / "pelvic-tilt.toml").read_text()
    folder = paths.user_routines_dir()
    folder.mkdir(parents=True)
    (folder / "tilt-now.toml").write_text(
        tilt.replace('id = "pelvic-tilt"', 'id = "tilt-now"').replace(
            'name = "Pelvic tilt"', 'name = "Tilt now"'
        )
    )  # a routine's name is not a cue, but a program would say it
    p = write(GOOD.replace('routine = "trunk-rotation"', 'routine = "tilt-now"'))
    with pytest.raises(DataFileError) as e:
        find_program("mine")
    assert e.value.field == "exercise[1].routine" and "sounds like 'no'" in str(e.value)
    assert e.value.path == p and "Let's begin Tilt now." in str(e.value)


def test_unknown_file_and_reps_for_a_program_are_usage_mistakes(coach_dirs: Path) -> None:
    with pytest.raises(UsageError, match="no such program file"):
        find_program("/nonexistent/x.program.toml")
    r = coach_cli("run", "daily-back", "--reps", "5", "--no-listen")
    assert r.returncode == 2 and "--reps is for a routine" in r.stderr, r.stderr


def test_the_cli_lists_programs_apart_and_a_broken_one_is_a_warning(coach_dirs: Path) -> None:
    bad = write(GOOD.replace("reps = 6", "reps = 12"), "my-broken")
    bad.write_text(bad.read_text().replace('id = "mine"', 'id = "my-broken"'))
    r = coach_cli("list")
    assert r.returncode == 0, r.stderr
    routines, programs = r.stdout.split("\nPrograms")
    assert "daily-back" in programs and "daily-back" not in routines
    assert "trunk-rotation 5, pelvic-tilt 8" in programs and "my-broken" not in r.stdout
    line = next(i for i, x in enumerate(bad.read_text().splitlines(), 1) if "reps = 12" in x)
    assert (f"coach: warning: skipped a broken program file: {bad}:{line}: field "
            "'exercise[0].reps'") in r.stderr  # fmt: skip
    data = json.loads(coach_cli("list", "--json").stdout)
    assert {d["id"] for d in data["routines"]} == set(LIB)
    daily = next(p for p in data["programs"] if p["id"] == "daily-back")
    assert [e["routine"] for e in daily["exercises"]][:2] == ["trunk-rotation", "pelvic-tilt"]
    assert daily["exercises"][0] == {"routine": "trunk-rotation", "reps": 5, "tempo": None,
                                     "rest_s": 20.0}  # fmt: skip
    r = coach_cli("run", "my-broken", "--no-listen")  # asked for: the error, exit 2
    assert r.returncode == 2 and r.stderr.startswith(f"coach: {bad}:{line}: field"), r.stderr
    assert "Traceback" not in r.stderr


def test_export_renders_a_whole_program(tmp_path: Path) -> None:
    from coach.audio.format import RATE, read_wav
    from coach.exercise.choreography import script
    from coach.exercise.tempo import Tempo

    out = tmp_path / "gm.wav"
    r = coach_cli("export", "gentle-morning", "-o", str(out), "-q", "--tempo", "10")
    assert r.returncode == 0, r.stderr
    assert "Gentle morning, 3 exercises, 10 breaths/min" in r.stdout
    gm = load_programs()["gentle-morning"]
    breathing = 0.0
    for e in gm.exercises:
        t = Tempo(e.tempo or 10)
        breathing += sum(t.phase_seconds(b.phase) for b in script(e.routine, e.reps))
    rests = sum(e.rest_s for e in gm.exercises)
    seconds = len(read_wav(out)) / RATE
    assert breathing + rests + 15.0 < seconds < breathing + rests + 15.0 + 20.0
