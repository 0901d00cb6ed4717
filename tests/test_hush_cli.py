"""Hush on voice in whole sessions: the file back end, simulated time, the real listener and real
synthesized speech, the coach's own voice echoed into the mic (tests/test_session_cli.py's room).
The coach falls silent when the user's voice begins, before any verdict; words that were no
command let it carry on, saying the interrupted cue again, and the breath grid never moves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from coach.app.demo import Reaction
from coach.audio.format import RATE
from coach.session import safety
from coach.session.hush import HUSH_MAX_S
from tests.audio_rig import rms
from tests.test_session_cli import (
    EXHALE_LEFT,
    HUSH_BOUND_S,
    LEFT_SHORT,
    SILENT,
    first,
    on_cue,
    ready_first,
    simulate,
    voice,
    word_onset,
)

LEFT = (EXHALE_LEFT, LEFT_SHORT)


def grid_cues(events: list[dict[str, Any]]) -> list[tuple[float, str]]:
    """(onset, text) of the breath cues said on the grid: not a cue said again after a hush."""
    out, last_over = [], -1.0
    for e in events:
        if e["type"] == "hush-over":
            last_over = e["t"]
        elif e["type"] == "cue" and e["t"] > last_over + 0.05:
            out.append((e["t"], e["text"]))
    return out


def test_a_word_that_is_no_command_hushes_then_the_cue_is_said_again_on_the_grid(
    tmp_path: Path,
) -> None:
    word = voice("wonderful")
    result, user = simulate(tmp_path, [
        ready_first(),
        Reaction(on_cue(lambda t: t in LEFT), 0.5, word, "wonderful"),
    ])  # fmt: skip
    ev = result.events
    hush, over = first(ev, "hush"), first(ev, "hush-over")
    onset = word_onset(user, "wonderful")
    assert onset < hush["t"] <= onset + HUSH_BOUND_S
    assert over["then"] == "nothing" and over["after_s"] <= HUSH_MAX_S
    assert not [e for e in ev if e["type"] == "command" and e["intent"] != "ready"]
    # silent while the user spoke, then the interrupted cue again from its start, right away
    spk = user.coach_track
    a, b = round((hush["t"] + 0.05) * RATE), round(over["t"] * RATE)
    assert rms(spk[a:b]) < SILENT
    again = [e for e in ev if e["type"] == "cue" and over["t"] <= e["t"] <= over["t"] + 0.1]
    assert again and again[0]["text"] in LEFT, again
    # the breath grid did not move: the same cues at the same moments as a session with no word
    quiet, _ = simulate(tmp_path / "q", [ready_first()])
    assert grid_cues(ev) == grid_cues(quiet.events)
    assert result.reason == "completed" and (result.left, result.right) == (5, 5)


def test_stop_silences_within_the_bound_of_the_words_start_and_no_hush_waits_for_the_verdict(
    tmp_path: Path,
) -> None:
    """With the hush (default) the coach is silent HUSH_BOUND_S after "stop" begins; with
    --no-hush it talks until the recognizer has heard the word (the old behaviour, for people
    who find a coach that stops for every cough unsettling)."""
    results = {}
    for hush in (True, False):
        (tmp_path / str(hush)).mkdir()
        result, user = simulate(tmp_path / str(hush), [
            ready_first(),
            Reaction(on_cue(EXHALE_LEFT), 0.6, voice("stop"), "stop"),
        ], tempo=6.0, no_hush=not hush)  # fmt: skip
        onset = word_onset(user, "stop")
        spk = user.coach_track
        after = spk[round((onset + HUSH_BOUND_S) * RATE) : round((onset + 0.4) * RATE)]
        results[hush] = (rms(after), [e["type"] for e in result.events if "hush" in e["type"]])
        assert result.reason == "stopped"
        assert first(result.events, "cue", text=safety.STOPPING)
    assert results[True][0] < SILENT and results[True][1] == ["hush", "hush-over"]
    assert results[False][0] > 0.01 and results[False][1] == []  # still talking: no hush


def test_words_hush_a_noise_burst_does_not_and_the_reps_stay_exact(tmp_path: Path) -> None:
    """Two hushes in one session (words) and a burst of noise (unvoiced: like breath or a rustle,
    it does not hush); every rep still counted once."""
    rng = np.random.default_rng(3)
    burst = (rng.standard_normal(round(0.25 * RATE)) * 0.2).astype(np.float32)
    result, user = simulate(tmp_path, [
        ready_first(),
        Reaction(on_cue(lambda t: t in LEFT), 0.4, voice("okay"), "okay"),
        Reaction(on_cue(lambda t: t in LEFT), 0.4, burst, "burst"),
        Reaction(on_cue(lambda t: t in LEFT), 0.4, voice("alright then"), "alright"),
    ])  # fmt: skip
    hushes = [e["t"] for e in result.events if e["type"] == "hush"]
    said = dict((w, t) for t, w in user.spoken)
    assert len(hushes) == 2, (hushes, said)
    assert not [h for h in hushes if said["burst"] <= h <= said["burst"] + 0.5]
    assert result.reason == "completed" and (result.left, result.right) == (5, 5)


def test_words_between_two_cues_hold_the_next_until_their_verdict(tmp_path: Path) -> None:
    """The user begins to speak in the quiet after a cue, just before the next is due: the coach
    does not start it over the words (a stop said there is never talked over); once they are no
    command it says that cue, fitted to what is left of its phase. With --no-hush the cue starts
    on time, over the words."""
    word = voice("wonderful")
    runs = {}
    for hush in (True, False):
        (tmp_path / str(hush)).mkdir()
        runs[hush] = simulate(tmp_path / str(hush), [
            ready_first(),
            # "Out. Legs to the left." is said whole and over in ~2 s of its 3.6 s exhale
            Reaction(on_cue(lambda t: t in LEFT), 3.3, word, "wonderful"),
        ], no_hush=not hush)  # fmt: skip
    result, user = runs[True]
    ev = result.events
    onset = word_onset(user, "wonderful")
    due = next(e["t"] for e in runs[False][0].events if e["type"] == "cue" and e["t"] > onset)
    assert onset < due < onset + 0.5  # the next cue was due while the word was being said
    hush, over = first(ev, "hush"), first(ev, "hush-over")
    assert hush.get("between") is True and onset < hush["t"] <= onset + HUSH_BOUND_S
    assert over["then"] == "nothing"
    spk = user.coach_track
    assert rms(spk[round(onset * RATE) : round(over["t"] * RATE)]) < SILENT  # nothing said over it
    after = next(e for e in ev if e["type"] == "cue" and e["t"] > onset)
    assert over["t"] <= after["t"] <= over["t"] + 0.1  # the held cue, right after the verdict
    assert result.reason == "completed" and (result.left, result.right) == (5, 5)
    quiet_spk = runs[False][1].coach_track  # --no-hush: the cue is said over the words
    assert rms(quiet_spk[round(due * RATE) : round((due + 0.3) * RATE)]) > 0.01
