#!/usr/bin/env python3
"""Synthesize a labeled test set with flite (a speech engine the coach does not use), for
scripts/eval_commands.py: OUT/<intent>/*.wav for every phrase of the language pack, and
OUT/_none/*.wav for the ordinary words and sentences eval_commands.py uses as negatives.

A measure only, never tuned on: it tells whether the recognizer, tuned on people and on
espeak-ng, hears a third engine's voices. flite is a Debian package (`apt-get install flite`),
not part of the coach's install.

    scripts/make_flite_set.py /tmp/flite-set
    scripts/eval_commands.py /tmp/flite-set --json
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from eval_commands import ORDINARY_WORDS, SENTENCES  # noqa: E402

# (voice, duration stretch: > 1 is slower, mean pitch Hz or 0 for the voice's own): flite's five
# built-in English voices (kal at 8 kHz, as a phone line), plain, and three of them changed
VOICES = [
    ("kal", 1.0, 0),
    ("kal16", 1.0, 0),
    ("awb", 1.0, 0),
    ("rms", 1.0, 0),
    ("slt", 1.0, 0),
    ("kal16", 1.4, 0),  # slow
    ("rms", 1.0, 130),  # pitched up
    ("slt", 0.85, 0),  # brisk
]


def make_flite_set(out: Path, lang: str = "en") -> int:
    from coach.listening.langpack import load_langpack

    exe = shutil.which("flite")
    if not exe:
        raise SystemExit("flite is not installed (apt-get install flite)")
    pack = load_langpack(lang)
    items = [(i.value, p) for p, i in pack.phrases().items()]
    items += [("_none", w) for w in ORDINARY_WORDS] + [("_none", s) for s in SENTENCES]
    n = 0
    for voice, stretch, pitch in VOICES:
        for label, text in items:
            d = out / label
            d.mkdir(parents=True, exist_ok=True)
            safe = "".join(c if c.isalnum() else "_" for c in text)[:30]
            f = d / f"{safe}_flite-{voice}_{stretch:g}_{pitch}.wav"
            args = [exe, "-voice", voice, "--setf", f"duration_stretch={stretch}"]
            if pitch:
                args += ["--setf", f"int_f0_target_mean={pitch}"]
            subprocess.run([*args, "-t", text, "-o", str(f)], check=True, capture_output=True)
            n += 1
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path, help="the folder to write (made if missing)")
    ap.add_argument("--lang", default="en")
    args = ap.parse_args()
    n = make_flite_set(args.out, args.lang)
    print(f"wrote {n} clips to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
