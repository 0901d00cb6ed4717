"""Vad: segments with real pre-roll, ended by the hangover, and an early look at the first pause.

The VAD is energy-based, so a loud noise burst stands in for speech here; what is tested is the
segmenting logic (the listener tests run it on real speech)."""

from __future__ import annotations

import numpy as np

from coach.audio.format import BLOCK, RATE, read_wav
from coach.listening.vad import BLOCK_S, Segment, Vad, VadConfig
from tests.conftest import clip


def _signal(*parts: tuple[float, float]) -> np.ndarray:
    """(seconds, level) pieces of noise: level 1e-3 is a quiet room, 0.1 is speech."""
    rng = np.random.default_rng(3)
    return np.concatenate(
        [(rng.standard_normal(round(s * RATE)) * lvl).astype(np.float32) for s, lvl in parts]
    )


def _run(vad: Vad, x: np.ndarray) -> list[tuple[int, object]]:
    """(block index at which it came out, segment) for everything the VAD emits."""
    x = np.pad(x, (0, -len(x) % BLOCK))
    out = []
    for i in range(0, len(x), BLOCK):
        out += [(i // BLOCK, s) for s in vad.feed(x[i : i + BLOCK])]
    return out


def test_one_word_gives_an_early_look_then_the_final_segment() -> None:
    c = VadConfig()
    got = _run(Vad(c), _signal((1.0, 1e-3), (0.4, 0.1), (0.6, 1e-3)))
    assert [s.final for _, s in got] == [False, True]
    assert not any(s.glimpse for _, s in got)  # the drop is to the room: the early look is the look
    (b_early, early), (b_final, final) = got
    word_end_block = round(1.4 / BLOCK_S)
    assert b_early - word_end_block + 1 == round(c.early_s / BLOCK_S)  # after 60 ms of quiet
    assert b_final - word_end_block + 1 == round(c.hangover_s / BLOCK_S)  # after 160 ms
    assert early.start == final.start and early.voiced_end == final.voiced_end
    np.testing.assert_array_equal(early.audio, final.audio[: len(early.audio)])
    assert final.voiced_start - final.start == round(c.preroll_s * RATE)  # real pre-roll


def test_speech_after_the_pause_continues_the_same_segment() -> None:
    got = _run(Vad(), _signal((1.0, 1e-3), (0.3, 0.1), (0.1, 1e-3), (0.3, 0.1), (0.6, 1e-3)))
    early = [s for _, s in got if not s.final]
    final = [s for _, s in got if s.final]
    assert len(final) == 1 and len(early) == 2  # one look per pause, one segment
    assert early[0].voiced_end < final[0].voiced_end  # more was said after the first look


def test_no_early_look_when_it_would_not_be_earlier() -> None:
    got = _run(Vad(VadConfig(early_s=0.2)), _signal((1.0, 1e-3), (0.4, 0.1), (0.6, 1e-3)))
    assert [s.final for _, s in got] == [True]


def test_a_word_with_a_tail_over_the_floor_gives_a_glimpse_at_the_word_end() -> None:
    """A word (-10 dBFS) that goes on at -50 dBFS for half a second (a recording's tail, a breath,
    a room's echo) over a -60 dBFS room: the VAD hears the tail as speech, so its early look comes
    only after it. The glimpse comes 60 ms after the word's strong part, once, and says where that
    part ended."""
    c = VadConfig()
    got = _run(Vad(c), _signal((1.0, 1e-3), (0.4, 0.3), (0.5, 3e-3), (0.6, 1e-3)))
    assert [_kind(s) for _, s in got] == ["glimpse", "tail end", "early", "final"]
    (b_glimpse, glimpse), (b_tail, tail), (b_early, _), (_, final) = got
    word_end_block = round(1.4 / BLOCK_S)
    assert b_glimpse - word_end_block + 1 == round(c.early_s / BLOCK_S)
    assert glimpse.voiced_end == round(1.4 * RATE)  # the word's strong part, not the tail
    # the same fall held as long as a pause: a tail end, the VAD still hearing the tail
    assert c.tail_end_s is not None
    assert b_tail - word_end_block + 1 == round(c.tail_end_s / BLOCK_S)
    assert tail.strong_end == final.strong_end == round(1.4 * RATE)  # where the word fell
    assert tail.voiced_end == round((b_tail + 1) * BLOCK)  # the tail is still over the floor
    assert b_early - round(1.9 / BLOCK_S) + 1 == round(c.early_s / BLOCK_S)  # after the tail
    assert glimpse.start == tail.start == final.start
    np.testing.assert_array_equal(glimpse.audio, final.audio[: len(glimpse.audio)])
    np.testing.assert_array_equal(tail.audio, final.audio[: len(tail.audio)])


def _kind(s: Segment) -> str:
    return "tail end" if s.tail_end else "glimpse" if s.glimpse else "final" if s.final else "early"


def test_a_tail_end_needs_the_fall_held_a_pause_long_and_can_be_switched_off() -> None:
    """A fall shorter than the hangover (the closure of a "t" inside a word) is no tail end;
    words after a tail end move the segment's strong end past it; tail_end_s None: none."""
    c = VadConfig()
    short = _signal((1.0, 1e-3), (0.3, 0.3), (0.1, 3e-3), (0.3, 0.3), (0.6, 1e-3))
    assert "tail end" not in [_kind(s) for _, s in _run(Vad(c), short)]
    two = _signal((1.0, 1e-3), (0.3, 0.3), (0.3, 3e-3), (0.3, 0.3), (0.3, 3e-3), (0.6, 1e-3))
    got = [s for _, s in _run(Vad(c), two)]
    tails = [s for s in got if s.tail_end]
    assert len(tails) == 2 and tails[0].strong_end < tails[1].strong_end == got[-1].strong_end
    off = Vad(VadConfig(tail_end_s=None))
    assert "tail end" not in [_kind(s) for _, s in _run(off, two)]


def test_no_glimpse_into_a_sentence_or_when_switched_off() -> None:
    tail = ((1.0, 1e-3), (0.5, 3e-3), (0.6, 1e-3))
    long_speech = _signal(tail[0], (VadConfig().glimpse_max_s + 0.2, 0.3), *tail[1:])
    assert not any(s.glimpse for _, s in _run(Vad(), long_speech))
    word = _signal(tail[0], (0.4, 0.3), *tail[1:])
    assert not any(s.glimpse for _, s in _run(Vad(VadConfig(glimpse_drop_db=None)), word))
    assert sum(s.glimpse for _, s in _run(Vad(), word)) == 1


def test_a_louder_room_becomes_the_floor_and_speech_ends_on_time() -> None:
    """A -50 dBFS room is above the first floor (-60). The floor must learn it from every block
    (speech included), or the room itself keeps the VAD in one 3 s segment after another and a
    stop is decoded up to 3 s late (measured live before this was fixed)."""
    c = VadConfig()
    room = 10 ** (-50 / 20)
    got = _run(Vad(c), _signal((4.0, room), (0.4, 0.1), (1.0, room)))
    word_end_block = round(4.4 / BLOCK_S)
    finals = [(b, s) for b, s in got if s.final]
    later = [(b, s) for b, s in finals if s.voiced_end > round(2.5 * RATE)]
    assert len(later) == 1, [(b, s.start / RATE) for b, s in finals]  # the word, nothing else
    b, seg = later[0]
    assert b - word_end_block + 1 == round(c.hangover_s / BLOCK_S)  # ended by the hangover
    assert abs(seg.voiced_end / RATE - 4.4) <= 0.02


def test_voicing_tells_a_voice_from_noise() -> None:
    """What keeps breath and hiss from hushing the coach: a vowel-like tone (120 Hz and its
    harmonics), a real person's "stop" (its vowel), against white and breath-band noise."""
    from scipy.signal import butter, sosfilt

    from coach.listening.vad import voicing

    t = np.arange(640) / RATE
    vowel = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 8))
    assert voicing(vowel) > 0.9
    rng = np.random.default_rng(0)
    white = rng.standard_normal(RATE)
    band = sosfilt(butter(4, [200, 2000], "bandpass", fs=RATE, output="sos"), white)
    for noise in (white, band):
        worst = max(voicing(noise[i : i + 640]) for i in range(0, RATE - 640, 320))
        assert worst < 0.5
    x = read_wav(clip("stop/stop_1eddce1d_nohash_3.wav"))
    assert max(voicing(x[i : i + 640]) for i in range(0, len(x) - 640, 320)) > 0.8


def test_sibilance_tells_the_s_of_a_word_from_noise() -> None:
    """What lets a "stop" hush the coach at its "s", up to 200 ms before its vowel: the real
    clips' "s" (the 40 ms windows before the vowel) put >= 85 % of their energy above 3 kHz;
    the vowel, white noise (62 % by its flat spectrum) and breath-band noise do not."""
    from scipy.signal import butter, sosfilt

    from coach.listening.front import SIBILANT
    from coach.listening.vad import sibilance

    assert SIBILANT is not None
    rng = np.random.default_rng(0)
    white = rng.standard_normal(RATE)
    band = sosfilt(butter(4, [200, 2000], "bandpass", fs=RATE, output="sos"), white)
    for noise in (white, band):
        worst = max(sibilance(noise[i : i + 640]) for i in range(0, RATE - 640, 320))
        assert worst < 0.75
    for name in ("stop_6a27a9bf_nohash_0.wav", "stop_439c84f4_nohash_1.wav"):
        x = read_wav(clip(f"stop/{name}"))
        frames = [x[i : i + 640] for i in range(0, len(x) - 640, 320)]
        loud = [f for f in frames if np.sqrt(np.mean(f**2)) > 0.01 * np.abs(x).max()]
        s = [sibilance(f) for f in loud]
        vowel = max(range(len(loud)), key=lambda k: float(np.mean(loud[k] ** 2)))
        assert max(s[:vowel]) >= SIBILANT, (name, [round(v, 2) for v in s])  # the "s"
        assert s[vowel] < 0.1  # the vowel
