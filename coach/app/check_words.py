"""`coach check`'s safety-word test: after "ready", the person says "stop" and then "pain", each
asked aloud (the session's own prompts, in the session's voice) and printed, and the real
listener must hear each within the listening time. A pass is remembered (coach/app/safety_words.py),
so the first session on this microphone does not ask again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from coach.app import safety_words
from coach.app.check_result import CheckOptions, CheckResult, failed, open_device
from coach.intents import Intent
from coach.session import safety

FIX = (
    "move closer to the microphone or speak a little louder; check its input level "
    "(pavucontrol or alsamixer); or try another microphone"
)


def _prompts(voice: str | None) -> dict[str, np.ndarray]:
    from coach.speech.tts import SpeechRenderer
    from coach.speech.voice import get_voice

    renderer, v = SpeechRenderer(), get_voice(voice)
    return {w: renderer.render(t, v) for w, t in safety.PROVE_ASK.items()}


def _hear(io: Any, listener: Any, word: str, clip: np.ndarray, seconds: float) -> Any:
    """Say the prompt for `word` through the device while listening (its own voice is the
    echo reference and is never taken for the person's); the detection of `word`, or None."""
    from coach.speech.player import Player

    player = Player()
    player.play(clip, word)
    listener.speaking(safety.PROVE_ASK[word])
    spoke = True
    for _ in range(int((len(clip) / 16000 + seconds) * 16000 / io.block)):
        out = player.next_block()
        if spoke and not player.busy:
            listener.speaking(None)
            spoke = False
        for d in listener.feed(io.exchange(out), out):
            if d.intent == Intent(word):
                return d
    return None


def check_safety_words(
    listener: Any, opts: CheckOptions, say: Callable[[str], None] = print
) -> CheckResult:
    """Ask for stop, then pain; both heard: a pass, remembered for this engine and microphone."""
    try:
        prompts = _prompts(opts.voice)
        io = open_device()
    except Exception as e:
        return failed("safety words", e)
    heard: dict[str, Any] = {}
    try:
        listener.reset()
        listener.expect(set())  # stop and pain are always heard
        for word in ("stop", "pain"):
            say(f'  say "{word}" now ...')
            d = _hear(io, listener, word, prompts[word], opts.listen_s)
            if d is None:
                got = ", ".join(f'"{w}"' for w in heard)
                return CheckResult(
                    "safety words",
                    False,
                    f'did not hear "{word}" within {opts.listen_s:g} s'
                    + (f" (heard {got})" if got else ""),
                    FIX,
                )
            heard[word] = d
    except Exception as e:
        return failed("safety words", e)
    finally:
        io.close()
    engine = listener.engine_name
    kept = safety_words.remember(engine, safety_words.microphone_name())
    detail = " and ".join(f'"{w}" ({d.confidence:.2f})' for w, d in heard.items())
    note = "" if kept else f" (could not write {safety_words.record_path()})"
    return CheckResult("safety words", True, f"heard {detail}{note}")
