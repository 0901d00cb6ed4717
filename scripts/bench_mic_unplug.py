"""How fast DeviceAudio follows an unplugged microphone and its return (README "Known limits").

On the virtual devices (scripts/virtual-audio; use a server of your own: it unloads and loads the
mic's module): exchanges silence, unloads the mic's remap source, counts until `mic_missing()`
says it is gone (the output-only stream is running), loads it again, counts until the duplex
stream is back. The session's side (the spoken notices) is measured by
`pytest tests/test_mic_unplugged.py -s`.

    COACH_AUDIO_DIR=/tmp/va-mine scripts/virtual-audio start   # then export what it prints
    .venv/bin/python scripts/bench_mic_unplug.py [TRIALS]
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

from coach.audio.device import DeviceAudio

MIC_MODULE = [  # as scripts/virtual-audio loads it
    "module-remap-source",
    "master=micfeed.monitor",
    "source_name=mic",
    "channels=1",
    "source_properties=device.description=mic",
]


def pactl(*args: str) -> str:
    return subprocess.run(["pactl", *args], capture_output=True, text=True, check=True).stdout


def main(trials: int) -> None:
    io = DeviceAudio()
    io.open()
    silence = np.zeros(io.block, np.float32)

    def exchange_until(done: Callable[[], bool], limit_s: float) -> float:
        t0 = time.monotonic()
        while not done() and time.monotonic() - t0 < limit_s:
            io.exchange(silence)
        return time.monotonic() - t0

    try:
        for trial in range(trials):
            exchange_until(lambda: False, 1.0)
            module = next(
                line.split("\t")[0]
                for line in pactl("list", "short", "modules").splitlines()
                if "module-remap-source" in line
            )
            pactl("unload-module", module)
            gone = exchange_until(lambda: io.mic_missing() is not None, 10.0)
            exchange_until(lambda: False, 2.0)
            pactl("load-module", *MIC_MODULE)
            back = exchange_until(lambda: io.mic_missing() is None, 15.0)
            print(
                f"trial {trial}: gone after {gone * 1000:.0f} ms, back after {back * 1000:.0f} ms"
            )
        print(dict(io.status))
    finally:
        io.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
