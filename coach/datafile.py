"""TOML data files (routines, voices, language packs) loaded with line numbers for errors.

tomllib gives values but no positions; `TomlDoc` scans the text once to map each key path
(e.g. ("steps", 2, "phase")) to its line, so every validation error can say file, line and field.
`Table` is a tiny typed accessor that rejects unknown keys (typos) and wrong types.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from coach.errors import DataFileError

T = TypeVar("T")
Key = tuple[str | int, ...]
_MISSING: Any = object()

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEYLINE = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-.]+)\s*=""")


def _split_dotted(s: str) -> list[str]:
    return [p.strip().strip("\"'") for p in s.split(".")]


class TomlDoc:
    """A parsed TOML file that knows the line of every key."""

    def __init__(self, path: Path | str, text: str | None = None) -> None:
        self.path = Path(path)
        if text is None:
            try:
                raw = self.path.read_bytes()
            except OSError as e:
                raise DataFileError(self.path, f"cannot read ({e.strerror or e})") from None
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                line = raw[: e.start].count(b"\n") + 1
                raise DataFileError(self.path, "not UTF-8 text", line=line) from None
        try:
            self.data: dict[str, Any] = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
            msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
            at = int(m.group(1)) if m else None
            raise DataFileError(self.path, f"invalid TOML: {msg}", line=at) from None
        self._lines: dict[Key, int] = {}
        self._index(text)

    def _index(self, text: str) -> None:
        table: Key = ()
        counters: dict[Key, int] = {}
        for no, line in enumerate(text.splitlines(), start=1):
            h = _HEADER.match(line)
            if h and not _KEYLINE.match(line):
                parts: Key = tuple(_split_dotted(h.group(2)))
                if h.group(1) == "[[":
                    i = counters.get(parts, -1) + 1
                    counters[parts] = i
                    parts = (*parts, i)
                table = parts
                self._lines.setdefault(table, no)
                continue
            k = _KEYLINE.match(line)
            if k:
                key = (*table, *_split_dotted(k.group(1)))
                self._lines.setdefault(key, no)

    def line(self, *key: str | int) -> int | None:
        """Line of `key`, or of its nearest enclosing table/key that has one."""
        k: Key = tuple(key)
        while k:
            if k in self._lines:
                return self._lines[k]
            k = k[:-1]
        return None

    def error(self, message: str, *key: str | int) -> DataFileError:
        field = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in key).replace(".[", "[")
        return DataFileError(self.path, message, line=self.line(*key), field=field or None)

    def root(self) -> Table:
        return Table(self, self.data, ())


class Table:
    """Typed access to one TOML table, with errors that point at the file, line and field."""

    def __init__(self, doc: TomlDoc, data: dict[str, Any], key: Key) -> None:
        self.doc, self.data, self.key = doc, data, key

    def err(self, message: str, *sub: str | int) -> DataFileError:
        return self.doc.error(message, *self.key, *sub)

    def get(
        self,
        name: str,
        typ: type[T] | tuple[type, ...],
        default: Any = _MISSING,
        *,
        choices: Iterable[Any] | None = None,
        lo: float | None = None,
        hi: float | None = None,
    ) -> T:
        if name not in self.data:
            if default is _MISSING:
                raise self.err(f"missing required field '{name}'", name)
            return default
        v = self.data[name]  # Any (a TOML value): checked at run time below, returned as T
        types = typ if isinstance(typ, tuple) else (typ,)
        if float in types and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        # the test is kept in a variable so that mypy does not narrow v to `object` (the join of a
        # tuple of types), which would make the range check and the return untypeable
        wrong_type = isinstance(v, bool) and bool not in types or not isinstance(v, types)
        if wrong_type:
            want = " or ".join(t.__name__ for t in types)
            raise self.err(f"must be {want}, got {type(v).__name__} {v!r}", name)
        if isinstance(v, str) and str in types and not v.strip() and default is _MISSING:
            raise self.err("must not be empty", name)
        if choices is not None and v not in (c := list(choices)):
            raise self.err(f"{v!r} is not one of {', '.join(map(repr, c))}", name)
        if lo is not None and v < lo or hi is not None and v > hi:
            raise self.err(f"{v} is out of range {lo}..{hi}", name)
        return v

    def str_list(
        self, name: str, default: Any = _MISSING, *, choices: Iterable[str] | None = None
    ) -> list[str]:
        v = self.get(name, list, default)
        allowed = list(choices) if choices is not None else None
        for i, item in enumerate(v):
            if not isinstance(item, str) or not item.strip():
                raise self.err(f"item {i + 1} must be a non-empty string, got {item!r}", name)
            if allowed is not None and item not in allowed:
                raise self.err(f"{item!r} is not one of {', '.join(map(repr, allowed))}", name)
        return list(v)

    def table(self, name: str, default: Any = _MISSING) -> Table:
        v = self.get(name, dict, default)
        return Table(self.doc, v if v is not None else {}, (*self.key, name))

    def tables(self, name: str, default: Any = _MISSING) -> list[Table]:
        """An array of tables ([[name]])."""
        v = self.get(name, list, default)
        out = []
        for i, item in enumerate(v):
            if not isinstance(item, dict):
                raise self.err(f"item {i + 1} must be a table", name, i)
            out.append(Table(self.doc, item, (*self.key, name, i)))
        return out

    def only(self, allowed: Sequence[str]) -> None:
        """Reject unknown keys, which are almost always typos."""
        for k in self.data:
            if k not in allowed:
                raise self.err(f"unknown field '{k}' (allowed: {', '.join(allowed)})", k)
