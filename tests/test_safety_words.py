"""The per-user record that stop and pain were heard (coach/app/safety_words.py), and the proof in
a whole session on the file back end with the real listener and synthesized speech."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coach.app import safety_words
from coach.app.demo import Reaction
from coach.session import safety
from tests.test_session_cli import EXHALE_LEFT, first, on_cue, ready_first, simulate, voice


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COACH_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_a_pass_is_remembered_per_engine_and_microphone(data_dir: Path) -> None:
    assert not safety_words.proven("phonemes+whisper", "mic")
    assert safety_words.remember("phonemes+whisper", "mic")
    assert safety_words.proven("phonemes+whisper", "mic")
    assert not safety_words.proven("pocketsphinx", "mic")  # another engine: ask again
    assert not safety_words.proven("phonemes+whisper", "usb-headset")  # another microphone
    safety_words.remember("phonemes+whisper", "mic")  # again: one record, not two
    passes = json.loads((data_dir / safety_words.FILE).read_text())
    assert len(passes) == 1 and passes[0]["engine"] == "phonemes+whisper"
    assert [p.name for p in data_dir.iterdir()] == [safety_words.FILE]  # no temporary left


@pytest.mark.parametrize("text", ["", "{not json", '{"engine": "x"}', "[1, 2]"])
def test_a_damaged_record_only_means_ask_again(data_dir: Path, text: str) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / safety_words.FILE).write_text(text)
    assert not safety_words.proven("pocketsphinx", "mic")
    assert safety_words.remember("pocketsphinx", "mic")
    assert safety_words.proven("pocketsphinx", "mic")


def test_a_data_folder_that_cannot_be_written_is_reported_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("COACH_DATA_DIR", str(blocker / "data"))  # its parent is a file
    assert not safety_words.remember("pocketsphinx", "mic")
    assert not safety_words.proven("pocketsphinx", "mic")


def test_the_microphone_is_named_by_the_sound_server(virtual_audio: dict[str, str]) -> None:
    assert safety_words.microphone_name() == virtual_audio["PULSE_SOURCE"]


def test_check_words_asks_for_stop_and_pain_and_neither_ends_the_session(tmp_path: Path) -> None:
    result, user = simulate(tmp_path, [
        ready_first(),
        # each said when the prompt has ended (over it, the hush would cut it: tested elsewhere)
        Reaction(on_cue(safety.PROVE_ASK["stop"]), 5.0, voice("stop"), "stop", retries=2),
        Reaction(on_cue(safety.PROVE_ASK["pain"]), 2.5, voice("pain"), "pain", retries=2),
        Reaction(on_cue(EXHALE_LEFT), 0.6, voice("stop"), "stop"),
    ], tempo=6.0, check_words=True)  # fmt: skip
    ev = result.events
    proofs = [e["intent"] for e in ev if e["type"] == "proof"]
    # (a retry may be heard as the word already proven: asked again, the proof still ends well)
    assert set(proofs) == {"stop", "pain"} and len(proofs) <= 4, user.spoken
    assert first(ev, "cue", text=safety.PROVE_OK)
    assert first(ev, "state", state="exercising")
    assert [e["intent"] for e in ev if e["type"] == "command"] == ["ready", "stop"]
    assert result.reason == "stopped"
