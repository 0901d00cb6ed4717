"""Language packs: the English pack loads, and bad packs fail naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.errors import CoachError, DataFileError
from coach.intents import Intent
from coach.listening.langpack import load_langpack, load_langpack_file


def test_english_pack_has_every_intent_and_the_required_phrases() -> None:
    pack = load_langpack("en")
    assert set(pack.intents) == set(Intent)
    assert pack.intent_of("stop") is Intent.STOP
    assert pack.intent_of("that hurts") is Intent.PAIN
    assert pack.intent_of("I'm ready") is Intent.READY
    assert pack.threshold(Intent.STOP, "pocketsphinx") <= pack.threshold(Intent.YES, "pocketsphinx")
    assert pack.threshold(Intent.STOP, "vosk") < pack.threshold(Intent.YES, "vosk")


def test_phrases_always_include_safety_intents() -> None:
    pack = load_langpack("en")
    ph = pack.phrases({Intent.YES})
    assert {"yes", "stop", "pain", "ouch"} <= set(ph)
    assert "slower" not in ph


def test_command_phrases_in_matches_whole_words_only() -> None:
    pack = load_langpack("en")
    found = {p for p, _ in pack.command_phrases_in("Say STOP or pain at any time.")}
    assert found == {"stop", "pain"}
    assert pack.command_phrases_in("Lower your legs slowly; painting, stopping, knowhow") == []
    assert ("go on", Intent.RESUME) in pack.command_phrases_in("Then go on, gently.")


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "xx.toml"
    p.write_text(text, encoding="utf-8")
    return p


BASE = 'code = "xx"\n[intents.stop]\nphrases = ["stop"]\n[intents.pain]\nphrases = ["pain"]\n'


@pytest.mark.parametrize(
    ("extra", "message", "line"),
    [
        ('[intents.jump]\nphrases = ["jump"]\n', "unknown intent 'jump'", 6),
        ("[intents.yes]\nphrases = []\n", "at least one phrase", 7),
        ('[intents.yes]\nphrases = ["  "]\n', "non-empty string", 7),
        ('[intents.yes]\nphrases = ["Stop"]\n', "also in intent 'stop'", 7),
        ('[intents.yes]\nphrases = ["yes"]\nthreshold = 2.0\n', "out of range", 8),
        ('[intents.yes]\nphrases = ["yes"]\nthreshhold = 0.5\n', "unknown field", 8),
    ],
)
def test_bad_pack_names_file_line_and_field(
    tmp_path: Path, extra: str, message: str, line: int
) -> None:
    p = _write(tmp_path, BASE + extra)
    with pytest.raises(DataFileError) as e:
        load_langpack_file(p)
    assert message in str(e.value)
    assert e.value.line == line
    assert str(p) in str(e.value)


def test_pack_without_safety_intent_is_refused(tmp_path: Path) -> None:
    p = _write(tmp_path, 'code = "xx"\n[intents.stop]\nphrases = ["stop"]\n')
    with pytest.raises(DataFileError, match="must define intent 'pain'"):
        load_langpack_file(p)


def test_unknown_language_is_a_clear_error() -> None:
    with pytest.raises(CoachError, match="no language pack for 'zz'"):
        load_langpack("zz")


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ('"pain" = "p|pʰ eɪ|e|ɛ n"', '"pain" = "p|| eɪ n"', "intents.pain.phonemes.pain", "empty phoneme"),
        ('"pain" = "p|pʰ eɪ|e|ɛ n"', '"pain" = "p? eɪ? n?"', "intents.pain.phonemes.pain", "every phoneme is optional"),
        ('"ouch" = "aʊ t͡ʃ|ʃ"\n', "", "intents.pain.phonemes", "no phoneme pattern for 'ouch'"),
        ('"ouch" = "aʊ t͡ʃ|ʃ"\n', '"ouch" = "aʊ t͡ʃ|ʃ"\n"owie" = "aʊ i"\n', "intents.pain.phonemes.owie", "unknown field 'owie'"),
    ],
)  # fmt: skip
def test_bad_phoneme_patterns_name_file_line_and_field(
    tmp_path: Path, old: str, new: str, field: str, words: str
) -> None:
    src = Path(load_langpack("en").path).read_text(encoding="utf-8")
    assert old in src
    bad = tmp_path / "en.toml"
    bad.write_text(src.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DataFileError) as e:
        load_langpack_file(bad)
    assert f"field '{field}'" in str(e.value) and words in str(e.value), str(e.value)
    assert str(e.value).startswith(f"{bad}:")


@pytest.mark.parametrize(
    ("extra", "message", "field"),
    [
        ('[competitors]\n"Stop" = "s t ɑ p"\n', "'Stop' is a phrase of intent 'stop'", "competitors.Stop"),
        ('[competitors]\n"top" = "t|| p"\n', "'top': empty phoneme", "competitors.top"),
        ('[competitors]\n"top" = 3\n', "must be str", "competitors.top"),
    ],
)  # fmt: skip
def test_bad_competitors_name_file_line_and_field(
    tmp_path: Path, extra: str, message: str, field: str
) -> None:
    src = Path(load_langpack("en").path).read_text(encoding="utf-8")
    src = src.split("\n[competitors]")[0]  # the pack's own table, if any, is replaced
    bad = tmp_path / "en.toml"
    bad.write_text(src + "\n" + extra, encoding="utf-8")
    line = len(bad.read_text(encoding="utf-8").splitlines())
    with pytest.raises(DataFileError) as e:
        load_langpack_file(bad)
    assert str(e.value).startswith(f"{bad}:{line}: field '{field}'"), str(e.value)
    assert message in str(e.value)


def test_competitors_need_phoneme_patterns(tmp_path: Path) -> None:
    p = _write(tmp_path, BASE + '[competitors]\n"top" = "t ɑ p"\n')
    with pytest.raises(DataFileError, match="competitors need the intents' phoneme patterns"):
        load_langpack_file(p)
