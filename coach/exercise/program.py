"""Programs: a therapist's sequence of routines as validated data (`<id>.program.toml`).

Why: a physical therapist rarely prescribes one exercise (issue #16). A program lists routines in
order, each with its reps (within the routine's range), an optional tempo and the rest after it.
Program files live beside the routines (coach/routines/ and the user's routines folder); the
`.program.toml` ending tells them apart, so the routine loader skips them. Validated on load like
routines: a mistake names the file, the line and the field (exit 2); a broken program file nobody
asked for is a warning. Everything a program makes the coach say between exercises is built
here, so the loader can hold those sentences to the routines' hygiene rule (no command words).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from coach.datafile import TomlDoc
from coach.errors import DataFileError, UsageError
from coach.exercise.routine import (
    Routine,
    command_words_in,
    get_routine,
    load_library,
    routine_dirs,
    scan_library,
)
from coach.exercise.spoken import MOTION_WORDS, number_words
from coach.exercise.tempo import TEMPO_MAX, TEMPO_MIN
from coach.skipped import warn_skipped

SUFFIX = ".program.toml"
REST_DEFAULT_S = 20.0
REST_LIMITS_S = (5.0, 300.0)
MAX_EXERCISES = 12  # a session, not a day: keeps every sentence it may say few enough to render

# how the coach names a position when the next exercise needs another one
POSITION_WORDS = {
    "supine": "lying on your back",
    "prone": "lying face down",
    "side-lying": "lying on your side",
    "hands-and-knees": "on your hands and knees",
    "kneeling": "kneeling",
    "seated": "sitting",
    "standing": "standing",
}
# prompts that ask for one answer word (like the hearing check's): they contain that word and no
# other command, and the listener ignores a command word while the coach itself says it
READY_PROMPT = "Take your time, and say ready when you're in position."
READY_RETRY = "I didn't catch that. Say ready when you're in position."
READY_GAVE_UP = "I haven't heard from you, so I'm ending the session here. Take care."
GO_ON_PROMPT = "Say yes or no."
PROMPTS = (READY_PROMPT, READY_RETRY, GO_ON_PROMPT)
PER_DAY_DEFAULT = 2  # a therapist's sequence: once or twice a day


@dataclass(frozen=True)
class Exercise:
    """One step of a program: a routine, its reps per side, its tempo (None: the current one)
    and the rest after it (seconds; 0 after the last)."""

    routine: Routine
    reps: int
    tempo: float | None
    rest_s: float


@dataclass(frozen=True)
class Program:
    id: str
    name: str
    summary: str
    exercises: tuple[Exercise, ...]
    path: Path
    per_day: int = PER_DAY_DEFAULT  # runs a day before the dose warning

    @property
    def routines(self) -> list[Routine]:
        return [e.routine for e in self.exercises]


# --- what a program says --------------------------------------------------------------------------
def names(rs: Sequence[Routine]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    n = [r.name for r in rs]
    return n[0] if len(n) == 1 else f"{', '.join(n[:-1])} and {n[-1]}"


def intro_text(p: Program) -> str:
    count = len(p.exercises)
    what = "one exercise" if count == 1 else f"{number_words(count)} exercises"
    return f"{p.name}: {what}. First, {p.exercises[0].routine.name}."


def rest_text(nxt: Routine) -> str:
    return f"Rest. Breathe easily. Coming up: {nxt.name}."  # ("next" is a command word)


def after_text(r: Routine) -> str:
    """What comes after the exercise under way ("what's next", coach/session/comfort.py)."""
    return f"Then, {r.name}."


def coming_text(r: Routine) -> str:
    """... and in a rest, or waiting for "ready"."""
    return f"Coming up: {r.name}."


def begin_text(r: Routine) -> str:
    return f"Let's begin {r.name}."


def position_text(r: Routine) -> str:
    return f"{r.name} is done {POSITION_WORDS[r.position]}."


def go_on_text(kept: Sequence[Routine]) -> str:
    return f"Shall we carry on with the rest: {names(kept)}?"


def skip_text(r: Routine, shared: Sequence[str]) -> str:
    """Why an exercise is left out after pain: the painful motions it shares."""
    words = " and ".join(MOTION_WORDS.get(m, m) for m in shared)
    return f"I'll leave out {r.name}, which involves {words}."


def own_phrases(p: Program) -> list[tuple[tuple[str | int, ...], str]]:
    """(field, sentence): what the program may say, for the hygiene check. The go-on question
    and the skip sentences are checked one exercise at a time (they join these parts)."""
    out: list[tuple[tuple[str | int, ...], str]] = [(("name",), intro_text(p))]
    for i, e in enumerate(p.exercises):
        f = ("exercise", i, "routine")
        out += [(f, begin_text(e.routine)), (f, position_text(e.routine))]
        if i:
            out.append((f, rest_text(e.routine)))
        out += [(f, skip_text(e.routine, [m])) for m in e.routine.motion]
        out.append((f, go_on_text([e.routine])))
        out += [(f, after_text(e.routine)), (f, coming_text(e.routine))]  # "what's next"
    return out


# --- loading ----------------------------------------------------------------------------------
def is_program_file(path: Path | str) -> bool:
    return str(path).endswith(SUFFIX)


def load_program(path: Path | str, routines: Mapping[str, Routine] | None = None) -> Program:
    """Load and validate one program file against the routines it names (default: the
    library). Raises DataFileError naming file, line and field."""
    p = Path(path)
    lib = load_library() if routines is None else routines
    doc = TomlDoc(p)
    r = doc.root()
    r.only(("id", "name", "summary", "per_day", "exercise"))
    pid = r.get("id", str)
    stem = p.name[: -len(SUFFIX)] if is_program_file(p) else p.stem
    if pid != stem:
        raise r.err(f"id {pid!r} must match the file name {stem + SUFFIX!r}", "id")
    if pid in lib:
        raise r.err(f"{pid!r} is already a routine's id: a program needs its own", "id")
    tables = r.tables("exercise")
    if not 1 <= len(tables) <= MAX_EXERCISES:
        raise r.err(f"needs 1 to {MAX_EXERCISES} [[exercise]] tables, found {len(tables)}",
                    "exercise")  # fmt: skip
    exercises = []
    for i, t in enumerate(tables):
        t.only(("routine", "reps", "tempo", "rest"))
        rid = t.get("routine", str)
        if rid not in lib:
            known = ", ".join(sorted(lib)) or "(none)"
            raise t.err(f"unknown routine {rid!r} (known: {known})", "routine")
        rt = lib[rid]
        reps = t.get("reps", int, rt.reps_default, lo=rt.reps_min, hi=rt.reps_max)
        tempo = t.get("tempo", float, None, lo=TEMPO_MIN, hi=TEMPO_MAX)
        last = i == len(tables) - 1
        if last and "rest" in t.data:
            raise t.err("the last exercise has no rest after it", "rest")
        lo, hi = REST_LIMITS_S
        rest = 0.0 if last else t.get("rest", float, REST_DEFAULT_S, lo=lo, hi=hi)
        exercises.append(Exercise(rt, reps, tempo, rest))
    per_day = r.get("per_day", int, PER_DAY_DEFAULT, lo=1, hi=10)
    prog = Program(pid, r.get("name", str), r.get("summary", str, ""), tuple(exercises), p, per_day)
    for key, text in own_phrases(prog):
        if bad := command_words_in(text):
            raise doc.error(f"makes the coach say {text!r}, which contains a command word the "
                            f"listener would hear as the user's: {', '.join(bad)}", *key)  # fmt: skip
    return prog


def scan_programs(
    routines: Mapping[str, Routine] | None = None, dirs: list[Path] | None = None
) -> tuple[dict[str, Program], dict[str, DataFileError]]:
    """The programs that load and the files that do not, by id; a later folder's file replaces
    an earlier one's, even a broken one (as for routines)."""
    lib = scan_library(dirs)[0] if routines is None else routines
    progs: dict[str, Program] = {}
    broken: dict[str, DataFileError] = {}
    for d in dirs if dirs is not None else routine_dirs():
        if d.is_dir():
            for f in sorted(d.glob("*" + SUFFIX)):
                pid = f.name[: -len(SUFFIX)]
                progs.pop(pid, None)
                broken.pop(pid, None)
                try:
                    progs[pid] = load_program(f, lib)
                except DataFileError as e:
                    broken[pid] = e
    return progs, broken


def load_programs(
    routines: Mapping[str, Routine] | None = None, dirs: list[Path] | None = None
) -> dict[str, Program]:
    """Every program that loads; a broken file is a warning on stderr (once per file)."""
    progs, broken = scan_programs(routines, dirs)
    warn_skipped("program", broken.values())
    return progs


def find_program(name: str, dirs: list[Path] | None = None) -> Program | None:
    """The program `name` names (an id, or a path ending in .program.toml), or None when it
    names no program (then it is a routine, or unknown). A broken program asked for is the
    error (DataFileError, exit 2); others are only warned about."""
    if is_program_file(name):
        if not Path(name).is_file():
            raise UsageError(f"{name}: no such program file")
        return load_program(name, scan_library(dirs)[0])
    if name.endswith(".toml"):
        return None
    progs, broken = scan_programs(dirs=dirs)
    if name in broken:
        raise broken[name]
    warn_skipped("program", broken.values())
    return progs.get(name)


def find_target(name: str, dirs: list[Path] | None = None) -> tuple[Program | None, Routine]:
    """What `coach run|export|prepare NAME` names: a program (with its first exercise's routine)
    or a routine. A name that is neither says both lists: a person may have meant either."""
    program = find_program(name, dirs)
    if program is not None:
        return program, program.exercises[0].routine
    if not name.endswith(".toml"):
        lib, broken = scan_library(dirs)
        if name not in lib and name not in broken:
            progs = ", ".join(sorted(scan_programs(routines=lib, dirs=dirs)[0])) or "(none)"
            raise UsageError(f"unknown routine or program {name!r}; routines: "
                             f"{', '.join(sorted(lib)) or '(none)'}; programs: {progs}",
                             hint="coach list")  # fmt: skip
    return None, get_routine(name, dirs)
