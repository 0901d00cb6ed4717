"""Typed errors. Anything the user can cause or fix is a CoachError: the CLI prints its message
and exits non-zero instead of showing a traceback."""

from __future__ import annotations

from pathlib import Path


class CoachError(Exception):
    """A problem the user can understand and act on. `exit_code` is what the CLI returns."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class DataFileError(CoachError):
    """A routine, voice, language pack or other data file is wrong. Names file, line and field."""

    exit_code = 2

    def __init__(
        self, path: Path | str, message: str, line: int | None = None, field: str | None = None
    ) -> None:
        where = str(path)
        if line is not None:
            where += f":{line}"
        if field:
            where += f": field '{field}'"
        super().__init__(f"{where}: {message}")
        self.path = Path(path)
        self.line = line
        self.field = field


class UsageError(CoachError):
    """A bad command-line value (unknown routine, reps out of range...)."""

    exit_code = 2


class AudioDeviceError(CoachError):
    """No usable microphone or speaker, or the stream failed."""


class ModelError(CoachError):
    """A speech model is missing, corrupt or cannot be installed."""


class HistoryError(CoachError):
    """The history database cannot be opened or written (corrupt, newer schema, locked, disk full)."""


class TTSError(CoachError):
    """The speech engine could not render a cue (espeak-ng missing, no output, hung)."""
