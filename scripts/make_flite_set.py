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
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from voice_sets import make_flite_set  # noqa: E402


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
