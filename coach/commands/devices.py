"""`coach devices`: list sound devices (and, when PulseAudio is behind them, the microphone and
speaker it really uses), or explain how to get some."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help="list microphones and speakers")
    p.add_argument("--json", action="store_true", help="one JSON object per device")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from coach.audio.devices import (
        NO_DEVICE_HINT,
        explain_missing,
        goes_to_pulse,
        list_devices,
        pulse_route,
    )

    devs = list_devices()
    route = pulse_route() if any(goes_to_pulse(d, devs) for d in devs) else None
    if args.json:
        for d in devs:
            pulse = None
            if route is not None and goes_to_pulse(d, devs):
                pulse = {
                    "server": route.server,
                    "source": route.source.name,
                    "source_description": route.source.description,
                    "sink": route.sink.name,
                    "sink_description": route.sink.description,
                }
            print(json.dumps({**asdict(d), "pulse": pulse}))
    else:
        width = max((len(d.name) for d in devs), default=0)
        for d in devs:
            mark = ("<in " if d.is_default_input else "    ") + (
                "out>" if d.is_default_output else "    "
            )
            print(
                f"{mark} {d.index:3d}  {d.name:<{width}}  "
                f"(in {d.inputs}, out {d.outputs}, {d.default_rate:.0f} Hz)"
            )
        if route is not None:
            names = " and ".join(f'"{d.name}"' for d in devs if goes_to_pulse(d, devs))
            print(f"\n{names} lead to the PulseAudio server {route.server}, which uses:")
            print(f"  microphone: {route.source.text()}")
            print(f"  speaker:    {route.sink.text()}")
        used = [d for d in devs if d.is_default_input or d.is_default_output]
        if used:
            what = ", ".join(
                f'"{d.name}"'
                + (" (PulseAudio above)" if route is not None and goes_to_pulse(d, devs) else "")
                for d in used
            )
            print(f"\nThe coach uses the devices marked <in out>: {what}.")
    problem = explain_missing(devs)
    if problem is not None:
        print(f"coach: {problem}.\n  what to do: {NO_DEVICE_HINT}", file=sys.stderr)
        return 1
    if route is not None:
        wrong = [route.source.problem("microphone"), route.sink.problem("speaker")]
        for w in filter(None, wrong):
            print(f"coach: {w}.", file=sys.stderr)
        if any(wrong):
            return 1
    return 0
