"""`coach voices` (list the voice profiles), `coach say` (speak or write one line) and `coach
prepare` (render a session's speech ahead)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from coach import paths
from coach.errors import AudioDeviceError, UsageError

if TYPE_CHECKING:
    import numpy as np

NO_SPEAKER = "no speaker found to play on; use -o FILE to write the speech to a WAV file instead"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("voices", help="list the voice profiles")
    p.add_argument("--json", action="store_true", help="one JSON object per voice")
    p.set_defaults(func=run_voices)

    p = sub.add_parser("say", help="speak a line in a voice (or write it to a WAV with -o)")
    p.add_argument("text", help="what to say")
    p.add_argument("--voice", default=None, help="voice profile name (default: calm)")
    p.add_argument("--speed", type=float, default=1.0, help="1.0 = the voice's rate; 0.5..2.0")
    p.add_argument("-o", "--output", type=Path, default=None, help="write a 16 kHz WAV here")
    p.set_defaults(func=run_say)

    p = sub.add_parser(
        "prepare",
        help="render a routine's or program's speech into the cache now, so that its first "
        "session starts at once (minutes with the natural voice, seconds otherwise)",
    )
    p.add_argument("target", metavar="ROUTINE|PROGRAM", help="id (see `coach list`) or a file")
    p.add_argument("--voice", default=None, help="voice profile (see `coach voices`; default calm)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_prepare)


def run_voices(args: argparse.Namespace) -> int:
    from coach.speech.voice import DEFAULT_VOICE, load_voices

    voices = load_voices()
    if args.json:
        for v in voices.values():
            keys: tuple[str, ...] = ("name", "espeak", "rate", "volume", "pitch", "description")
            if v.engine == "piper":  # its own fields (espeak, rate and pitch are not its)
                keys = ("name", "engine", "speaks_with", "length_scale", "volume", "fallback",
                        "description")  # fmt: skip
            d = {k: getattr(v, k) for k in keys}
            print(json.dumps({**d, "default": v.name == DEFAULT_VOICE, "path": str(v.path)}))
        return 0
    rows = [("name", "voice", "pace", "volume", "pitch", "description")]
    for v in voices.values():
        name = v.name + (" *" if v.name == DEFAULT_VOICE else "")
        if v.engine == "piper":  # pace as Piper's length scale; no espeak-ng pitch
            rows.append((name, v.speaks_with, f"length {v.length_scale:g}", f"{v.volume:.2f}", "-",
                         f"{v.description} (falls back to {v.fallback})"))  # fmt: skip
            continue
        rows.append((name, v.espeak, f"{v.rate} wpm", f"{v.volume:.2f}", str(v.pitch),
                     v.description))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1])
    print(f"(* = default; your own voices go in {paths.user_voices_dir()}/NAME.toml)")
    return 0


def run_say(args: argparse.Namespace) -> int:
    from coach.speech.tts import SPEED_MAX, SPEED_MIN, SpeechRenderer
    from coach.speech.voice import get_voice

    if not SPEED_MIN <= args.speed <= SPEED_MAX:
        raise UsageError(f"--speed {args.speed} is out of range {SPEED_MIN}..{SPEED_MAX}")
    if not args.text.strip():
        raise UsageError("nothing to say: the text is empty")
    out: Path | None = args.output
    if out is not None and (out.is_dir() or not out.parent.is_dir()):
        raise UsageError(f"{out}: not a writable file path (is the folder there?)")
    voice = get_voice(args.voice)
    clip = SpeechRenderer().render(args.text, voice, args.speed)
    if out is not None:
        from coach.audio.format import write_wav

        write_wav(out, clip)
        print(f"wrote {out} ({len(clip) / 16000:.2f} s, 16 kHz mono)", file=sys.stderr)
        return 0
    _play(clip)
    return 0


def run_prepare(args: argparse.Namespace) -> int:
    from coach.app.prepare import prepare
    from coach.progress import ProgressBar

    done = prepare(args.target, args.voice, ProgressBar("rendering", not args.quiet))
    cached = done.phrases - done.rendered
    print(f"prepared {done.target} in the {done.voice} voice: {done.phrases} phrases, "
          f"{done.rendered} rendered now, {cached} already cached ({done.seconds:.1f} s)")  # fmt: skip
    return 0


def _play(clip: np.ndarray) -> None:
    """Play on the default output device, block by block from a Player (the session's cue path).

    Output only, with high latency: `say` needs no microphone (a session's DeviceAudio does) and
    must not stutter on a busy machine. No device: AudioDeviceError saying to use -o (exit 1)."""
    import numpy as np

    from coach.audio.format import BLOCK, RATE
    from coach.speech.player import Player

    try:
        import sounddevice as sd
    except OSError as e:  # libportaudio2 missing
        raise AudioDeviceError(f"{NO_SPEAKER} (PortAudio is missing: {e})") from None
    try:
        if not any(d["max_output_channels"] > 0 for d in sd.query_devices()):
            raise AudioDeviceError(NO_SPEAKER)
        player = Player()
        player.play(clip, "say")
        with sd.OutputStream(
            samplerate=RATE, channels=1, dtype="float32", blocksize=BLOCK, latency="high"
        ) as stream:
            while player.busy:
                stream.write(player.next_block().reshape(-1, 1))
            stream.write(np.zeros((RATE // 5, 1), np.float32))  # the device drains the end
    except sd.PortAudioError as e:
        raise AudioDeviceError(f"{NO_SPEAKER} ({e})") from None
