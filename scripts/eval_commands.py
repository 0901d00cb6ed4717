#!/usr/bin/env python3
"""Command recognition benchmark over a labeled folder: DIR/<intent>/*.wav, DIR/_none/*.wav.

Each clip is fed block by block through the real listener (VAD, engine, rejection), framed by
0.5 s of a quiet noise floor before and after (like a room, not digital zeros). A clip in
DIR/<intent> counts as recalled when the listener's first detection is that intent; any detection
on a _none clip is a false command. rtf = CPU seconds of the listener / seconds of audio fed, on
one thread.

    scripts/eval_commands.py ../shared/speech --json
    scripts/eval_commands.py --make-espeak-set /tmp/espeak-heldout --voices heldout
    scripts/make_flite_set.py /tmp/flite-set     # flite's voices (scripts/voice_sets.py)
    scripts/eval_commands.py /tmp/espeak-heldout --json
    scripts/eval_commands.py ../shared/speech-v2 --curve     # recall vs false commands
    scripts/eval_commands.py ../shared/speech-v2 --margin inf --safety-margin inf   # no near words
    scripts/eval_commands.py ../shared/speech-v2 --condition phone   # hard microphones (below)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voice_sets import HOMOPHONES, NEAR_WORDS, VOICE_SETS, make_espeak_set  # noqa: E402

from coach.audio.format import BLOCK, RATE, read_wav  # noqa: E402


def _noise(n: int, rng: np.random.Generator, db: float = -60.0) -> np.ndarray:
    return (rng.standard_normal(n) * 10 ** (db / 20)).astype(np.float32)


def _speech_rms(x: np.ndarray) -> float:
    loud = x[np.abs(x) > 0.05 * np.abs(x).max()]
    return float(np.sqrt(np.mean(np.square(loud)))) if loud.size else 1e-6


def _telephone(x: np.ndarray) -> np.ndarray:
    from scipy.signal import butter, resample_poly, sosfilt

    band = sosfilt(butter(4, [300, 3400], btype="band", fs=RATE, output="sos"), x)
    return resample_poly(resample_poly(band, 1, 2), 2, 1).astype(np.float32)  # 8 kHz and back


# Hard input, made from the clips themselves (issue #15 item 2; tests/test_phoneme_engine.py has
# the same): name -> (change to the clip, seconds of room before it, room level dBFS)
CONDITIONS = {
    "clean": (lambda x: x, 0.5, -60.0),
    # loud close-talk: 12 dB into clipping
    "loud": (lambda x: np.clip(x * (4.0 / max(1e-6, np.abs(x).max())), -1, 1), 0.5, -60.0),
    "quiet": (lambda x: x * (10 ** (-40 / 20) / _speech_rms(x)), 0.5, -60.0),  # speech -40 dBFS
    # the stream starts at the word's first sound: no room before it
    "nolead": (lambda x: x[int(np.argmax(np.abs(x) > 10 ** (-45 / 20))) :], 0.0, -60.0),
    "phone": (_telephone, 0.5, -60.0),  # 300-3400 Hz, through 8 kHz
    # white noise at -45 dBFS under the whole stream, 2.5 s of it first (the VAD learns the room)
    "room": (lambda x: x, 2.5, -45.0),
}


def _speech_end(x: np.ndarray) -> int:
    """Sample just after the last 10 ms frame within 30 dB of the clip's loudest frame."""
    hop = RATE // 100
    n = len(x) // hop
    e = 10 * np.log10(np.mean(np.square(x[: n * hop].reshape(n, hop)), axis=1) + 1e-12)
    loud = np.nonzero(e > e.max() - 30.0)[0]
    return int((loud[-1] + 1) * hop) if len(loud) else len(x)


def _rate(counts: Counter, kind: str) -> float | None:
    n = counts["n" + kind]
    return round(counts["false" + kind] / n, 4) if n else None


def fragment(x: np.ndarray, over_db: float = 6.0, short_s: float = 0.15) -> bool:
    """A clip whose word the file's edge cuts to a fragment (a defect some Speech Commands clips
    have: the recording starts or ends mid-word, e.g. 80 ms of "st" and then digital zeros). The
    word is the 20 ms blocks over the clip's median level + `over_db` (from its first to its last
    non-zero block); a fragment is a word shorter than `short_s` that touches either end. Its
    recall is reported apart as well, never instead: nobody can hear a stop in 80 ms of it."""
    n = len(x) // BLOCK * BLOCK
    e = np.sqrt(np.mean(np.square(x[:n].reshape(-1, BLOCK)), axis=1))
    nz = np.nonzero(e > 0)[0]
    if not len(nz):
        return False
    db = 20 * np.log10(e[nz[0] : nz[-1] + 1] + 1e-12)
    word = np.nonzero(db > np.median(db) + over_db)[0]
    if not len(word):
        return False
    short = (word[-1] - word[0] + 1) * BLOCK / RATE < short_s
    return bool(short and (word[0] == 0 or word[-1] == len(db) - 1))


def set_margins(engine: object, margin: float | None, safety: float | None) -> None:
    """The phoneme engine's competitor margins (alone or the fast engine of a cascade); inf for
    both = the near words never veto (the design before them)."""
    from coach.listening.engines.phoneme_engine import PhonemeEngine

    eng = getattr(engine, "fast", engine)
    if not isinstance(eng, PhonemeEngine):
        return
    if margin is not None:
        eng.margin = margin
    if safety is not None:
        eng.margins = {p: safety for p in eng.margins}


def set_rival_margin(engine: object, margin: float | None) -> None:
    """Whisper's forced scoring in a cascade: how much better than every near word of stop and
    pain ("top", "pay" ...) their score must be (inf, the default: the near words are not
    scored)."""
    second = getattr(engine, "second", None)
    if margin is None or second is None or not hasattr(second, "rivals"):
        return
    second.rival_margin = None if margin == float("inf") else margin


def evaluate(
    folder: Path,
    engine: str,
    lang: str,
    model: str | None,
    limit: int | None = None,
    speakers: str | None = None,
    others: str | None = None,
    margins: tuple[float | None, float | None] = (None, None),
    condition: str = "clean",
    rival_margin: float | None = None,
    gate: float | None = None,
    doubt: str | None = None,
    glance: str | None = None,
    band_fill: str | None = None,
    declip: bool = True,
    narrow_veto: bool = True,
) -> dict:
    from bench_listener import glance_counts, set_glance

    from coach.listening.factory import make_listener

    listener = make_listener(engine, lang, model, others=others)
    set_margins(listener.engine, *margins)
    set_rival_margin(listener.engine, rival_margin)
    set_glance(listener.engine, glance)
    listener.declip = declip  # clipped segments re-drawn first (listening/declip.py)
    if hasattr(listener.engine, "narrow_veto"):  # a cascade (engines/cascade_engine.py)
        listener.engine.narrow_veto = narrow_veto
    if band_fill is not None:  # the phoneme engine's second look at a band-limited segment
        from coach.listening.engines.phoneme_engine import BandFill, PhonemeEngine

        eng = getattr(listener.engine, "fast", listener.engine)
        if isinstance(eng, PhonemeEngine):
            eng.band_fill = BandFill(band_fill)
    if gate is not None and hasattr(listener.engine, "gate"):
        listener.engine.gate = None if gate == float("inf") else gate
    if doubt is not None and hasattr(listener.engine, "doubt"):
        listener.engine.doubt = doubt
    rng = np.random.default_rng(0)
    labels = sorted(p.name for p in folder.iterdir() if p.is_dir())
    intents: dict[str, dict] = {}
    none: Counter[str] = Counter()
    confusions: dict[str, Counter] = defaultdict(Counter)
    misses: dict[str, list[str]] = defaultdict(list)
    cpu = 0.0
    audio_s = 0.0
    lat: list[float] = []
    lat_by: dict[str, list[float]] = defaultdict(list)  # the same, by the intent reported
    # (latency, clip, intent, audio waited, decode CPU): the slowest are listed
    lat_of: list[tuple[float, str, str, float, float]] = []
    for label in labels:
        files = sorted((folder / label).glob("*.wav"))
        if speakers:
            files = [f for f in files if f.name.split("_")[1][:1] in speakers]
        files = files[:limit]
        hits = whole_hits = 0
        cut: list[str] = []  # fragments (`fragment`): the word cut off by the file's edge
        for f in files:
            change, lead_s, room_db = CONDITIONS[condition]
            raw = read_wav(f)
            if label != "_none" and fragment(raw):
                cut.append(f.name)
            x = np.asarray(change(raw), dtype=np.float32)
            lead = round(lead_s * RATE)
            speech_end = lead + _speech_end(x)
            if room_db > -60.0:  # a room under the speech too
                x = x + _noise(len(x), rng, room_db)
            x = np.concatenate((_noise(lead, rng, room_db), x, _noise(RATE // 2, rng, room_db)))
            x = x[: len(x) // BLOCK * BLOCK]
            listener.reset()
            t0 = time.process_time()
            dets = []
            for i in range(0, len(x), BLOCK):
                t1 = time.process_time()
                got_now = listener.feed(x[i : i + BLOCK])
                if got_now:
                    # audio after the phrase's end until it was reported, plus the decode CPU
                    waited, spent = (i + BLOCK - speech_end) / RATE, time.process_time() - t1
                    lat.append(waited + spent)
                    lat_by[got_now[0].intent.value].append(lat[-1])
                    lat_of.append((lat[-1], f"{label}/{f.name}", got_now[0].intent.value, waited, spent))
                dets += got_now
            dets += listener.flush()
            cpu += time.process_time() - t0
            audio_s += len(x) / RATE
            got = dets[0].intent.value if dets else "-"
            if label == "_none":
                word = f.name.split("_")[0].lower()
                kinds = ["", "_homophones" if word in HOMOPHONES else "_sounds_apart"]
                kinds.append("_near" if word in NEAR_WORDS else "_other")
                for k in kinds:
                    none["n" + k] += 1
                    none["false" + k] += bool(dets)
                if dets:
                    confusions["_none"][got] += 1
                    misses["_none"].append(f"{f.name}->{dets[0].phrase}")
            else:
                hits += got == label
                whole_hits += got == label and f.name not in cut
                if got != label:
                    confusions[label][got] += 1
                    misses[label].append(f"{f.name}->{got}")
        if label != "_none" and files:
            intents[label] = {"n": len(files), "recall": round(hits / len(files), 4)}
            if cut:  # the same without the fragments (reported beside, never instead)
                whole = len(files) - len(cut)
                intents[label]["fragments"] = cut
                intents[label]["recall_whole_words"] = (
                    round(whole_hits / whole, 4) if whole else None
                )
    return {
        "folder": str(folder),
        "engine": listener.engine_name,
        "lang": lang,
        "condition": condition,
        "intents": intents,
        "none": {
            "n": none["n"],
            "false_command_rate": round(none["false"] / none["n"], 4) if none["n"] else None,
            # the same without the homophones, and on the near words / all the others apart
            "false_command_rate_without_homophones": _rate(none, "_sounds_apart"),
            "false_command_rate_near_words": _rate(none, "_near"),
            "false_command_rate_other_words": _rate(none, "_other"),
            "homophones": {"n": none["n_homophones"], "false": none["false_homophones"]},
        },
        "confusions": {k: dict(v) for k, v in confusions.items()},
        "errors": dict(misses),
        "rtf": round(cpu / audio_s, 4) if audio_s else None,
        "second_calls": getattr(listener.engine, "second_calls", None),  # a cascade's Whisper
        "glimpses": listener.glimpses,  # looks at a word's end under a tail (vad.py)
        "glance": glance_counts(listener.engine),
        "latency_s": {  # end of speech -> detection returned (audio waited + decode CPU)
            "p50": round(float(np.percentile(lat, 50)), 3) if lat else None,
            "p95": round(float(np.percentile(lat, 95)), 3) if lat else None,
        },
        "latency_by_intent_s": {  # stop and pain act at the first pause; the rest at the end
            k: {
                "n": len(v),
                "p50": round(float(np.percentile(v, 50)), 3),
                "p95": round(float(np.percentile(v, 95)), 3),
            }
            for k, v in sorted(lat_by.items())
        },
        "latency_slowest": [  # where the p95 comes from
            {"clip": clip, "intent": intent, "s": round(t, 3), "audio_s": round(a, 3), "cpu_s": round(c, 3)}
            for t, clip, intent, a, c in sorted(lat_of, reverse=True)[:10]
        ],
    }


CURVE = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)  # multiples of each intent's threshold in nats


def curve(
    folder: Path,
    lang: str,
    limit: int | None = None,
    margins: tuple[float | None, float | None] = (None, None),
) -> dict:
    """Recall against false commands for the phoneme engine, its thresholds scaled together.

    Each clip goes through the real listener once with nothing allowed to fire, so every voiced
    segment is decoded; the confidences of every phrase in every segment are kept and the
    decision (the first segment with a phrase over its intent's threshold; in it, the most
    confident) is replayed for each scale. Scale 1 is the pack's operating point."""
    from coach.listening.engines.phoneme_engine import PhonemeEngine
    from coach.listening.langpack import load_langpack
    from coach.listening.listener import Listener

    pack = load_langpack(lang)
    engine = PhonemeEngine(pack)
    set_margins(engine, *margins)
    listener = Listener(engine, pack)
    alpha = {p: -np.log(max(1e-9, f)) for p, f in engine.floors.items()}  # nats per phoneme
    engine.floors = {p: 0.0 for p in engine.floors}
    listener._thresholds = {i: 1.01 for i in listener._thresholds}  # decode every segment
    seen: list[dict[str, float]] = []
    recognize = engine.recognize

    def spy(segment: np.ndarray) -> list:
        hyps = recognize(segment)
        seen.append({h.phrase: -np.log(max(1e-12, h.confidence)) for h in hyps})
        return hyps

    engine.recognize = spy  # type: ignore[method-assign]  # a benchmark's probe, not the product
    rng = np.random.default_rng(0)
    clips: list[tuple[str, list[dict[str, float]]]] = []
    for label in sorted(p.name for p in folder.iterdir() if p.is_dir()):
        for f in sorted((folder / label).glob("*.wav"))[:limit]:
            x = read_wav(f)
            x = np.concatenate((_noise(RATE // 2, rng), x, _noise(RATE // 2, rng)))
            x = x[: len(x) // BLOCK * BLOCK]
            listener.reset()
            seen.clear()
            for i in range(0, len(x), BLOCK):
                listener.feed(x[i : i + BLOCK])
            listener.flush()
            clips.append((label, list(seen)))
    rows = []
    for scale in CURVE:
        hit = n = false = neg = 0
        for label, segs in clips:
            got = "-"
            for costs in segs:
                ok = [(c, p) for p, c in costs.items() if c <= scale * alpha[p]]
                if ok:
                    got = pack.phrases()[min(ok)[1]].value
                    break
            if label == "_none":
                neg += 1
                false += got != "-"
            else:
                n += 1
                hit += got == label
        rows.append(
            {
                "scale": scale,
                "recall": round(hit / n, 4) if n else None,
                "false_command_rate": round(false / neg, 4) if neg else None,
            }
        )
    return {"folder": str(folder), "engine": engine.name, "curve": rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", nargs="?", type=Path)
    from coach.listening.engines import ENGINES

    ap.add_argument("--engine", default="auto", choices=ENGINES)
    ap.add_argument("--lang", default="en")
    ap.add_argument("--model")
    ap.add_argument("--limit", type=int, help="at most this many clips per folder")
    ap.add_argument(
        "--speakers",
        help="only files whose speaker id (Speech Commands: word_SPEAKER_nohash_n) starts with "
        "one of these characters, e.g. 0123 (a held-out split)",
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--make-espeak-set", type=Path, metavar="OUT", help="synthesize a test set")
    ap.add_argument(
        "--others",
        choices=("fast", "second", "both"),
        help="a cascade: who decides the intents other than stop/pain (default: the listener's)",
    )
    ap.add_argument("--voices", default="heldout", choices=sorted(VOICE_SETS))
    ap.add_argument(
        "--curve",
        action="store_true",
        help="the phoneme engine's recall against false commands as its thresholds scale",
    )
    ap.add_argument(
        "--margin",
        type=float,
        help="nats by which a near word of the pack's [competitors] must explain the audio better "
        "to veto a command (phoneme engine; default the engine's; inf: never)",
    )
    ap.add_argument("--safety-margin", type=float, help="the same for stop and pain")
    ap.add_argument(
        "--rival-margin",
        type=float,
        help="nats by which Whisper's forced score of stop/pain must beat their near words "
        "(a cascade; default inf: the near words are not scored)",
    )
    ap.add_argument(
        "--gate",
        type=float,
        help="a cascade asks Whisper only when some phrase cost the phoneme engine at most this "
        "many nats per phoneme (default inf: always)",
    )
    ap.add_argument(
        "--doubt",
        choices=("keep", "veto", "decide"),
        help="a cascade, a stop/pain the phoneme engine heard while a near word explained it "
        "better: keep it, ask Whisper and drop it only if Whisper prefers the near word (veto), "
        "or let Whisper decide (default keep)",
    )
    ap.add_argument(
        "--glance",
        choices=("on", "off", "all", "safety"),
        help="a cascade: Whisper glances at a segment on a short window before its full look "
        "(default on); off: every look is the full one; all / safety: the glance scores every "
        "grammar phrase, or only stop and pain (the others escalate by its short reading)",
    )
    ap.add_argument(
        "--band-fill",
        choices=("off", "safety", "all"),
        help="the phoneme engine reads a band-limited segment it heard nothing in again, its "
        "0-4 kHz band mirrored into 4-8 kHz, and keeps a stop or pain from it (safety) or any "
        "phrase (all); default the engine's",
    )
    ap.add_argument(
        "--narrow-veto",
        choices=("on", "off"),
        default="on",
        help="a cascade puts a stop/pain that a near word explained better to Whisper's veto "
        "when the segment is band-limited (a telephone; default on; off: the design before it)",
    )
    ap.add_argument(
        "--declip",
        choices=("on", "off"),
        default="on",
        help="the listener re-draws a clipped segment's tops before the engine reads it (default "
        "on; off: the design before it)",
    )
    ap.add_argument(
        "--condition",
        default="clean",
        choices=sorted(CONDITIONS),
        help="hard input made from each clip: loud (12 dB into clipping), quiet (speech at "
        "-40 dBFS), nolead (the stream starts at the word), phone (300-3400 Hz, 8 kHz), room "
        "(white noise at -45 dBFS)",
    )
    args = ap.parse_args()
    margins = (args.margin, args.safety_margin)
    if args.make_espeak_set:
        n = make_espeak_set(args.make_espeak_set, args.voices, args.lang)
        print(f"wrote {n} clips to {args.make_espeak_set}", file=sys.stderr)
        if not args.folder:
            return 0
    if not args.folder or not args.folder.is_dir():
        ap.error("give a folder DIR with DIR/<intent>/*.wav")
    if args.curve:
        res = curve(args.folder, args.lang, args.limit, margins)
        if args.json:
            print(json.dumps(res))
        else:
            for r in res["curve"]:
                print(f"x{r['scale']:<5} recall {r['recall']}  false {r['false_command_rate']}")
        return 0
    res = evaluate(
        args.folder,
        args.engine,
        args.lang,
        args.model,
        args.limit,
        args.speakers,
        args.others,
        margins,
        args.condition,
        args.rival_margin,
        args.gate,
        args.doubt,
        args.glance,
        args.band_fill,
        args.declip == "on",
        args.narrow_veto == "on",
    )
    res["speakers"] = args.speakers
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res["intents"].items():
            print(f"{k:8s} n={v['n']:3d} recall={v['recall']:.3f}")
        print(f"_none    n={res['none']['n']:3d} false={res['none']['false_command_rate']}")
        print(f"engine {res['engine']}  rtf {res['rtf']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
