"""A broken data file that nobody asked for is a warning, not the end of the command.

Why: one typo in an unrelated routine or voice file of the user's used to stop even
`coach run trunk-rotation` with the built-in voice (exit 2, issue #13). The loaders skip such a
file and say so here, with the same file:line:field message the error would give; the command
fails only when the broken file is the one asked for.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from coach.errors import DataFileError

PREFIX = "coach: warning: skipped a broken"
_said: set[str] = set()  # each file's warning once per process (the library is loaded often)


def warn_skipped(kind: str, errors: Iterable[DataFileError]) -> None:
    """`coach: warning: skipped a broken <kind> file: <file>:<line>: field '<f>': <what>`."""
    for e in errors:
        text = f"{PREFIX} {kind} file: {e}"
        if text in _said:
            continue
        _said.add(text)
        print(text, file=sys.stderr, flush=True)
