"""The synthetic voices' test sets for scripts/eval_commands.py: what they say and who says it.

OUT/<intent>/*.wav for every phrase of the language pack, OUT/_none/*.wav for ordinary words and
sentences (the negatives), in espeak-ng voices (the coach's own engine: "tune" voices to tune on,
"heldout" voices never tuned on) or in flite's (an engine the coach does not use: a measure only).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

Speak = Callable[[str, Path], list[str]]  # (text, wav) -> the command line that says it there

# espeak-ng voice sets: "tune" was used while choosing the rejection design and thresholds;
# "heldout" was never looked at while tuning (other voices, variants, rates and pitches).

VOICE_SETS: dict[str, list[tuple[str, int, int]]] = {
    "tune": [("en-us", 160, 50), ("en-gb", 150, 40), ("en-us+f3", 170, 60), ("en-029", 140, 50)],
    "heldout": [
        ("en-gb-x-rp", 175, 45),
        ("en-gb-scotland", 150, 55),
        ("en-us+m3", 135, 35),
        ("en-us+f2", 190, 70),
        ("en-gb-x-gbcwmd", 160, 50),
        ("en-us-nyc", 145, 60),
        ("en-us+klatt", 165, 45),
        ("en-gb+f4", 155, 65),
    ],
}
ORDINARY_WORDS = [
    "bed",
    "bird",
    "cat",
    "dog",
    "house",
    "tree",
    "water",
    "window",
    "morning",
    "table",
    "chair",
    "garden",
    "music",
    "paper",
    "pillow",
    "blanket",
    "shoulder",
    "elbow",
    "ceiling",
    "floor",
    "carpet",
    "coffee",
    "dinner",
    "yellow",
    "purple",
    "seven",
    "eleven",
    "twenty",
    "hello",
    "thanks",
    "maybe",
    "later",
    "tomorrow",
    "nice",
    "lovely",
    "slowly",
    "lower",
    "weight",
    "now",
    "knee",
    "top",
    "step",
    "spine",
]
# ORDINARY_WORDS chosen to sound near a command phrase (the phrase they neighbour): their false
# commands are counted apart as well (beside the full figure, never instead); a homophone no
# recogniser can tell apart at all (README "Known limits": say "pause", not "wait")
NEAR_WORDS = {
    "slowly": "slower",
    "lower": "slower",
    "weight": "wait",
    "now": "no",
    "knee": "no",
    "top": "stop",
    "step": "stop",
    "spine": "pain",
}
HOMOPHONES = {"weight": "wait"}

SENTENCES = (
    "Lie on your back, on a bed, a couch or the floor.",
    "Bend your knees and put your feet flat.",
    "Breathe in. Knees to the ceiling.",
    "Breathe out, and let your legs sink slightly to the right.",
    "Keep your shoulders relaxed and your pelvis down.",
    "That was the last one. Rest and breathe easily. Well done.",
    "I think the weather is nice today.",
    "Could you turn the light on in the kitchen?",
)


def _say_all(out: Path, lang: str, speakers: list[tuple[str, Speak]]) -> int:
    """Every phrase of the language pack and every negative, said by each speaker: (the tag its
    files are named with, the command line that writes `text` to `wav`). Returns the clip count."""
    from coach.listening.langpack import load_langpack

    pack = load_langpack(lang)
    items: list[tuple[str, str]] = [(i.value, p) for p, i in pack.phrases().items()]
    items += [("_none", w) for w in ORDINARY_WORDS] + [("_none", s) for s in SENTENCES]
    n = 0
    for tag, speak in speakers:
        for label, text in items:
            d = out / label
            safe = "".join(c if c.isalnum() else "_" for c in text)[:30]
            f = d / f"{safe}_{tag}.wav"
            try:
                d.mkdir(parents=True, exist_ok=True)
                subprocess.run(speak(text, f), check=True, capture_output=True)
            except OSError as e:
                raise SystemExit(f"cannot write {f}: {e.strerror or e}") from None
            except subprocess.CalledProcessError as e:
                why = e.stderr.decode(errors="replace").strip() or f"exit {e.returncode}"
                raise SystemExit(f"{f}: {speak(text, f)[0]} failed: {why}") from None
            n += 1
    return n


def make_espeak_set(out: Path, voices: str, lang: str = "en") -> int:
    """Synthesize every command phrase and some non-commands in each voice of a set."""
    exe = shutil.which("espeak-ng")
    if not exe:
        raise SystemExit("espeak-ng is not installed")

    def speaker(voice: str, rate: int, pitch: int) -> tuple[str, Speak]:
        return f"{voice.replace('+', '-')}_{rate}_{pitch}", lambda text, wav: [
            exe, "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", str(wav), text
        ]  # fmt: skip

    return _say_all(out, lang, [speaker(*v) for v in VOICE_SETS[voices]])


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
    """The same in flite's voices (VOICES)."""
    exe = shutil.which("flite")
    if not exe:
        raise SystemExit("flite is not installed (apt-get install flite)")

    def speaker(voice: str, stretch: float, pitch: int) -> tuple[str, Speak]:
        pitched = ["--setf", f"int_f0_target_mean={pitch}"] if pitch else []
        return f"flite-{voice}_{stretch:g}_{pitch}", lambda text, wav: [
            exe, "-voice", voice, "--setf", f"duration_stretch={stretch}", *pitched,
            "-t", text, "-o", str(wav),
        ]  # fmt: skip

    return _say_all(out, lang, [speaker(*v) for v in VOICES])
