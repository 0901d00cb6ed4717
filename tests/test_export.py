"""`coach export`: a whole session to a WAV of the planned length, cues at the planned onsets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coach.audio.format import RATE, read_wav
from coach.cli import main
from coach.exercise.choreography import plan, render_clips, script
from coach.exercise.routine import get_routine
from coach.exercise.tempo import Tempo
from coach.speech.tts import SpeechRenderer
from coach.speech.voice import get_voice


def onsets(x: np.ndarray, threshold: float = 0.01, gap_s: float = 0.25) -> np.ndarray:
    loud = np.flatnonzero(np.abs(x) > threshold)
    return loud[np.concatenate(([True], np.diff(loud) > gap_s * RATE))]


def test_export_writes_the_session_with_cues_on_the_breath_grid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "session.wav"
    rc = main(["export", "trunk-rotation", "-o", str(out), "--reps", "5", "--tempo", "10", "-q"])
    assert rc == 0, capsys.readouterr().err
    assert "wrote" in capsys.readouterr().out
    audio = read_wav(out)
    r = get_routine("trunk-rotation")
    breaths = sum(s.breaths for s in (*r.intro, *r.outro)) + 5 * len(r.cycle) // 2
    assert len(audio) == breaths * 6 * RATE  # 6 s breaths at 10/min, to the sample
    clips = render_clips(r, SpeechRenderer(), get_voice())
    cues, _, _ = plan(script(r, 5), Tempo(10), clips)
    found = onsets(audio)
    for c in cues:
        first_sound = c.onset + int(np.flatnonzero(np.abs(c.fitted.clip) > 0.01)[0])
        assert np.min(np.abs(found - first_sound)) <= 1, c.fitted.text
        seg = audio[c.onset : c.onset + len(c.fitted.clip)]
        assert np.allclose(seg, c.fitted.clip, atol=2e-4)  # the fitted clip itself, whole
    # at 10 breaths/min the long exhale cue is replaced by its short form
    assert any(c.fitted.text == r.cycle[1].cue.short for c in cues)
    assert not list(tmp_path.glob(".*part"))


def test_tones_are_soft_and_fill_the_breath(tmp_path: Path) -> None:
    out = tmp_path / "tones.wav"
    assert main(["export", "trunk-rotation", "-o", str(out), "--tones", "-q"]) == 0
    audio = read_wav(out)
    # the last exhale (outro) has no speech after its cue: the tone is there, and quiet
    tail = audio[-3 * RATE : -RATE]
    assert 0.005 < np.max(np.abs(tail)) < 0.05


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-routine"], "unknown routine"),
        (["trunk-rotation", "--reps", "2"], "out of range for trunk-rotation"),
        (["trunk-rotation", "--tempo", "12"], "out of range (3 to 10"),
        (["trunk-rotation", "--voice", "nobody"], "unknown voice"),
    ],
)
def test_bad_arguments_are_clear_errors_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    out = tmp_path / "s.wav"
    assert main(["export", *args, "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("coach: ") and message in err
    assert "Traceback" not in err
    assert not list(tmp_path.iterdir())


def test_unwritable_output_fails_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "trunk-rotation", "-o", str(tmp_path / "no" / "s.wav")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", "trunk-rotation", "-o", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert main(["export", "trunk-rotation", "-o", str(tmp_path / "s.mp3")]) == 2
    assert ".wav" in capsys.readouterr().err
