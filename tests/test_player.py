"""The player: queued clips, exact onsets, and cancel within one block without a click."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from coach.audio.files import FileAudio
from coach.audio.format import BLOCK, RATE, read_wav
from coach.speech.player import Player


def tone(seconds: float, hz: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_clips_play_back_to_back_with_labels() -> None:
    p = Player()
    a, b = tone(0.05, 300), tone(0.03, 500)
    p.play(a, "a")
    p.play(b, "b")
    assert p.busy and p.current_label == "a"
    out = np.concatenate([p.next_block() for _ in range(6)])
    assert np.array_equal(out[: len(a) + len(b)], np.concatenate([a, b]))
    assert not out[len(a) + len(b) :].any()
    assert not p.busy and p.current_label is None
    assert np.array_equal(p.history(len(out)), out)  # the ring holds exactly what was played


def test_delay_places_an_onset_on_an_exact_sample() -> None:
    p = Player()
    p.play(tone(0.01), delay=BLOCK + 77)
    out = np.concatenate([p.next_block() for _ in range(4)])
    assert np.flatnonzero(out)[0] in (BLOCK + 77, BLOCK + 78)  # sin(0) = 0 at the very onset
    assert not out[: BLOCK + 77].any()


def cancel_run(io: FileAudio, cancel_at: int, blocks: int) -> np.ndarray:
    p = Player()
    p.play(tone(3.0), "long")
    p.play(tone(1.0), "next")
    with io:
        for k in range(blocks):
            if k == cancel_at:
                p.cancel()
                assert p.current_label == "long"
            io.exchange(p.next_block())
    assert not p.busy
    return p.history()


def test_cancel_silences_within_one_block_with_a_fade_on_file_audio(tmp_path: Path) -> None:
    spk = tmp_path / "spk.wav"
    cancel_run(FileAudio(None, spk), cancel_at=20, blocks=40)
    out = read_wav(spk)
    cut = 20 * BLOCK
    assert np.max(np.abs(out[cut - BLOCK : cut])) > 0.4  # it was speaking loudly
    fade = round(0.005 * RATE)
    assert not out[cut + fade :].any()  # silent before the block ends, and the queue is gone
    assert np.max(np.abs(out[cut : cut + fade])) > 0  # a fade, not a hard cut...
    steps = np.abs(np.diff(out[cut - BLOCK : cut + BLOCK]))
    # ...no click: no sample step larger than the tone's own (0.5 * 2*pi*440/16000 = 0.086)
    assert steps.max() < 0.09


def test_cancel_of_a_clip_still_waiting_to_start_plays_nothing() -> None:
    p = Player()
    p.play(tone(0.2), delay=10 * BLOCK)
    p.next_block()
    p.cancel()
    assert not any(p.next_block().any() for _ in range(15))


def test_hard_cancel_stops_without_a_fade_of_its_own() -> None:
    """After the device faded out what it held, the player must not sound again (its own fade
    would start from full level after the device's silence)."""
    p = Player()
    p.play(tone(1.0))
    p.next_block()
    p.cancel(hard=True)
    assert not p.next_block().any() and not p.busy


def test_cut_to_next_fades_what_plays_and_starts_the_next_clip_in_the_same_block() -> None:
    """A breath cue that must start on time: what still plays (an acknowledgement) and what is
    queued behind it are faded out and dropped; the new clip starts right after the 5 ms fade."""
    p = Player()
    ack, queued, cue = tone(1.0, 300), tone(1.0, 500), tone(0.2, 700)
    p.play(ack, "ack")
    p.play(queued, "queued")
    for _ in range(3):
        p.next_block()
    assert p.queued_labels == ["ack", "queued"]
    p.cut_to_next()
    p.play(cue, "cue")
    out = p.next_block()
    fade = round(0.005 * RATE)
    pos = 3 * BLOCK
    assert np.max(np.abs(out[:fade])) <= np.max(np.abs(ack[pos : pos + fade]))  # faded
    assert abs(float(out[fade - 1])) < 0.05  # down to (almost) nothing, no click
    assert np.array_equal(out[fade:], cue[: BLOCK - fade])  # the cue, in this very block
    assert p.queued_labels == ["cue"]
    rest = np.concatenate([p.next_block() for _ in range(12)])
    assert np.array_equal(rest[: len(cue) - (BLOCK - fade)], cue[BLOCK - fade :])
    assert not rest[len(cue) - (BLOCK - fade) :].any()  # the queued clip never plays


def test_cancel_after_cut_to_next_still_silences_everything() -> None:
    p = Player()
    p.play(tone(1.0), "ack")
    p.next_block()
    p.cut_to_next()
    p.play(tone(1.0, 700), "cue")
    p.cancel()  # a stop in the same block wins
    p.next_block()
    assert not p.busy and not p.next_block().any()
