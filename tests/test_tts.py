"""SpeechRenderer with the real pyttsx3 + espeak-ng: the right audio in the right place, the cache,
speed, trimming. espeak-ng is not bit-exact between runs (a few samples of jitter), so "the same
audio" is judged by dynamic-time-warped spectra: each cue must be nearest to its own solo rendering
and far from every other cue's."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from coach.audio.format import RATE
from coach.errors import TTSError, UsageError
from coach.speech.trim import LEAD_S
from coach.speech.tts import SpeechRenderer, espeak_voice_ids
from coach.speech.voice import VoiceProfile, get_voice
from tests import ROOT
from tests.audio_rig import rms

CUES = [
    "Rest.",
    "Breathe in slowly.",
    "Breathe out, knees to the left.",
    "Inhale, and bring your knees back to the middle.",
    "Breathe out, and let both knees fall gently to the right, keeping them together.",
]


def features(x: np.ndarray) -> np.ndarray:
    """Log band energies, 25 ms frames every 20 ms, each frame unit-normalized (for cosine)."""
    n, hop = 400, 320
    if len(x) < n:
        x = np.pad(x, (0, n - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::hop] * np.hanning(n)
    spec = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    edges = np.unique(np.geomspace(4, spec.shape[1] - 1, 25).astype(int))
    bands = np.stack(
        [spec[:, a:b].sum(axis=1) for a, b in zip(edges[:-1], edges[1:], strict=True)], 1
    )
    f = np.log(bands + 1e-6)
    f -= f.mean(axis=1, keepdims=True)
    return f / (np.linalg.norm(f, axis=1, keepdims=True) + 1e-9)


def dtw_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean cosine distance along the best alignment of two feature sequences."""
    fa, fb = features(a), features(b)
    cost = 1.0 - fa @ fb.T
    n, m = cost.shape
    d = np.full((n + 1, m + 1), np.inf)
    d[0, 0] = 0.0
    for i in range(1, n + 1):
        row, prev, c = d[i], d[i - 1], cost[i - 1]
        best = np.minimum(prev[1:], prev[:-1])
        for j in range(1, m + 1):
            row[j] = c[j - 1] + min(best[j - 1], row[j - 1])
    return float(d[n, m] / (n + m))




@pytest.fixture(scope="module")
def calm() -> VoiceProfile:
    return get_voice("calm")


@pytest.fixture(scope="module")
def solo(tmp_path_factory: pytest.TempPathFactory, calm: VoiceProfile) -> dict[str, np.ndarray]:
    """Each cue rendered on its own, each with a fresh renderer and empty cache."""
    out = {}
    for i, t in enumerate(CUES):
        r = SpeechRenderer(cache_dir=tmp_path_factory.mktemp(f"solo{i}"))
        out[t] = r.render(t, calm)
    return out


def test_back_to_back_in_a_fresh_process_lands_each_cue_in_its_own_clip(
    tmp_path: Path, solo: dict[str, np.ndarray]
) -> None:
    """docs/design-facts.md, TTS bug 1: right after init the first runAndWait returned early and the audio went
    into the next file. Render all cues back to back in a NEW process (so the first one is the
    first after init) and compare each with its solo rendering from this process."""
    cache = tmp_path / "cache"
    code = (
        "import json, sys, numpy as np\n"
        "from coach.speech.tts import SpeechRenderer\n"
        "from coach.speech.voice import get_voice\n"
        "r = SpeechRenderer(cache_dir=sys.argv[1])\n"
        "cues = json.loads(sys.argv[2])\n"
        "out = r.render_many(cues, get_voice('calm'))\n"
        "np.savez(sys.argv[3], *[out[c] for c in cues])\n"
        "from coach.speech.tts import _TTSThread\n"
        "print(r.engine_calls, _TTSThread.silent_results)\n"
    )
    npz = tmp_path / "seq.npz"
    p = subprocess.run(
        [sys.executable, "-c", code, str(cache), json.dumps(CUES), str(npz)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert "Audio saved" not in p.stdout  # the driver's print is silenced
    calls, silent = (int(v) for v in p.stdout.split())
    # one engine render per cue, and one more for each render the driver handed back empty
    # (asked again, see tts._synthesize: seen in a suite run beside a CPU-heavy benchmark)
    assert silent <= 1, f"{silent} of {len(CUES)} renders came back silent"
    assert calls == len(CUES) + silent, (calls, silent)
    seq = np.load(npz)
    got = [seq[f"arr_{i}"] for i in range(len(CUES))]
    lengths = [len(g) for g in got]
    assert lengths == sorted(lengths), f"durations must grow with the text: {lengths}"
    for i, t in enumerate(CUES):
        assert rms(got[i]) > 0.02, f"{t!r} is silent"
        ratio = len(got[i]) / len(solo[t])
        assert 0.93 < ratio < 1.07, f"{t!r}: {len(got[i])} vs solo {len(solo[t])} samples"
        dists = {u: dtw_distance(got[i], solo[u]) for u in CUES}
        nearest = min(dists, key=dists.__getitem__)
        assert nearest == t, f"{t!r} sounds most like {nearest!r}: {dists}"
        others = min(d for u, d in dists.items() if u != t)
        assert dists[t] < 0.5 * others, f"{t!r}: own {dists[t]:.3f} vs others {others:.3f}"


def test_alternating_voices_and_speeds_each_get_their_own_settings(
    tmp_path: Path, calm: VoiceProfile
) -> None:
    """espeak-ng applies rate/volume/pitch on its own thread; pyttsx3's runAndWait cancels what is
    still queued, so without the renderer's wait a new rate was silently dropped. Alternate
    settings back to back: durations and levels must follow each request, every time."""
    r = SpeechRenderer(cache_dir=tmp_path)
    text = "Let both knees fall gently to the right."
    quiet = VoiceProfile("q", calm.espeak, 140, 0.3, 40, "", calm.path)
    loud = VoiceProfile("l", calm.espeak, 140, 1.0, 40, "", calm.path)
    slow = VoiceProfile("s", calm.espeak, 90, 1.0, 40, "", calm.path)
    fast = VoiceProfile("f", calm.espeak, 280, 1.0, 40, "", calm.path)
    lens: dict[str, list[int]] = {"s": [], "f": []}
    peaks: dict[str, list[float]] = {"q": [], "l": []}
    before = r.engine_calls
    for i in range(3):
        speed = 1.0 + 0.001 * i  # same words per minute, but a new cache key each round
        lens["s"].append(len(r.render(text, slow, speed)))
        lens["f"].append(len(r.render(text, fast, speed)))
        peaks["q"].append(float(np.percentile(np.abs(r.render(text, quiet, speed)), 99)))
        peaks["l"].append(float(np.percentile(np.abs(r.render(text, loud, speed)), 99)))
    assert r.engine_calls - before == 12  # all really rendered, none from the cache
    assert min(lens["s"]) > 2.2 * max(lens["f"]), lens
    assert max(lens["s"]) < 1.1 * min(lens["s"]), lens
    assert min(peaks["l"]) > 2.0 * max(peaks["q"]), peaks


def test_cache_hit_returns_the_same_audio_without_the_engine(
    tmp_path: Path, calm: VoiceProfile
) -> None:
    r = SpeechRenderer(cache_dir=tmp_path)
    a = r.render("Knees to the ceiling.", calm)
    calls = r.engine_calls
    b = r.render("Knees   to the ceiling.", calm)  # whitespace does not change what is said
    c = SpeechRenderer(cache_dir=tmp_path).render("Knees to the ceiling.", calm)  # another renderer
    assert r.engine_calls == calls  # no new synthesis
    assert (r.hits, r.misses) == (1, 1)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npy"  # no temp files left behind
    # a different voice or speed is a different entry
    r.render("Knees to the ceiling.", calm, speed=1.2)
    assert r.engine_calls == calls + 1


def test_cache_is_shared_with_another_process(tmp_path: Path, calm: VoiceProfile) -> None:
    a = SpeechRenderer(cache_dir=tmp_path).render("Rest for one breath.", calm)
    code = (
        "import sys, numpy as np\n"
        "from coach.speech.tts import SpeechRenderer\nfrom coach.speech.voice import get_voice\n"
        "r = SpeechRenderer(cache_dir=sys.argv[1])\n"
        "np.save(sys.argv[2], r.render('Rest for one breath.', get_voice('calm')))\n"
        "print(r.engine_calls, r.hits)\n"
    )
    out = tmp_path / "other.npy"
    p = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["0", "1"]  # read from disk, engine never used
    np.testing.assert_array_equal(np.load(out), a)


def test_corrupt_cache_entry_is_rendered_again(tmp_path: Path, calm: VoiceProfile) -> None:
    r = SpeechRenderer(cache_dir=tmp_path)
    a = r.render("Slowly.", calm)
    entry = next(tmp_path.glob("*.npy"))
    entry.write_bytes(entry.read_bytes()[:50])  # a torn file
    b = r.render("Slowly.", calm)
    assert r.misses == 2
    assert abs(len(a) - len(b)) < 0.05 * len(a)
    assert np.load(entry).shape == b.shape  # repaired


def test_faster_speed_gives_shorter_audio(tmp_path: Path, calm: VoiceProfile) -> None:
    r = SpeechRenderer(cache_dir=tmp_path)
    text = "Inhale, and return to the center."
    n1 = len(r.render(text, calm, 1.0))
    n15 = len(r.render(text, calm, 1.5))
    assert n15 < 0.8 * n1, (n1, n15)
    with pytest.raises(UsageError):
        r.render(text, calm, 3.0)


def test_silence_is_trimmed_so_the_onset_is_at_the_start(
    tmp_path: Path, calm: VoiceProfile
) -> None:
    a = SpeechRenderer(cache_dir=tmp_path).render("Stay.", calm)
    loud = np.flatnonzero(np.abs(a) > 0.01 * np.abs(a).max())
    assert loud[0] <= (LEAD_S + 0.003) * RATE  # first sound within a few ms
    assert len(a) - loud[-1] <= 0.035 * RATE  # and the tail is short too
    assert abs(a[0]) < 1e-3 and abs(a[-1]) < 1e-3  # faded edges: no click
    assert a.dtype == np.float32 and np.abs(a).max() <= 1.0


def test_render_many_reports_progress_and_dedupes(tmp_path: Path, calm: VoiceProfile) -> None:
    seen: list[tuple[int, int]] = []
    out = SpeechRenderer(cache_dir=tmp_path).render_many(
        ["One.", "Two.", "One."], calm, progress=lambda d, t: seen.append((d, t))
    )
    assert list(out) == ["One.", "Two."]
    assert seen == [(0, 2), (1, 2), (2, 2)]


def test_two_threads_rendering_at_once_get_their_own_audio(
    tmp_path: Path, calm: VoiceProfile, solo: dict[str, np.ndarray]
) -> None:
    """pyttsx3 hangs with two threads; the renderer funnels both through its one TTS thread."""
    results: dict[str, np.ndarray] = {}
    texts = [CUES[1], CUES[4]]

    def work(t: str, i: int) -> None:
        results[t] = SpeechRenderer(cache_dir=tmp_path / str(i)).render(t, calm)

    threads = [threading.Thread(target=work, args=(t, i)) for i, t in enumerate(texts)]
    t0 = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert time.monotonic() - t0 < 60 and len(results) == 2
    for t in texts:
        assert 0.93 < len(results[t]) / len(solo[t]) < 1.07


def test_failures_are_tts_errors(tmp_path: Path, calm: VoiceProfile) -> None:
    r = SpeechRenderer(cache_dir=tmp_path)
    with pytest.raises(TTSError, match="empty"):
        r.render("   ", calm)
    bogus = VoiceProfile("x", "xx/nonexistent", 140, 0.8, 40, "", calm.path)
    with pytest.raises(TTSError, match="no voice"):
        r.render("Hello.", bogus)
    with pytest.raises(TTSError, match="no sound"):
        r.render("...", calm)  # espeak-ng says nothing for bare punctuation


def test_real_voice_list() -> None:
    ids = espeak_voice_ids()
    assert len(ids) > 50 and "gmw/en-us" in ids


def test_trim_silence_keeps_a_soft_onset_and_cuts_padding() -> None:
    """Synthetic: 300 ms silence, a soft 'fricative' at -34 dB of the peak, a loud vowel, 400 ms
    silence. The soft part is sound (kept); the padding is not."""
    from coach.speech.trim import TAIL_S, trim_silence

    rng = np.random.default_rng(1)
    soft = (rng.standard_normal(1600) * 0.005).astype(np.float32)  # 100 ms, peak ~ 2 % of 1.0
    t = np.arange(3200) / RATE
    vowel = (0.9 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)
    x = np.concatenate([np.zeros(4800, np.float32), soft, vowel, np.zeros(6400, np.float32)])
    y = trim_silence(x, RATE)
    lead = round(LEAD_S * RATE)
    assert len(y) <= 1600 + 3200 + lead + round(TAIL_S * RATE) + 32
    assert len(y) >= 1600 + 3200  # the soft onset is not cut
    assert np.abs(y[lead + 64 : lead + 1500]).max() > 0.005  # ... and is still there
    assert trim_silence(np.zeros(1000, np.float32), RATE).size == 0


def test_two_processes_filling_the_same_cache_entry(tmp_path: Path) -> None:
    """Several coach processes share the cache: racing on one entry leave one whole file."""
    code = (
        "import sys\nfrom coach.speech.tts import SpeechRenderer\nfrom coach.speech.voice import get_voice\n"
        "a = SpeechRenderer(cache_dir=sys.argv[1]).render('Knees together, and rest.', get_voice())\n"
        "print(len(a))\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npy", files  # no temp files left
    cached = np.load(files[0])
    assert int(outs[0][0]) > 0 and len(cached) in {int(o) for o, _ in outs}


def test_a_render_that_comes_back_silent_is_asked_for_again(
    tmp_path: Path, calm: VoiceProfile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once in CI the driver handed back an empty file for an ordinary cue (not reproducible on
    demand, so this fault is FAKED: the first engine answer is replaced by silence). The renderer
    must ask again and return the real speech, not fail the session."""
    from coach.speech import tts

    real = tts._TTSThread.synth
    answers: list[int] = []

    def flaky(self: tts._TTSThread, *args: object) -> tuple[bytes, int]:
        pcm, rate = real(self, *args)
        answers.append(len(pcm))
        return (b"\x00\x00" * 2000, rate) if len(answers) == 1 else (pcm, rate)

    monkeypatch.setattr(tts._TTSThread, "synth", flaky)
    before = tts._TTSThread.silent_results
    a = SpeechRenderer(cache_dir=tmp_path).render("Knees back to the middle.", calm)
    assert len(answers) == 2 and tts._TTSThread.silent_results == before + 1
    assert rms(a) > 0.02 and len(a) > 0.5 * RATE
