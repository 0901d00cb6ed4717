"""The callback's plain-numpy pieces: the sample FIFO and the wall-clock lock."""

from __future__ import annotations

import numpy as np

from coach.audio.buffers import SampleFifo, WallLock


def test_fifo_keeps_order_across_the_wrap_and_reports_what_it_had() -> None:
    f = SampleFifo(8)
    f.write(np.arange(6, dtype=np.float32))
    out = np.full(4, -1.0, np.float32)
    assert f.read_into(out) == 4 and out.tolist() == [0, 1, 2, 3]
    f.write(np.arange(6, 11, dtype=np.float32))  # wraps around the end of the buffer
    out = np.full(10, -1.0, np.float32)
    assert f.read_into(out) == 7
    assert out[:7].tolist() == [4, 5, 6, 7, 8, 9, 10] and out[7:].tolist() == [-1, -1, -1]
    assert len(f) == 0


def test_a_full_fifo_drops_the_oldest_and_says_how_many() -> None:
    f = SampleFifo(4)
    assert f.write(np.arange(3, dtype=np.float32)) == 0
    assert f.write(np.arange(3, 6, dtype=np.float32)) == 2  # 0 and 1 go
    out = np.zeros(4, np.float32)
    assert f.read_into(out) == 4 and out.tolist() == [2, 3, 4, 5]
    assert f.drop(10) == 0


def test_fade_out_silences_what_is_queued_without_a_step() -> None:
    f = SampleFifo(64)
    f.write(np.full(40, 0.5, np.float32))
    assert f.fade_out(8) == 40
    out = np.zeros(40, np.float32)
    assert f.read_into(out) == 40  # the length stays: the clock keeps counting
    assert out[0] == 0.5 and np.all(np.diff(out[:9]) <= 0) and np.all(out[8:] == 0)
    assert np.abs(np.diff(out)).max() < 0.5 / 8 * 1.6  # a raised cosine, not a cut


def test_wall_lock_is_quiet_on_time_and_measures_a_stall_once() -> None:
    rate, frames = 16_000, 320
    lock = WallLock(rate)
    t = 0.0
    for _ in range(100):  # 2 s on time
        assert lock.update(frames, t) == 0
        t += frames / rate
    t += 0.1  # the server stalled 100 ms: every later callback plays that much later
    got = [lock.update(frames, t + k * frames / rate) for k in range(20)]
    assert sum(got) == 1600 and sum(1 for g in got if g) == 1  # once, the whole lag
