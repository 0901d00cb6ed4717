"""`coach devices`: list sound devices, or explain how to get some."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help="list microphones and speakers")
    p.add_argument("--json", action="store_true", help="one JSON object per device")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from ..audio_devices import NO_DEVICE_HINT, list_devices

    devs = list_devices()
    if args.json:
        for d in devs:
            print(json.dumps(asdict(d)))
    else:
        for d in devs:
            mark = ("<in " if d.is_default_input else "    ") + (
                "out>" if d.is_default_output else "    "
            )
            print(
                f"{mark} {d.index:3d}  {d.name}  (in {d.inputs}, out {d.outputs}, {d.default_rate:.0f} Hz)"
            )
    if not any(d.inputs for d in devs) or not any(d.outputs for d in devs):
        import sys

        what = "no microphone" if any(d.outputs for d in devs) else "no speaker" if devs else "none"
        print(f"coach: {what}: {NO_DEVICE_HINT}", file=sys.stderr)
        return 1
    return 0
