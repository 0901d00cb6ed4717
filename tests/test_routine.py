"""Routines as data: the built-in library, cue hygiene against the language pack, user routines
and the errors a user gets for mistakes (file, line, field)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach import paths
from coach.errors import DataFileError, UsageError
from coach.exercise.routine import (
    INTENSITIES,
    MOTIONS,
    POSITIONS,
    command_words_in,
    cue_problems,
    get_routine,
    load_library,
    load_routine,
)
from coach.listening.langpack import load_langpack

SEED = paths.BUILTIN_ROUTINES / "trunk-rotation.toml"


def test_library_has_the_seed_and_at_least_eight_more() -> None:
    lib = load_library([paths.BUILTIN_ROUTINES])
    assert "trunk-rotation" in lib
    assert len(lib) >= 9
    for r in lib.values():
        assert r.position in POSITIONS and r.intensity in INTENSITIES
        assert r.motion and set(r.motion) <= set(MOTIONS)
        assert r.reps_min <= r.reps_default <= r.reps_max
        assert all(s.cue.short for s in r.cycle), f"{r.id}: every cycle cue needs a short form"
    assert sum("rotation" not in r.motion for r in lib.values()) >= 8


def test_seed_is_faithful() -> None:
    tr = load_routine(SEED)
    assert (tr.reps_min, tr.reps_max, tr.per_day) == (5, 10, 2)
    assert tr.position == "supine" and tr.motion == ("rotation",)
    assert tr.sides == ("right", "left")
    text = " ".join(c.text for c in tr.all_cues()).lower()
    for words in (
        "on your back",
        "knees",
        "feet flat",
        "together",
        "right",
        "left",
        "center",
        "pelvis",
    ):
        assert words in text
    # breath by breath: exhale to the right, inhale back to center, exhale to the left
    phases = [(s.phase.value, s.counts) for s in tr.cycle]
    assert phases == [("inhale", None), ("exhale", "right"), ("inhale", None), ("exhale", "left")]


def test_no_cue_contains_a_command_word_of_the_language_pack() -> None:
    pack = load_langpack("en")
    for r in load_library([paths.BUILTIN_ROUTINES]).values():
        assert cue_problems(r) == []
        for cue in r.all_cues():
            for text in filter(None, (cue.text, cue.short)):
                assert pack.command_phrases_in(text) == [], (r.id, text)
        assert pack.command_phrases_in(r.name) == [], r.id


def test_sound_alikes_are_caught() -> None:
    assert command_words_in("Now lower your legs") == [
        "now (sounds like 'no')",
        "lower (sounds like 'slower')",
    ]
    assert command_words_in("Hold, then stop.") == ["stop"]
    assert command_words_in("Breathe in gently.") == []


def write(dirpath: Path, name: str, text: str) -> Path:
    dirpath.mkdir(parents=True, exist_ok=True)
    p = dirpath / name
    p.write_text(text)
    return p


def seed_with(old: str, new: str) -> str:
    text = SEED.read_text()
    assert old in text
    return text.replace(old, new, 1)


def test_user_routine_is_listed_and_overrides(coach_dirs: Path) -> None:
    user = paths.user_routines_dir()
    text = seed_with('id = "trunk-rotation"', 'id = "my-twist"').replace(
        'name = "Trunk rotation stretch"', 'name = "My twist"'
    )
    write(user, "my-twist.toml", text)
    lib = load_library()
    assert lib["my-twist"].name == "My twist"
    assert get_routine("my-twist").path.parent == user


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ('intensity = "gentle"', 'intensity = "brutal"', "intensity", "not one of"),
        (
            "reps = { default = 5, min = 5, max = 10 }",
            "reps = { default = 50, min = 5, max = 10 }",
            "reps.default",
            "out of range",
        ),
        (
            'short = "In. Knees up."',
            'short = "In. Now knees up."',
            "cycle[0].short",
            "sounds like 'no'",
        ),
        (
            'text = "Breathe in. Knees to the ceiling."',
            'text = "Breathe in. Stop."',
            "cycle[0].text",
            "command word",
        ),
        (
            'phase = "inhale"\ntext = "Breathe in. Knees',
            'phase = "exhale"\ntext = "Breathe in. Knees',
            "cycle[0].phase",
            "alternate",
        ),
        ('motion = ["rotation"]', 'motion = ["twisting"]', "motion", "not one of"),
    ],
)
def test_user_mistakes_name_file_line_and_field(
    coach_dirs: Path, old: str, new: str, field: str, words: str
) -> None:
    p = write(paths.user_routines_dir(), "trunk-rotation.toml", seed_with(old, new))
    with pytest.raises(DataFileError) as e:
        get_routine("trunk-rotation")  # the user's own version, broken: not the built-in one
    assert "trunk-rotation" not in load_library()  # skipped (with a warning), the rest loads
    err = e.value
    assert err.path == p and err.field == field and err.line is not None
    line = p.read_text().splitlines()[err.line - 1]
    assert field.split(".")[-1].split("[")[0] in line or "[[" in line or "reps" in line
    assert words in str(err)


def test_unknown_routine_lists_the_known_ones() -> None:
    with pytest.raises(UsageError) as e:
        get_routine("trunk-rotaton")
    assert "trunk-rotation" in str(e.value) and "pelvic-tilt" in str(e.value)


def broken_routine(name: str) -> Path:
    """A user routine `name` with a typo on a known line (reps.default out of range)."""
    text = seed_with('id = "trunk-rotation"', f'id = "{name}"')
    text = text.replace("reps = { default = 5,", "reps = { default = 50,")
    return write(paths.user_routines_dir(), f"{name}.toml", text)


def test_a_broken_unrelated_routine_is_a_warning_and_the_rest_loads(
    coach_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue #13: one typo in another file stopped every session (exit 2)."""
    bad = broken_routine("my-broken")
    line = next(i for i, x in enumerate(bad.read_text().splitlines(), 1) if "default = 50" in x)
    assert get_routine("trunk-rotation").id == "trunk-rotation"
    lib = load_library()
    assert "my-broken" not in lib and "pelvic-tilt" in lib
    err = capsys.readouterr().err.splitlines()
    said = f"coach: warning: skipped a broken routine file: {bad}:{line}: field 'reps.default'"
    assert len(err) == 1 and err[0].startswith(said), err  # once, however often it is loaded
    with pytest.raises(DataFileError) as e:
        get_routine("my-broken")  # asked for: the error itself
    assert (e.value.path, e.value.line, e.value.field) == (bad, line, "reps.default")


def test_broken_user_files_through_the_cli(coach_dirs: Path, tmp_path: Path) -> None:
    """`coach list` warns and lists the rest (exit 0); `coach run` of the broken one is exit 2
    with its message; `coach run trunk-rotation` runs beside a broken routine and a broken
    voice (the file back end, nobody answering: the hearing check is said and refuses)."""
    from coach.app.demo import mic_track
    from coach.audio.format import RATE, write_wav
    from tests.conftest import coach_cli

    bad = broken_routine("my-broken")
    voices = coach_dirs / "config" / "voices"
    voices.mkdir(parents=True)
    bad_voice = voices / "broken.toml"
    bad_voice.write_text('description = "x"\nvoice = "gmw/en-us"\nrate = "fast"\n')
    warn_routine = f"coach: warning: skipped a broken routine file: {bad}:"
    warn_voice = f"coach: warning: skipped a broken voice file: {bad_voice}:3: field 'rate'"

    r = coach_cli("list")
    assert r.returncode == 0 and "trunk-rotation" in r.stdout and "my-broken" not in r.stdout
    assert warn_routine in r.stderr and "Traceback" not in r.stderr
    r = coach_cli("run", "my-broken", "--no-listen")
    assert r.returncode == 2 and r.stderr.startswith(f"coach: {bad}:"), r.stderr
    assert "field 'reps.default'" in r.stderr and "Traceback" not in r.stderr
    r = coach_cli("run", "trunk-rotation", "--no-listen", "--voice", "broken")
    assert r.returncode == 2 and f"coach: {bad_voice}:3: field 'rate'" in r.stderr, r.stderr
    r = coach_cli("voices")
    assert r.returncode == 0 and "calm" in r.stdout and warn_voice in r.stderr, r.stderr

    mic, ev = tmp_path / "mic.wav", tmp_path / "ev.jsonl"
    write_wav(mic, mic_track([], 2.0), RATE)
    r = coach_cli(
        "run", "trunk-rotation", "--plain", "--mic-file", str(mic), "--speaker-file",
        str(tmp_path / "s.wav"), "--events", str(ev), "--db", str(tmp_path / "h.sqlite3"),
    )  # fmt: skip
    assert r.returncode == 3, r.stderr  # it ran, and refused only because nobody said ready
    assert warn_routine in r.stderr and warn_voice in r.stderr
    assert r.stderr.count(warn_routine) == 1  # loaded three times, said once
    assert '"state": "checking-mic"' in ev.read_text()
