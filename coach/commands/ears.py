"""`coach hear FILE.wav`: run the listener over a recording and print what it heard.

Also registers `coach model ...` from coach/commands/models.py (the models area owns it).
"""

from __future__ import annotations

import argparse
import json

from coach.listening.engines import ENGINES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hear", help="print the commands heard in a WAV file")
    p.add_argument("file", metavar="FILE.wav")
    p.add_argument("--engine", default="auto", choices=ENGINES)
    p.add_argument("--lang", default="en", help="language pack code (default en)")
    p.add_argument("--model", help="vosk model folder (implies vosk for --engine auto)")
    p.add_argument("--json", action="store_true", help="one JSON object per detection")
    p.set_defaults(func=run_hear)
    from coach.commands.models import register_model

    register_model(sub)


def run_hear(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    import numpy as np

    from coach.audio.format import BLOCK, RATE, read_wav
    from coach.audio.levels import room_noise
    from coach.errors import CoachError
    from coach.listening.factory import make_listener

    path = Path(args.file)
    audio = read_wav(path)  # clear errors: missing, folder, not a WAV; resamples, mixes stereo
    if len(audio) == 0:
        raise CoachError(f"{path}: the WAV file holds no audio")
    listener = make_listener(args.engine, args.lang, args.model, quiet=args.json)
    # a little quiet room noise before and after, so a command right at either edge is heard
    lead, tail = room_noise(RATE // 4, -60.0, seed=0), room_noise(RATE // 2, -60.0, seed=1)
    x = np.concatenate((lead, audio, tail))
    offset = len(lead) / RATE
    x = np.pad(x, (0, -len(x) % BLOCK))
    dets = []
    for i in range(0, len(x), BLOCK):
        dets += listener.feed(x[i : i + BLOCK])
    dets += listener.flush()
    for d in dets:
        if args.json:
            print(
                json.dumps(
                    {
                        "intent": d.intent.value,
                        "phrase": d.phrase,
                        "start": round(max(0.0, d.start - offset), 3),
                        "end": round(min(len(audio) / RATE, max(0.0, d.end - offset)), 3),
                        "confidence": d.confidence,
                    }
                )
            )
        else:
            print(
                f"{d.start:7.2f}-{d.end:7.2f}s  {d.intent.value:7s} {d.phrase!r}  ({d.confidence:.2f})"
            )
    if not dets and not args.json:
        print("(no command heard)", file=sys.stderr)
    return 0
