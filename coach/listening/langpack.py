"""Language packs: which phrases mean which intent, as data (coach/lang/<code>.toml).

Keeping phrases out of code lets a new language be added without touching the listener, and lets
the session check that no cue the coach speaks contains a command phrase (`command_phrases_in`).
Each intent also carries a confidence threshold: low for stop/pain (recall first), higher for the
rest. A threshold may be one number or a table per engine ({ pocketsphinx = 0.4, vosk = 0.6 })
because engines' confidences are not on the same scale. An optional `[competitors]` table lists
near words that are not commands ("top" for "stop"), with phoneme patterns: the phoneme engine
drops a command that one of them explains better.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from coach import paths
from coach.datafile import Table, TomlDoc
from coach.errors import DataFileError, UsageError
from coach.intents import SAFETY_INTENTS, Intent

DEFAULT_THRESHOLD = 0.5
ENGINES = ("pocketsphinx", "vosk", "phonemes", "whisper")


@dataclass(frozen=True)
class IntentPhrases:
    intent: Intent
    phrases: tuple[str, ...]
    thresholds: dict[str, float] = field(default_factory=dict)  # engine -> threshold; "" = any
    phonemes: dict[str, str] = field(default_factory=dict)  # phrase -> phoneme pattern
    phoneme_lines: dict[str, int] = field(default_factory=dict)  # phrase -> its line in the file

    def threshold(self, engine: str) -> float:
        return self.thresholds.get(engine, self.thresholds.get("", DEFAULT_THRESHOLD))


@dataclass(frozen=True)
class LanguagePack:
    code: str
    name: str
    intents: dict[Intent, IntentPhrases]
    path: Path
    # near words: word -> phoneme pattern, not commands (engines/phoneme_spotter.py `unbeaten`)
    competitors: dict[str, str] = field(default_factory=dict)
    competitor_lines: dict[str, int] = field(default_factory=dict)

    def phrases(self, intents: Iterable[Intent] | None = None) -> dict[str, Intent]:
        """phrase -> intent, for the given intents (all when None); safety intents always included."""
        want = set(self.intents) if intents is None else set(intents) | SAFETY_INTENTS
        return {p: i for i, ip in self.intents.items() if i in want for p in ip.phrases}

    def phoneme_patterns(self) -> dict[str, str]:
        """phrase -> hand-written phoneme pattern (engines/phoneme_spotter.py); {} when the pack
        has none (then the phoneme engine cannot listen in this language)."""
        return {p: pat for ip in self.intents.values() for p, pat in ip.phonemes.items()}

    def phoneme_error(self, phrase: str, message: str) -> DataFileError:
        """An error about one phrase's (or competitor's) phoneme pattern, naming file, line and
        field."""
        if phrase in self.competitors:
            return DataFileError(
                self.path, message, self.competitor_lines.get(phrase), "competitors"
            )
        for i, ip in self.intents.items():
            if phrase in ip.phonemes:
                return DataFileError(
                    self.path, message, ip.phoneme_lines.get(phrase), f"intents.{i}.phonemes"
                )
        return DataFileError(self.path, message)

    def intent_of(self, phrase: str) -> Intent | None:
        return self.phrases().get(phrase)

    def threshold(self, intent: Intent, engine: str) -> float:
        ip = self.intents.get(intent)
        return ip.threshold(engine) if ip else DEFAULT_THRESHOLD

    def command_phrases_in(self, text: str) -> list[tuple[str, Intent]]:
        """The command phrases that occur in `text` as whole words (case-insensitive).

        The session uses it to keep command words out of cues (or to tell the listener via
        `Listener.speaking` that the coach is saying one on purpose).
        """
        found = []
        norm = _normalize(text)
        for phrase, intent in self.phrases().items():
            if re.search(rf"(?<!\w){re.escape(_normalize(phrase))}(?!\w)", norm):
                found.append((phrase, intent))
        return found


def _normalize(text: str) -> str:
    t = text.lower().replace("\u2019", "'")
    return re.sub(r"[^\w']+", " ", t).strip()


def _threshold(t: Table, name: str) -> dict[str, float]:
    if name not in t.data:
        return {}
    v = t.data[name]
    if isinstance(v, dict):
        sub = t.table(name)
        sub.only(ENGINES + ("default",))
        out = {e: sub.get(e, float, lo=0.0, hi=1.0) for e in sub.data}
        if "default" in out:
            out[""] = out.pop("default")
        return out
    return {"": t.get(name, float, lo=0.0, hi=1.0)}


def _phonemes(t: Table, phrases: list[str]) -> tuple[dict[str, str], dict[str, int]]:
    """The intent's `phonemes` table: one pattern per phrase, each checked for its syntax (the
    tokens are checked against the model's inventory when the phoneme engine loads)."""

    if "phonemes" not in t.data:
        return {}, {}
    sub = t.table("phonemes")
    missing = [p for p in phrases if p not in sub.data]
    if missing:
        raise t.err(f"no phoneme pattern for {', '.join(map(repr, missing))}", "phonemes")
    sub.only(phrases)
    out: dict[str, str] = {}
    lines: dict[str, int] = {}
    for p in phrases:
        out[p], lines[p] = _pattern(sub, p)
    return out, lines


def _pattern(sub: Table, key: str) -> tuple[str, int]:
    """The phoneme pattern at `key` of `sub`, syntax checked, and its line."""
    from coach.listening.engines.phoneme_spotter import PatternError, parse_pattern

    pattern = sub.get(key, str)
    try:
        parse_pattern(pattern)
    except PatternError as e:
        raise sub.err(f"{key!r}: {e}", key) from None
    return pattern, sub.doc.line(*sub.key, key) or 0


def _competitors(root: Table, owner: dict[str, str]) -> tuple[dict[str, str], dict[str, int]]:
    """The `[competitors]` table: near words that are not commands, each with its pattern. A word
    that is a command phrase would veto that very command: refused."""

    if "competitors" not in root.data:
        return {}, {}
    sub = root.table("competitors")
    out: dict[str, str] = {}
    lines: dict[str, int] = {}
    for word in sub.data:
        if _normalize(word) in owner:
            raise sub.err(
                f"{word!r} is a phrase of intent '{owner[_normalize(word)]}', not a competitor",
                word,
            )
        out[word], lines[word] = _pattern(sub, word)
    return out, lines


def load_langpack_file(path: Path | str) -> LanguagePack:
    """Load and validate one language pack; errors name file, line and field."""
    doc = TomlDoc(path)
    root = doc.root()
    root.only(["code", "name", "intents", "competitors"])
    code = root.get("code", str)
    name = root.get("name", str, code)
    itab = root.table("intents")
    known = [i.value for i in Intent]
    intents: dict[Intent, IntentPhrases] = {}
    owner: dict[str, str] = {}
    for iname in itab.data:
        if iname not in known:
            raise itab.err(f"unknown intent '{iname}' (known: {', '.join(known)})", iname)
        t = itab.table(iname)
        t.only(["phrases", "threshold", "phonemes"])
        phrases = t.str_list("phrases")
        if not phrases:
            raise t.err("must list at least one phrase", "phrases")
        for p in phrases:
            key = _normalize(p)
            if not key:
                raise t.err(f"phrase {p!r} has no words", "phrases")
            if key in owner:
                where = "twice" if owner[key] == iname else f"also in intent '{owner[key]}'"
                raise t.err(f"phrase {p!r} is listed {where}", "phrases")
            owner[key] = iname
        phonemes, lines = _phonemes(t, [p.strip() for p in phrases])
        intents[Intent(iname)] = IntentPhrases(
            Intent(iname),
            tuple(p.strip() for p in phrases),
            _threshold(t, "threshold"),
            phonemes,
            lines,
        )
    with_phonemes = [i for i, ip in intents.items() if ip.phonemes]
    if with_phonemes and len(with_phonemes) != len(intents):
        missing = sorted(i.value for i in intents if i not in with_phonemes)
        raise DataFileError(
            doc.path, f"phonemes are given for some intents but not for: {', '.join(missing)}"
        )
    for safety in sorted(SAFETY_INTENTS):
        if safety not in intents:
            raise DataFileError(doc.path, f"the pack must define intent '{safety}' (safety)")
    competitors, competitor_lines = _competitors(root, owner)
    if competitors and not with_phonemes:
        raise root.err("competitors need the intents' phoneme patterns", "competitors")
    return LanguagePack(code, name, intents, doc.path, competitors, competitor_lines)


def pack_path(lang: str) -> Path:
    """The pack file for a language code: the user's config folder first, then the bundled one."""
    for folder in (paths.config_dir() / "lang", paths.BUILTIN_LANG):
        p = folder / f"{lang}.toml"
        if p.is_file():
            return p
    raise UsageError(
        f"no language pack for '{lang}'",
        hint=f"available: {', '.join(available_languages()) or 'none'}",
    )


def available_languages() -> list[str]:
    codes = set()
    for folder in (paths.config_dir() / "lang", paths.BUILTIN_LANG):
        if folder.is_dir():
            codes |= {p.stem for p in folder.glob("*.toml")}
    return sorted(codes)


def load_langpack(lang: str | Path = "en") -> LanguagePack:
    """A pack by language code ("en") or by path to a .toml file."""
    p = Path(lang)
    if p.suffix == ".toml" or p.is_file():
        return load_langpack_file(p)
    return load_langpack_file(pack_path(str(lang)))
