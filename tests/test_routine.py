"""Routines as data: the built-in library, cue hygiene against the language pack, user routines
and the errors a user gets for mistakes (file, line, field)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach import paths
from coach.errors import DataFileError, UsageError
from coach.langpack import load_langpack
from coach.routine import (
    INTENSITIES,
    MOTIONS,
    POSITIONS,
    command_words_in,
    cue_problems,
    get_routine,
    load_library,
    load_routine,
)

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
        load_library()
    err = e.value
    assert err.path == p and err.field == field and err.line is not None
    line = p.read_text().splitlines()[err.line - 1]
    assert field.split(".")[-1].split("[")[0] in line or "[[" in line or "reps" in line
    assert words in str(err)


def test_unknown_routine_lists_the_known_ones() -> None:
    with pytest.raises(UsageError) as e:
        get_routine("trunk-rotaton")
    assert "trunk-rotation" in str(e.value) and "pelvic-tilt" in str(e.value)
