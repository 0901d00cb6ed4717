#!/usr/bin/env python3
"""The natural voice against espeak-ng: load and render times, pace, level, and the breath fit.

For each voice (default: natural and calm), every rendering a session of any built-in routine may
play (each cue, its short form, the faster speeds: choreography.renderings) is rendered into a
fresh private cache (cold: the engine really runs), timed phrase by phrase, then read back (warm).
Then every routine is planned at 3..10 breaths/min with those clips, as `coach export` does: a cue
that does not fit its breath phase even at the fastest rendering is counted (`misfits`), and the
tightest room left at the end of a phase is reported. The engine's start (pyttsx3/espeak-ng, or
importing piper and loading the 63 MB model) is timed in a fresh process, and a first session's
wait before its first word (trunk rotation's whole phrasebook, cold engine and cache) in this one.

    .venv/bin/python scripts/bench_voice.py --json
    .venv/bin/python scripts/bench_voice.py --voices natural --length-scale 1.0 --json   # pace survey
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.audio.format import RATE  # noqa: E402
from coach.exercise.choreography import plan, render_pairs, renderings, script  # noqa: E402
from coach.exercise.routine import load_library  # noqa: E402
from coach.exercise.tempo import Tempo  # noqa: E402
from coach.speech.tts import SpeechRenderer  # noqa: E402
from coach.speech.voice import VoiceProfile, get_voice  # noqa: E402

TEMPI = (3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0)
START = {
    "piper": "import time; t=time.perf_counter(); from coach.speech import piper_voice; piper_voice.load(); "
    "print(time.perf_counter()-t)",
    "espeak": "import time; t=time.perf_counter(); from coach.speech.tts import espeak_voice_ids; "
    "espeak_voice_ids(); print(time.perf_counter()-t)",
}


def start_seconds(engine: str, runs: int = 3) -> list[float]:
    """The engine's start in a fresh process (imports and model load), `runs` times."""
    out = []
    for _ in range(runs):
        p = subprocess.run([sys.executable, "-c", START[engine]], capture_output=True, text=True,
                           cwd=ROOT, check=True)  # fmt: skip
        out.append(round(float(p.stdout.split()[-1]), 3))
    return out


def dbfs(x: np.ndarray) -> float:
    return round(
        20 * float(np.log10(max(np.sqrt(np.mean(np.square(x, dtype=np.float64))), 1e-10))), 1
    )


def first_session(voice: VoiceProfile, routine_id: str = "trunk-rotation") -> dict[str, object]:
    """What the first session waits for before its first word: the phrasebook into an empty
    cache, the engine not yet started in this process; then the same from the warm cache."""
    from coach.session import Session

    lib = load_library()
    r = lib[routine_id]
    pairs = Session(r, r.reps_min, Tempo(), lib).phrasebook()
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as d:
        t = time.perf_counter()
        render_pairs(pairs, SpeechRenderer(cache_dir=d), voice)
        cold = time.perf_counter() - t
        t = time.perf_counter()
        render_pairs(pairs, SpeechRenderer(cache_dir=d), voice)
        warm = time.perf_counter() - t
    return {"routine": routine_id, "phrases": len(pairs), "prepare_cold_s": round(cold, 1),
            "prepare_warm_s": round(warm, 2)}  # fmt: skip


def bench(voice: VoiceProfile) -> dict[str, object]:
    session = first_session(voice)  # first: the engine starts inside it
    lib = load_library()
    todo = list(dict.fromkeys(r for rt in lib.values() for r in renderings(rt)))
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as d:
        cold = SpeechRenderer(cache_dir=d)
        clips, secs = {}, []
        t_all = time.perf_counter()
        for text, speed in todo:
            t = time.perf_counter()
            clips[(text, speed)] = cold.render(text, voice, speed)
            secs.append(time.perf_counter() - t)
        cold_s = time.perf_counter() - t_all
        t = time.perf_counter()
        warm = SpeechRenderer(cache_dir=d)
        for text, speed in todo:
            warm.render(text, voice, speed)
        warm_s = time.perf_counter() - t
    audio_s = sum(len(c) for c in clips.values()) / RATE
    at1 = [(t, clips[(t, 1.0)]) for t, s in todo if s == 1.0]
    words = sum(len(t.split()) for t, _ in at1)
    fit = {}
    for bpm in TEMPI:
        tempo, misfits, room, faster = Tempo(bpm), 0, [], 0
        for r in lib.values():
            beats = script(r, r.reps_min)
            cues, phases, _ = plan(beats, tempo, clips)
            for i, c in enumerate(cues):
                nxt = cues[i + 1].onset if i + 1 < len(cues) else phases[-1][1]
                room.append(((nxt - c.onset - len(c.fitted.clip)) / RATE, r.id, c.fitted.text))
                misfits += not c.fitted.fits
                faster += c.fitted.speed > 1.0
        tight = min(room)
        fit[f"{bpm:g}"] = {"misfits": misfits, "cues": len(room), "faster_renderings": faster,
                           "min_room_s": round(tight[0], 2), "tightest": list(tight[1:])}  # fmt: skip
    return {
        "voice": voice.name,
        "engine": voice.engine,
        "speaks_with": voice.speaks_with,
        "renderings": len(todo),
        "render_cold_s": round(cold_s, 1),
        "render_p50_ms": round(1000 * statistics.median(secs), 1),
        "render_max_ms": round(1000 * max(secs), 1),
        "render_rtf": round(cold_s / audio_s, 3),
        "read_warm_s": round(warm_s, 2),
        "audio_s": round(audio_s, 1),
        "words_per_min_at_speed_1": round(words / (sum(len(c) for _, c in at1) / RATE) * 60, 1),
        "level_dbfs_rms": dbfs(np.concatenate([c for _, c in at1])),
        "first_session": session,
        "fit": fit,
        "start_s": start_seconds(voice.engine),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--voices", nargs="+", default=["natural", "calm"])
    ap.add_argument("--length-scale", type=float, default=None, help="override natural's pace")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    out = []
    for name in a.voices:
        v = get_voice(name)
        if a.length_scale is not None and v.engine == "piper":
            v = dataclasses.replace(v, length_scale=a.length_scale)
        out.append(bench(v))
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    report = {"benchmark": "voice", "load": load, "results": out}
    if a.json:
        print(json.dumps(report, indent=2))
    else:
        for r in out:
            worst = r["fit"]["10"]  # type: ignore[index]
            print(f"{r['voice']:<8} {r['renderings']} renderings: cold {r['render_cold_s']} s "
                  f"(rtf {r['render_rtf']}), warm {r['read_warm_s']} s, "
                  f"{r['words_per_min_at_speed_1']} wpm, {r['level_dbfs_rms']} dBFS; "
                  f"at 10/min {worst['misfits']} misfits, min room {worst['min_room_s']} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
