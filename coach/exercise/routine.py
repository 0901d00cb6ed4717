"""Routines: exercises as validated data (coach/routines/*.toml plus the user's own folder).

A routine is an intro (positioning, spoken on whole breaths), a breath-by-breath cycle that is
repeated once per rep, and an outro. Cycle steps alternate inhale/exhale; a step may count a rep
for a side. Tags (position, motion, intensity) let the session suggest an alternative that avoids
a painful motion. See README "Routine files" for the format.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from coach import paths
from coach.datafile import Table, TomlDoc
from coach.errors import DataFileError, UsageError
from coach.skipped import warn_skipped

if TYPE_CHECKING:
    from coach.listening.langpack import LanguagePack


class Phase(StrEnum):
    INHALE = "inhale"
    EXHALE = "exhale"


class Counts(StrEnum):
    """What a completed cycle step counts: a rep on one side, or an unsided rep (both fields)."""

    RIGHT = "right"
    LEFT = "left"
    REP = "rep"

    @property
    def right(self) -> bool:
        return self in (Counts.RIGHT, Counts.REP)

    @property
    def left(self) -> bool:
        return self in (Counts.LEFT, Counts.REP)


POSITIONS = ("supine", "prone", "side-lying", "hands-and-knees", "kneeling", "seated", "standing")
MOTIONS = ("rotation", "flexion", "extension", "side-bend", "hip", "breathing", "none")
INTENSITIES = ("very-gentle", "gentle", "moderate")
SIDES = ("right", "left")
REP_LIMITS = (1, 30)

# Words that sound like a command of the English pack (coach/lang/en.toml). A cue must contain
# neither a command phrase nor one of these, so the coach cannot take its own voice for the user's.
SOUND_ALIKES: dict[str, str] = {
    "weight": "wait",
    "weights": "wait",
    "now": "no",
    "know": "no",
    "known": "no",
    "already": "ready",
    "lower": "slower",
    "lowering": "slower",
    "slowly": "slower",
    "pose": "pause",
    "paws": "pause",
    "again": "pain",
    "top": "stop",
    "stops": "stop",
    "stopping": "stop",
    "hurt": "it hurts",
    "painful": "pain",
    "loud": "louder",
    "loudly": "louder",
    "quiet": "quieter",
    "quietly": "quieter",
    "quite": "quieter",
    "skipping": "skip",
    "skipped": "skip",
    "text": "next",
}


@dataclass(frozen=True)
class Cue:
    """Something the coach says. `short` is used when `text` would not fit its breath phase."""

    text: str
    short: str | None = None


@dataclass(frozen=True)
class IntroStep:
    cue: Cue
    breaths: int  # whole breaths allowed for this instruction


@dataclass(frozen=True)
class CycleStep:
    phase: Phase
    cue: Cue
    counts: Counts | None  # None: the step counts nothing


@dataclass(frozen=True)
class Routine:
    id: str
    name: str
    summary: str
    position: str
    motion: tuple[str, ...]
    intensity: str
    sides: tuple[str, ...]
    reps_default: int
    reps_min: int
    reps_max: int
    per_day: int
    intro: tuple[IntroStep, ...]
    cycle: tuple[CycleStep, ...]
    outro: tuple[IntroStep, ...]
    path: Path

    def checked_reps(self, reps: int | None) -> int:
        """The reps per side to do: the routine's default, or `reps` if within its range."""
        if reps is None:
            return self.reps_default
        if not self.reps_min <= reps <= self.reps_max:
            raise UsageError(
                f"--reps {reps} is out of range for {self.id} "
                f"({self.reps_min} to {self.reps_max} per side)"
            )
        return reps

    def all_cues(self) -> list[Cue]:
        steps: tuple[IntroStep | CycleStep, ...] = (*self.intro, *self.cycle, *self.outro)
        return [s.cue for s in steps]


def command_words_in(text: str) -> list[str]:
    """Command phrases of the English pack, and their sound-alikes, that occur in `text`."""
    words = re.findall(r"[a-z']+", text.lower())
    found = [phrase for phrase, _ in _english().command_phrases_in(text)]
    found += [f"{w} (sounds like '{SOUND_ALIKES[w]}')" for w in words if w in SOUND_ALIKES]
    return found


@functools.cache
def _english() -> LanguagePack:
    from coach.listening.langpack import load_langpack_file  # the pack's phrases are the truth

    return load_langpack_file(paths.BUILTIN_LANG / "en.toml")


def cue_problems(routine: Routine) -> list[str]:
    """Every cue of `routine` that contains a command word or sound-alike (empty: all clean)."""
    out = []
    for cue in routine.all_cues():
        for text in filter(None, (cue.text, cue.short)):
            if bad := command_words_in(text):
                out.append(f"{routine.id}: {text!r}: {', '.join(bad)}")
    return out


def _cue(t: Table) -> Cue:
    cue = Cue(t.get("text", str), t.get("short", str, None))
    for name, text in (("text", cue.text), ("short", cue.short)):
        if text and (bad := command_words_in(text)):
            raise t.err(
                f"contains a command word the listener would hear as the user's: {', '.join(bad)}",
                name,
            )
    return cue


def load_routine(path: Path | str) -> Routine:
    """Load and validate one routine file. Raises DataFileError naming file, line and field."""
    p = Path(path)
    doc = TomlDoc(p)
    r = doc.root()
    r.only(
        (
            "id",
            "name",
            "summary",
            "position",
            "motion",
            "intensity",
            "sides",
            "reps",
            "per_day",
            "intro",
            "cycle",
            "outro",
        )
    )
    rid = r.get("id", str)
    if rid != p.stem:
        raise r.err(f"id {rid!r} must match the file name {p.stem!r}", "id")
    sides = tuple(r.str_list("sides", [], choices=SIDES))
    if len(set(sides)) != len(sides):
        raise r.err("a side is listed twice", "sides")
    reps = r.table("reps")
    reps.only(("default", "min", "max"))
    rmin = reps.get("min", int, lo=REP_LIMITS[0], hi=REP_LIMITS[1])
    rmax = reps.get("max", int, lo=rmin, hi=REP_LIMITS[1])
    rdef = reps.get("default", int, lo=rmin, hi=rmax)

    cycle = []
    for i, t in enumerate(r.tables("cycle")):
        t.only(("phase", "text", "short", "counts"))
        phase = Phase(t.get("phase", str, choices=[p.value for p in Phase]))
        want = Phase.INHALE if i % 2 == 0 else Phase.EXHALE
        if phase != want:
            raise t.err(
                f"step {i + 1} must be '{want}': breaths alternate, starting with inhale", "phase"
            )
        counts = t.get("counts", str, None, choices=sides or ("rep",))
        cycle.append(CycleStep(phase, _cue(t), Counts(counts) if counts else None))
    if not cycle or len(cycle) % 2:
        raise r.err("needs an even number of steps (inhale, exhale, ...)", "cycle")
    counted = [s.counts for s in cycle if s.counts]
    expected = sorted(sides) if sides else ["rep"]
    if sorted(counted) != expected:
        raise r.err(
            f"each cycle must count exactly one rep for each of {expected} (found {counted})",
            "cycle",
        )
    intro = []
    for t in r.tables("intro"):
        t.only(("text", "short", "breaths"))
        intro.append(IntroStep(_cue(t), t.get("breaths", int, 1, lo=1, hi=8)))
    outro = []
    for t in r.tables("outro", []):
        t.only(("text", "short", "breaths"))
        outro.append(IntroStep(_cue(t), t.get("breaths", int, 1, lo=1, hi=8)))
    return Routine(
        id=rid,
        name=r.get("name", str),
        summary=r.get("summary", str),
        position=r.get("position", str, choices=POSITIONS),
        motion=tuple(r.str_list("motion", choices=MOTIONS)),
        intensity=r.get("intensity", str, choices=INTENSITIES),
        sides=sides,
        reps_default=rdef,
        reps_min=rmin,
        reps_max=rmax,
        per_day=r.get("per_day", int, lo=1, hi=10),
        intro=tuple(intro),
        cycle=tuple(cycle),
        outro=tuple(outro),
        path=p,
    )


def routine_dirs() -> list[Path]:
    return [paths.BUILTIN_ROUTINES, paths.user_routines_dir()]


def scan_library(
    dirs: list[Path] | None = None,
) -> tuple[dict[str, Routine], dict[str, DataFileError]]:
    """The routines that load, and the files that do not, both by id (the file name): a later
    folder's file replaces an earlier one's, even a broken one (the user's own version of a
    built-in routine that is broken must not silently become the built-in one)."""
    lib: dict[str, Routine] = {}
    broken: dict[str, DataFileError] = {}
    for d in dirs if dirs is not None else routine_dirs():
        if d.is_dir():
            for f in sorted(d.glob("*.toml")):
                if f.name.endswith(".program.toml"):  # a program (coach/exercise/program.py)
                    continue
                lib.pop(f.stem, None)
                broken.pop(f.stem, None)
                try:
                    lib[f.stem] = load_routine(f)
                except DataFileError as e:
                    broken[f.stem] = e
    return lib, broken


def load_library(dirs: list[Path] | None = None) -> dict[str, Routine]:
    """All routines that load; a user file with the same id as a built-in one replaces it. A
    broken file is skipped with a warning on stderr (once per file and process), so one typo in
    an unrelated file does not stop every session (issue #13); asking for it fails (get_routine)."""
    lib, broken = scan_library(dirs)
    warn_skipped("routine", broken.values())
    return lib


def get_routine(name: str, dirs: list[Path] | None = None) -> Routine:
    """A routine by id, or by path to a .toml file. The one asked for, if broken, is the error
    (DataFileError: file, line, field; exit 2); other broken files are only warned about."""
    if name.endswith(".toml"):
        if not Path(name).is_file():
            raise UsageError(f"{name}: no such routine file")
        return load_routine(name)
    lib, broken = scan_library(dirs)
    if name in broken:
        raise broken[name]
    warn_skipped("routine", broken.values())
    if name not in lib:
        known = ", ".join(sorted(lib)) or "(none)"
        raise UsageError(f"unknown routine {name!r}; known routines: {known}", hint="coach list")
    return lib[name]


__all__ = ["Cue", "CycleStep", "DataFileError", "IntroStep", "Phase", "Routine", "load_routine"]
