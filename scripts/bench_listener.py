#!/usr/bin/env python3
"""Listener CPU cost: CPU seconds per second of audio (rtf) of Listener.feed on a session-like stream.

The stream is what the listener gets during a session: a room-noise floor, the coach's own cues
(real TTS renders, played about half the time and echoed into the mic at a realistic gain, with the
played block as `ref=`), and the user's words every few seconds (real human recordings from
--speech DIR, default ../shared/speech, tests/data/speech holds the same clips: stop, yes, no and
non-command words; plus espeak-ng voices). It is fed block by block (20 ms) as the runner does; CPU time is this process's time around each
feed() call (time.process_time: every thread of it, so the work CTranslate2 does for Whisper on
its own threads counts; the thread time alone, `thread_cpu_s`, missed it: 5.8 of 14 s), and other
processes on the shared machine do not count. Also reports the worst
single feed() wall time (a decode at the end of a segment is the expensive moment).

    scripts/bench_listener.py [--seconds 120] [--engine auto] [--lang en] [--speech DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.audio.format import BLOCK, RATE, read_wav  # noqa: E402

SPEECH = ROOT.parent / "shared" / "speech"
ECHO_GAIN = 0.2
CUES = [
    "Breathe in. Knees to the ceiling.",
    "Breathe out, and gently twist at the waist, letting your legs sink slightly to the right.",
    "Breathe in, and return to center, knees to the ceiling.",
    "Breathe out, and let your legs sink slightly to the left. Pelvis down.",
]


def build_stream(
    seconds: float, seed: int, echo_gain: float = ECHO_GAIN, speech: Path = SPEECH
) -> tuple[np.ndarray, np.ndarray, int]:
    """(mic, ref, number of user words) for `seconds` of session."""
    from coach.speech.tts import SpeechRenderer
    from coach.speech.voice import get_voice

    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    ref = np.zeros(n, np.float32)
    voice = get_voice(None)
    renders = [SpeechRenderer().render(c, voice) for c in CUES]
    t = 0
    while t < n:  # a cue at the start of each 10 s breath, then quiet
        clip = renders[rng.randrange(len(renders))][: n - t]
        ref[t : t + len(clip)] = clip
        t += 10 * RATE // 2
    mic = (nrng.standard_normal(n) * 0.002).astype(np.float32)
    delay = int(0.03 * RATE)
    mic[delay:] += echo_gain * ref[:-delay]
    words = [p for d in ("stop", "yes", "no", "_none") for p in sorted((speech / d).glob("*.wav"))]
    t, count = 2 * RATE, 0
    while t < n - 2 * RATE:
        w = read_wav(words[rng.randrange(len(words))])
        w = w * (0.4 / max(1e-3, float(np.max(np.abs(w)))))
        mic[t : t + len(w)] += w[: n - t]
        count += 1
        t += int(rng.uniform(2.5, 5.0) * RATE)
    return np.clip(mic, -1, 1), ref, count


def set_glance(engine: object, glance: str | None) -> None:
    """Whisper's glance in a cascade (engines/whisper_glance.py): "off" gives every look the full
    30 s window, the design before it."""
    second = getattr(engine, "second", None)
    if glance == "off" and second is not None and hasattr(second, "glance"):
        second.glance = None
    g = getattr(second, "glance", None)
    if g is not None and glance in ("all", "safety"):  # which phrases the short window scores
        g.score_all = glance == "all"


def glance_counts(engine: object) -> dict | None:
    """How Whisper's glance answered a cascade's looks: at once, by the full look, or none."""
    g = getattr(getattr(engine, "second", None), "glance", None)
    if g is None:
        return None
    return {"glances": g.glances, "accepted": g.accepted, "escalated": g.escalated}


def measure(
    engine: str,
    lang: str,
    mic: np.ndarray,
    ref: np.ndarray,
    gate: float | None = None,
    glance: str | None = None,
) -> dict[str, object]:
    from coach.intents import Intent
    from coach.listening.factory import make_listener

    t0 = time.perf_counter()
    listener = make_listener(engine, lang)
    load_s = time.perf_counter() - t0
    if gate is not None and hasattr(listener.engine, "gate"):  # a cascade's (eval_commands)
        listener.engine.gate = None if gate == float("inf") else gate
    set_glance(listener.engine, glance)
    listener.expect(set(Intent))
    cpu = thread_cpu = 0.0
    worst = worst_cpu = 0.0
    detections = 0
    for i in range(0, len(mic) - BLOCK + 1, BLOCK):
        c0, t0, w0 = time.process_time(), time.thread_time(), time.perf_counter()
        detections += len(listener.feed(mic[i : i + BLOCK], ref[i : i + BLOCK]))
        dc = time.process_time() - c0
        thread_cpu += time.thread_time() - t0
        cpu += dc
        worst = max(worst, time.perf_counter() - w0)
        worst_cpu = max(worst_cpu, dc)
    audio_s = len(mic) / RATE
    return {
        "engine": listener.engine_name,
        "lang": lang,
        "audio_s": round(audio_s, 1),
        "cpu_s": round(cpu, 3),
        "thread_cpu_s": round(thread_cpu, 3),
        "rtf": round(cpu / audio_s, 4),
        "worst_feed_ms": round(worst * 1000, 1),
        "worst_feed_cpu_ms": round(worst_cpu * 1000, 1),
        "detections": detections,
        "segments": listener.segments,  # decoded by the engine
        "glimpses": listener.glimpses,  # looks at a word's end under a tail (vad.py)
        "second_calls": getattr(listener.engine, "second_calls", None),  # a cascade's Whisper
        "glance": glance_counts(listener.engine),
        "load_s": round(load_s, 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--lang", default="en")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--echo", type=float, default=ECHO_GAIN, help="coach echo gain in the mic")
    ap.add_argument("--speech", type=Path, default=SPEECH, help=f"recordings (default {SPEECH})")
    ap.add_argument("--gate", type=float, help="a cascade's Whisper gate (eval_commands --gate)")
    ap.add_argument("--glance", choices=("on", "off", "all", "safety"),
                    help="a cascade's Whisper glance (eval_commands)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not any(list((args.speech / d).glob("*.wav")) for d in ("stop", "yes", "no", "_none")):
        ap.error(f"no human recordings in {args.speech}/{{stop,yes,no,_none}}: give the folder "
                 "with --speech DIR (e.g. tests/data/speech)")  # fmt: skip
    mic, ref, words = build_stream(args.seconds, args.seed, args.echo, args.speech)
    out = measure(args.engine, args.lang, mic, ref, args.gate, args.glance)
    out.update(echo_gain=args.echo, user_words=words, target_rtf=0.1)
    print(json.dumps(out, indent=None if args.json else 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
