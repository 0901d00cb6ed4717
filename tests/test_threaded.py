"""ThreadedListener: the user's voice beginning is told by feed() itself, in the audio loop, while
the listener's thread is still busy with an earlier decode; the detections and the voice's end
come from the thread. Real clips, the real phoneme engine; its decode is held behind a gate, which
stands in for a loaded machine (a decode that takes seconds cannot be caused on cue)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from coach.audio.format import BLOCK, RATE, read_wav
from coach.intents import Intent
from coach.listening.detection import Detection, VoiceActivity
from coach.listening.engines.base import Engine, Hypothesis
from coach.listening.factory import make_listener
from coach.listening.listener import Listener
from coach.listening.threaded import ThreadedListener


class HeldEngine:
    """A real engine whose decodes wait for `gate` (the first one tells `busy`). The gate stands
    in for a slow decode (a busy machine), timing that cannot be caused on cue here; what is
    recognized stays real."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner
        self.name, self.language = inner.name, inner.language
        self.gate = threading.Event()
        self.busy = threading.Event()

    def set_grammar(self, phrases: list[str]) -> None:
        self.inner.set_grammar(phrases)

    def recognize(self, segment: np.ndarray) -> list[Hypothesis]:
        self.busy.set()
        assert self.gate.wait(60), "the test never opened the gate"
        return self.inner.recognize(segment)


def stream(speech_dir: Path) -> np.ndarray:
    """Room, a bird (no command), room, a stop, room: -55 dBFS noise between real clips."""
    room = (10 ** (-55 / 20) * np.random.default_rng(0).standard_normal(RATE // 2)).astype(
        np.float32
    )
    bird = read_wav(speech_dir / "_none" / "bird_2f813234_nohash_1.wav")
    stop = read_wav(speech_dir / "stop" / "stop_1eddce1d_nohash_3.wav")
    return np.concatenate([room, bird, room, stop, room])


def onsets_by_block(lis: Listener | ThreadedListener, x: np.ndarray) -> list[tuple[int, float]]:
    """(block index, onset time) of every voice beginning, as the caller of feed() sees it."""
    told = []
    for k, i in enumerate(range(0, len(x) // BLOCK * BLOCK, BLOCK)):
        lis.feed(x[i : i + BLOCK])
        told += [(k, v.at) for v in lis.heard_voice() if v.began]
    return told


def test_an_onset_is_told_while_the_thread_is_stuck_in_a_decode(speech_dir: Path) -> None:
    x = stream(speech_dir)
    expected = onsets_by_block(make_listener("phonemes"), x)  # the same listener, on one thread
    assert len(expected) == 2, expected  # the bird and the stop

    lis = make_listener("phonemes")
    held = HeldEngine(lis.engine)
    lis.engine = held
    threaded = ThreadedListener(lis)
    try:
        got = onsets_by_block(threaded, x)
        assert held.busy.wait(10), "the bird was never decoded"
        assert not held.gate.is_set()  # ... and its decode is still stuck: nothing was heard
        assert got == expected  # both onsets, in the very block a one-thread listener tells them

        held.gate.set()
        room = (10 ** (-55 / 20) * np.random.default_rng(1).standard_normal(BLOCK)).astype(
            np.float32
        )
        heard: list[Detection] = []
        voice: list[VoiceActivity] = []
        deadline = time.monotonic() + 60
        while not (heard and any(not v.began for v in voice)) and time.monotonic() < deadline:
            heard += threaded.feed(room)
            voice += threaded.heard_voice()
            time.sleep(0.005)
        assert [d.intent for d in heard] == [Intent.STOP]
        # the bird's end came after the stop had begun: superseded, not told (it would end a
        # hush the stop is holding); the stop's own end is
        ends = [v for v in voice if not v.began]
        assert len(ends) == 1 and ends[0].seg > 0, voice
        stop_start = expected[1][1]
        assert ends[0].at > stop_start
    finally:
        held.gate.set()
        threaded.close()
