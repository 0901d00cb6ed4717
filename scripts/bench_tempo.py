#!/usr/bin/env python3
"""Do cues land on the breath? Onset error of the audio actually produced vs the planned grid.

Renders a session (trunk rotation, the real voice through the TTS cache) and plays it through
  - the file back end (FileAudio + Player), a simulated ~20-minute session at an awkward tempo
    (7 breaths/min: phases are not whole blocks or samples), and
  - the real sounddevice stream on the PulseAudio virtual devices (DeviceAudio + Player), recorded
    from speaker.monitor by a separate parecord process, aligned on a sync click played through the
    same stream before the first cue (so the stream's constant latency is not counted as error).
Cue onsets are found in the produced audio without looking at the plan (sound after >= 250 ms of
silence), matched to the nearest planned onset (+ the clip's own lead-in), and the errors reported.

    COACH_AUDIO_DIR=/tmp/va-bench scripts/bench_tempo.py --json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.app.export import perform  # noqa: E402
from coach.audio.files import FileAudio  # noqa: E402
from coach.audio.format import BLOCK, RATE, read_wav  # noqa: E402
from coach.errors import CoachError  # noqa: E402
from coach.exercise.choreography import PlannedCue, plan, render_clips, script  # noqa: E402
from coach.exercise.routine import get_routine  # noqa: E402
from coach.exercise.tempo import Tempo  # noqa: E402
from coach.speech.player import Player  # noqa: E402
from coach.speech.tts import SpeechRenderer  # noqa: E402
from coach.speech.voice import get_voice  # noqa: E402

THRESHOLD = 0.01  # -40 dBFS: speech onset
GAP_S = 0.25  # silence before an onset
HOP = 16  # 1 ms resolution


def onsets(x: np.ndarray, threshold: float = THRESHOLD, gap_s: float = GAP_S) -> np.ndarray:
    """Sample positions where sound starts after at least gap_s of silence (1 ms resolution)."""
    n = len(x) // HOP
    env = np.abs(x[: n * HOP]).reshape(n, HOP).max(axis=1)
    loud = np.flatnonzero(env > threshold)
    if not len(loud):
        return np.zeros(0, np.int64)
    gap = round(gap_s * RATE / HOP)
    starts = loud[np.concatenate(([True], np.diff(loud) > gap))]
    out = []
    for f in starts:  # refine to the first loud sample inside the frame
        seg = np.abs(x[f * HOP : f * HOP + HOP])
        out.append(f * HOP + int(np.argmax(seg > threshold)))
    return np.array(out, np.int64)


def lead(clip: np.ndarray) -> int:
    loud = np.flatnonzero(np.abs(clip) > THRESHOLD)
    return int(loud[0]) if len(loud) else 0


def errors(audio: np.ndarray, cues: list[PlannedCue], offset: int = 0) -> dict[str, object]:
    expected = np.array([c.onset + lead(c.fitted.clip) + offset for c in cues], np.int64)
    found = onsets(audio)
    err = []
    missing = 0
    for e in expected:
        if not len(found):
            missing += 1
            continue
        j = int(np.argmin(np.abs(found - e)))
        d = int(found[j] - e)
        if abs(d) > 0.5 * RATE:
            missing += 1
        else:
            err.append(d / RATE * 1000)
    a = np.abs(np.array(err)) if err else np.array([np.nan])
    return {
        "cues": len(cues),
        "matched": len(err),
        "missing": missing,
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p95_ms": round(float(np.percentile(a, 95)), 2),
        "max_ms": round(float(a.max()), 2),
        "mean_signed_ms": round(float(np.mean(err)), 2) if err else None,
        "last_cue_error_ms": round(err[-1], 2) if err else None,
        "first_cue_error_ms": round(err[0], 2) if err else None,
    }


def best_offset(found: np.ndarray, cues: list[PlannedCue]) -> int:
    """The recording offset that puts the most cue onsets within 30 ms of their plan."""
    expected = np.array([c.onset + lead(c.fitted.clip) for c in cues], np.int64)
    cands = (found[:, None] - expected[None, :]).ravel()
    cands = cands[(cands > -0.2 * RATE) & (cands < 3 * RATE)]
    best, best_n = 0, -1
    for c in cands:
        d = np.abs(found[None, :] - (expected[:, None] + c)).min(axis=1)
        n = int(np.sum(d < 0.03 * RATE))
        if n > best_n:
            best, best_n = int(c), n
    return best


def reps_for(routine_id: str, tempo: Tempo, minutes: float) -> int:
    r = get_routine(routine_id)
    fixed = sum(s.breaths for s in (*r.intro, *r.outro)) * tempo.breath_s
    per_rep = len(r.cycle) / 2 * tempo.breath_s
    return max(1, int(np.ceil((minutes * 60 - fixed) / per_rep)))


def bench_file(routine_id: str, tempo: Tempo, minutes: float, clips: dict) -> dict[str, object]:
    r = get_routine(routine_id)
    reps = reps_for(routine_id, tempo, minutes)  # beyond the routine's max on purpose: duration
    beats = script(r, reps)
    cues, _, end = plan(beats, tempo, clips)
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "session.wav"
        t0 = time.perf_counter()
        with FileAudio(None, out) as io:
            starts = perform(io, Player(), cues, end)
            total = io.clock.samples
        wall = time.perf_counter() - t0
        audio = read_wav(out)
    res = errors(audio, cues)
    late = [s - c.onset for s, c in zip(starts, cues, strict=True) if s != c.onset]
    res.update(
        backend="file",
        tempo_bpm=tempo.bpm,
        reps=reps,
        session_s=round(end / RATE, 1),
        wall_s=round(wall, 2),
        speed_x_realtime=round(end / RATE / wall, 1),
        cues_started_off_grid=len(late),
        end_drift_samples=total - -(-end // BLOCK) * BLOCK,
        drift_ms=round(
            float(res["last_cue_error_ms"] or 0) - float(res["first_cue_error_ms"] or 0), 2
        ),
    )
    return res


def bench_device(
    routine_id: str,
    tempo: Tempo,
    seconds: float,
    clips: dict,
    latency: str | float | None = None,
    realign: bool = False,
) -> dict[str, object]:
    from coach.audio.device import DeviceAudio
    from tests.audio_rig import Recorder, start_virtual_audio

    start_virtual_audio()
    r = get_routine(routine_id)
    beats = script(r, r.reps_min)
    sync_at = 5 * BLOCK + 123  # a click before anything else: aligns recording and stream
    lead_in = round(1.0 * RATE)
    cues, _, end = plan(beats, tempo, clips, start=lead_in)
    cues = [c for c in cues if c.onset < seconds * RATE]
    end = min(end, round(seconds * RATE))
    click = np.zeros(BLOCK * 2, np.float32)
    click[:8] = np.hanning(8) * 0.8
    extra = np.zeros(end, np.float32)
    extra[sync_at : sync_at + len(click)] = click
    with Recorder() as rec:
        io = DeviceAudio(realign=realign)
        if latency is not None:
            io = DeviceAudio(latency=latency, realign=realign)
        with io:
            perform(io, Player(), cues, end, extra)
            status = dict(io.status)
        time.sleep(0.3)
    audio = rec.audio
    found = onsets(audio)
    if not len(found):
        raise SystemExit("bench_tempo: nothing was recorded from speaker.monitor")
    offset = int(found[0]) - sync_at  # the sync click is the first sound
    aligned_on = "click"
    res = errors(audio, cues, offset)
    if res["matched"] < len(cues) // 2:  # the click itself fell into a stall: align on the cues
        offset, aligned_on = best_offset(found, cues), "best-match"
        res = errors(audio, cues, offset)
    res.update(
        backend="sounddevice" + (" realign" if realign else ""),
        aligned_on=aligned_on,
        latency=io.latency,
        tempo_bpm=tempo.bpm,
        session_s=round(end / RATE, 1),
        stream_status=status,
        drift_ms=round(
            float(res["last_cue_error_ms"] or 0) - float(res["first_cue_error_ms"] or 0), 2
        ),
    )
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--routine", default="trunk-rotation")
    ap.add_argument("--voice", default=None)
    ap.add_argument("--tempo", type=float, default=7.0, help="file back end tempo")
    ap.add_argument("--minutes", type=float, default=20.0, help="file back end session length")
    ap.add_argument("--device-tempo", type=float, default=10.0)
    ap.add_argument("--device-seconds", type=float, default=60.0)
    ap.add_argument("--latency", default=None, help="PortAudio latency (s or low/high)")
    ap.add_argument("--no-device", action="store_true")
    a = ap.parse_args()
    voice = get_voice(a.voice)
    clips = render_clips(get_routine(a.routine), SpeechRenderer(), voice)
    results = [bench_file(a.routine, Tempo(a.tempo), a.minutes, clips)]
    if not a.no_device:
        lat = a.latency
        if lat is not None and lat[:1].isdigit():
            lat = float(lat)
        for realign in (False, True):
            try:
                results.append(
                    bench_device(
                        a.routine, Tempo(a.device_tempo), a.device_seconds, clips, lat, realign
                    )
                )
            except CoachError as e:  # e.g. the stream stalled for 2 s on an overloaded machine
                results.append({"backend": "sounddevice", "realign": realign, "error": str(e)})
    report = {"benchmark": "tempo", "routine": a.routine, "voice": voice.name, "results": results}
    if a.json:
        print(json.dumps(report, indent=2))
    else:
        for r in results:
            if "error" in r:
                print(f"{r['backend']:<12} error: {r['error']}")
                continue
            print(
                f"{r['backend']:<12} {r['tempo_bpm']:g} bpm {r['session_s']:>7} s  "
                f"p50 {r['p50_ms']} ms  p95 {r['p95_ms']} ms  max {r['max_ms']} ms  "
                f"drift {r['drift_ms']} ms  missing {r['missing']}/{r['cues']}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
