#!/usr/bin/env python3
"""Self-hearing benchmark: the coach's own speech must never be taken for a command.

Every cue (text and short form) of every routine, and the rest the coach says while the exercise
commands are heard (spoken_texts), in every voice is rendered (coach.speech.tts, cached),
played by the real Player through the file back end's room echo (FileAudio: a delayed, scaled copy
of the speaker in the mic, plus a -60 dB noise floor) into the listener with the reference signal,
looping until --hours of coach speech have played. false_commands_per_hour is the number of
detections per hour of that; hushes_per_hour the number of times the listener reported the user's
voice beginning while the coach spoke (each would have hushed it: session.voice_began);
voice_onsets_in_gaps the ones between its lines (each would have held the next line). The same
with the room louder (--rooms: a noise floor at -50 and -40 dBFS, and "breath": the floor at -60
plus breath-like noise, band-limited, swelling with a 6 s breath to -40 dBFS; "rustle": the floor
at -60 plus bursts of broadband noise, 50-400 ms, up to -30 dBFS: clothes and a mat, which must not
pass for the "s" of a word). Then "stop"/"pain"
spoken by espeak-ng voices and real people over the coach's speech at equal level (user level ==
echo level): recall, and how soon after the word's start the voice was reported (hush latency).

    scripts/eval_self_hearing.py --json            # 1 hour of coach speech per room (~2 min CPU)
    scripts/eval_self_hearing.py --hours 0.1 --rooms -60 --json
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.audio.format import BLOCK, RATE, read_wav  # noqa: E402

SPEECH = ROOT.parent / "shared" / "speech"
ECHO_GAIN = 0.5  # the coach's voice reaches the mic at half its level (a loud room)
ECHO_DELAY_S = 0.05
USER_VOICES = [
    ("en-us", 160, 50),
    ("en-gb-x-rp", 170, 45),
    ("en-us+f2", 150, 65),
    ("en-gb", 140, 40),
    ("en-us+m3", 135, 35),
    ("en-gb-scotland", 150, 55),
]


def spoken_texts() -> list[str]:
    """Every cue (text and short form) of every routine, and what else the coach says while the
    exercise commands are heard: the voice-comfort answers, the programs' sentences between
    exercises, the acknowledgements (coach/session/comfort.py; README "Voice comfort")."""
    from coach.exercise.program import PROMPTS, load_programs
    from coach.exercise.routine import load_library
    from coach.session import comfort, safety
    from coach.session.program_flow import program_texts

    lib = load_library()
    texts = {t for r in lib.values() for c in r.all_cues() for t in (c.text, c.short) if t}
    texts |= set(comfort.texts(lib.values()))
    for prog in load_programs(lib).values():
        texts |= set(comfort.program_texts(prog)) | set(program_texts(prog, lib))
    texts |= {safety.SLOWER_OK, safety.FASTER_OK, safety.SLOWER_LIMIT, safety.FASTER_LIMIT,
              safety.RESUMED}  # fmt: skip
    return sorted(texts - set(PROMPTS))  # (a prompt says the word it asks for, on purpose)


def cue_clips(voices: list[str] | None, level_db: float = 0.0) -> list[tuple[str, str, np.ndarray]]:
    """(voice, text, pcm) for everything spoken_texts() lists, in every voice, at the output
    level `level_db` (the player's: its soft limiter above 0 dB)."""
    from coach.speech.player import soft_limit

    texts = spoken_texts()
    out = []
    try:
        from coach.speech.tts import SpeechRenderer
        from coach.speech.voice import load_voices

        profiles = load_voices()
        renderer = SpeechRenderer()
        for name, prof in sorted(profiles.items()):
            if voices and name not in voices:
                continue
            for t in texts:
                pcm = renderer.render(t, prof) * np.float32(10 ** (level_db / 20))
                out.append((name, t, soft_limit(pcm) if level_db > 0 else pcm))
    except ImportError:  # the voice area not there yet: espeak-ng directly
        for v in ("en-us", "en-gb"):
            for t in texts:
                out.append((v, t, _espeak(t, v, 150, 50)))
    return out


def _espeak(text: str, voice: str, rate: int, pitch: int) -> np.ndarray:
    exe = shutil.which("espeak-ng") or "espeak-ng"
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "x.wav"
        subprocess.run(
            [exe, "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", str(f), text],
            check=True,
            capture_output=True,
        )
        return read_wav(f)


def breath_noise(n: int, rng: np.random.Generator, peak_db: float = -40.0) -> np.ndarray:
    """Breathing near the microphone: noise low-passed to ~2 kHz, its level swelling with each
    inhale (2.4 s) and exhale (3.6 s) to `peak_db` (RMS), quiet at the turns."""
    from scipy.signal import butter, sosfilt

    x = sosfilt(butter(4, [200, 2000], "bandpass", fs=RATE, output="sos"), rng.standard_normal(n))
    t = np.arange(n) / RATE % 6.0
    env = np.where(t < 2.4, np.sin(np.pi * t / 2.4), np.sin(np.pi * (t - 2.4) / 3.6)) ** 2
    x = x / (np.sqrt(np.mean(x**2)) + 1e-12) * 10 ** (peak_db / 20) * env
    return x.astype(np.float32)


def rustle_noise(n: int, rng: np.random.Generator, peak_db: float = -30.0) -> np.ndarray:
    """Clothes and a mat rustling near the microphone: bursts of broadband (white) noise, 50-400
    ms each with soft edges, every 0.5-3 s, each at -45..`peak_db` dBFS RMS."""
    x = np.zeros(n, np.float32)
    i = int(rng.uniform(0.5, 3.0) * RATE)
    while i < n:
        m = min(int(rng.uniform(0.05, 0.4) * RATE), n - i)
        burst = rng.standard_normal(m) * np.hanning(m) * 10 ** (rng.uniform(-45, peak_db) / 20)
        x[i : i + m] += burst.astype(np.float32)
        i += m + int(rng.uniform(0.5, 3.0) * RATE)
    return x


def run_session(
    listener, speaker: np.ndarray, mic_user: np.ndarray | None, texts=None, floor_db=-60.0
):
    """Play `speaker` through FileAudio's echo, user audio added to the mic; return detections
    and the listener's voice activity: (time s, began) for each onset and end it reported."""
    from coach.audio.files import FileAudio

    io = FileAudio(
        None, None, echo_gain=ECHO_GAIN, echo_delay_s=ECHO_DELAY_S, noise_floor_db=floor_db
    )
    io.open()
    n = len(speaker) // BLOCK * BLOCK
    dets, voice = [], []
    for i in range(0, n, BLOCK):
        out = speaker[i : i + BLOCK]
        mic = io.exchange(out)
        if mic_user is not None and i < len(mic_user):
            u = mic_user[i : i + BLOCK]
            mic = mic.copy()
            mic[: len(u)] += u
        if texts is not None and i in texts:
            listener.speaking(texts[i])
        dets += listener.feed(mic, ref=out)
        # onsets and the ends with their verdict in (not "words over, still decoding")
        voice += [((i + BLOCK) / RATE, v.began) for v in listener.heard_voice() if v.verdict]
    io.close()
    return dets, voice


def self_hearing(listener, clips, hours: float, room: str = "-60") -> dict:
    """Concatenate cues with 0.4-1.5 s gaps, loop to `hours`, count detections and the voice
    onsets reported while the coach spoke (or within a second of it: its echo tail)."""
    rng = np.random.default_rng(1)
    parts, texts, pos = [], {}, 0
    spans = []
    target = int(hours * 3600 * RATE)
    k = 0
    while pos < target:
        _voice, text, pcm = clips[k % len(clips)]
        k += 1
        gap = np.zeros(int(rng.uniform(0.4, 1.5) * RATE) // BLOCK * BLOCK, np.float32)
        pcm = np.pad(pcm, (0, -len(pcm) % BLOCK))
        texts[pos] = text
        spans.append((pos / RATE, (pos + len(pcm)) / RATE))
        parts += [pcm, gap]
        pos += len(pcm) + len(gap)
    speaker = np.concatenate(parts)
    floor_db, user = -60.0, None
    if room == "breath":
        user = breath_noise(len(speaker), np.random.default_rng(5))
    elif room == "rustle":
        user = rustle_noise(len(speaker), np.random.default_rng(6))
    else:
        floor_db = float(room)
    listener.reset()
    t0 = time.process_time()
    dets, voice = run_session(listener, speaker, user, texts, floor_db)
    onsets = [t for t, began in voice if began]
    cpu = time.process_time() - t0
    secs = len(speaker) / RATE
    starts = np.array([a for a, _ in spans])
    ends = np.array([b for _, b in spans])
    hushes = [t for t in onsets if np.any((starts <= t) & (t <= ends + 1.0))]
    return {
        "room": room,
        "hours": round(secs / 3600, 3),
        "false_commands": len(dets),
        "false_commands_per_hour": round(len(dets) / (secs / 3600), 2),
        "examples": [f"{d.start:.1f}s {d.phrase}" for d in dets[:10]],
        "hushes": len(hushes),
        "hushes_per_hour": round(len(hushes) / (secs / 3600), 2),
        "hush_examples": [f"{t:.1f}s" for t in hushes[:10]],
        "voice_onsets_in_gaps": len(onsets) - len(hushes),  # each a hold of the next line
        "rtf": round(cpu / secs, 4),
    }


def over_the_coach(pcm: np.ndarray, u: np.ndarray, lead: int, tail_s: float):
    """A cue `pcm` (then `tail_s` of silence) for the speaker, and the user's words `u` for the
    mic `lead` samples in, scaled to the level of the cue's echo. (speaker, user, scaled words)"""
    tail = round(tail_s * RATE)
    speaker = np.concatenate((pcm, np.zeros(tail, np.float32)))
    speaker = np.pad(speaker, (0, max(0, lead + len(u) + tail - len(speaker))))
    echo_rms = float(np.sqrt(np.mean(np.square(ECHO_GAIN * pcm[np.abs(pcm) > 0.01]))))
    u_rms = float(np.sqrt(np.mean(np.square(u[np.abs(u) > 0.01 * np.abs(u).max()]))))
    user = np.zeros(len(speaker), np.float32)
    seg = u * (echo_rms / max(u_rms, 1e-9))
    user[lead : lead + len(seg)] = seg[: len(user) - lead]
    return speaker, user, seg


def _hush_over(voice: list[tuple[float, bool]], t_clip: float, t_word: float) -> float | None:
    """When the hush over the word at `t_word` began: the onset after the user's clip began
    (`t_clip`; not the coach's own echo) whose hush still held at the word's start, else the first
    onset at or just before the word; None if neither. The clip's loudest part decides its word
    start, so a quiet "s" or the clip's own noise floor (raised with the clip to the echo's level)
    may begin the voice before it: the coach is silent when the word begins, which is a hush."""
    began_at = None
    for t, began in voice:
        if t > t_word - 0.1:
            break
        if t >= t_clip - 0.1:
            began_at = t if began else None
    if began_at is not None:
        return began_at
    return next((t for t, began in voice if began and t >= t_word - 0.1), None)


def over_speech(listener, clips, speech: Path = SPEECH) -> dict:
    """stop/pain at equal level to the echo, in the middle of a cue (espeak-ng voices and the
    human "stop" clips of `speech`)."""
    users: list[tuple[str, np.ndarray]] = []
    for v, r, p in USER_VOICES:
        for w in ("stop", "pain"):
            users.append((f"{w}/{v}", _espeak(w, v, r, p)))
    users += [(f"stop/{f.name}", read_wav(f)) for f in sorted((speech / "stop").glob("*.wav"))]
    rng = np.random.default_rng(2)
    long_clips = [c for c in clips if len(c[2]) > 2.5 * RATE] or clips
    heard = heard_alone = early = 0
    missed, missed_alone = [], []
    hush_ms: list[float] = []
    unhushed: list[str] = []
    for j, (name, u) in enumerate(users):
        _v, text, pcm = long_clips[(j * 7) % len(long_clips)]
        lead = int(rng.uniform(0.8, 1.5) * RATE)
        speaker, user, seg = over_the_coach(pcm, u, lead, 1.0)
        listener.reset()
        dets, voice = run_session(listener, speaker, user, {0: text})
        t_word = (lead + int(np.argmax(np.abs(seg) > 0.1 * np.abs(seg).max()))) / RATE
        hushed_at = _hush_over(voice, lead / RATE, t_word)
        if hushed_at is None:
            unhushed.append(name)
        else:
            hush_ms.append(1000 * (hushed_at - t_word))
            early += hushed_at < t_word - 0.1
        want = name.split("/")[0]
        if any(d.intent.value == want for d in dets):
            heard += 1
        else:
            missed.append(name)
        # the same words at the same place with the coach silent: what overlap costs
        listener.reset()
        alone, _ = run_session(listener, np.zeros_like(speaker), user, None)
        if any(d.intent.value == want for d in alone):
            heard_alone += 1
        else:
            missed_alone.append(name)
    n = len(users)
    ms = np.array(hush_ms) if hush_ms else np.zeros(1)
    return {
        "n": n,
        "hushed": len(hush_ms),
        "not_hushed": unhushed,
        "hushed_before_the_word": early,  # by the clip's own sound before it (a breath, its floor)
        "hush_ms_after_word_start": {
            "p50": round(float(np.percentile(ms, 50))),
            "p95": round(float(np.percentile(ms, 95))),
            "max": round(float(ms.max())),
            "min": round(float(ms.min())),
        },
        "recall": round(heard / n, 4),
        "missed": missed,
        "recall_alone": round(heard_alone / n, 4),
        "missed_alone": missed_alone,
    }


def ordinary_over_speech(listener, clips, speech: Path = SPEECH, n: int = 44) -> dict:
    """Ordinary words (`speech`/_none: not commands) said over the coach at equal level: how many
    hushed it, and how long each hush lasted — from the voice onset to its verdict (the words'
    end, once decoded) plus session.HUSH_GRACE_S — against the 1.5 s in which it must carry on."""
    from coach.session.hush import HUSH_GRACE_S

    words = sorted((speech / "_none").glob("*.wav"))
    words = words[:: max(1, len(words) // n)][:n]
    rng = np.random.default_rng(4)
    long_clips = [c for c in clips if len(c[2]) > 2.5 * RATE] or clips
    held, unhushed, commands = [], [], []
    for j, f in enumerate(words):
        _v, text, pcm = long_clips[(j * 5) % len(long_clips)]
        lead = int(rng.uniform(0.8, 1.5) * RATE)
        speaker, user, _ = over_the_coach(pcm, read_wav(f), lead, 2.0)
        listener.reset()
        dets, voice = run_session(listener, speaker, user, {0: text})
        commands += [f"{f.name}: {d.phrase}" for d in dets]
        begins = [t for t, b in voice if b and t >= lead / RATE - 0.1]
        if not begins:
            unhushed.append(f.name)
            continue
        ends = [t for t, b in voice if not b and t > begins[0]]
        held.append((ends[0] if ends else len(speaker) / RATE) - begins[0] + HUSH_GRACE_S)
    h = np.array(held) if held else np.zeros(1)
    return {
        "n": len(words),
        "hushed": len(held),
        "not_hushed": len(unhushed),
        "carried_on_within_1_5_s": int(np.sum(h <= 1.5)) if held else 0,
        "hush_s": {q: round(float(np.percentile(h, p)), 2) for q, p in (("p50", 50), ("p95", 95))}
        | {"max": round(float(h.max()), 2)},
        "false_commands": commands,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--voices", nargs="*", help="voice profile names (default all)")
    ap.add_argument("--speech", type=Path, default=SPEECH, help=f"recordings (default {SPEECH})")
    ap.add_argument(
        "--rooms", nargs="*", default=["-60", "-50", "-40", "breath"],
        help="noise floors in dBFS, 'breath' and/or 'rustle' (default: -60 -50 -40 breath)",
    )  # fmt: skip
    ap.add_argument(
        "--parts", nargs="*", default=["self", "over", "ordinary"],
        help="self (the coach's own voice), over (stop/pain over it), ordinary (words over it)",
    )  # fmt: skip
    ap.add_argument(
        "--level", type=float, default=0.0,
        help="the coach's output level in dB (louder/quieter: -16..+8; default 0)",
    )  # fmt: skip
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not list((args.speech / "stop").glob("*.wav")):
        ap.error(f"no human stop recordings in {args.speech}/stop: give the folder with "
                 "--speech DIR (e.g. tests/data/speech)")  # fmt: skip
    from coach.listening.factory import make_listener

    listener = make_listener(args.engine, "en")
    clips = cue_clips(args.voices, args.level)
    res = {
        "engine": listener.engine_name,
        "cues": len(clips),
        "level_db": args.level,
        "echo_gain": ECHO_GAIN,
        "echo_delay_s": ECHO_DELAY_S,
    }
    if "self" in args.parts:
        res["self_hearing"] = [self_hearing(listener, clips, args.hours, r) for r in args.rooms]
    if "over" in args.parts:
        res["stop_pain_over_speech"] = over_speech(listener, clips, args.speech)
    if "ordinary" in args.parts:
        res["ordinary_words_over_speech"] = ordinary_over_speech(listener, clips, args.speech)
    print(json.dumps(res) if args.json else json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
