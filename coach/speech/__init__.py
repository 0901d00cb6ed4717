"""The speech stage: the coach's voice.

voice (voice profiles, TOML), tts (text → 16 kHz PCM through pyttsx3 + espeak-ng, rendered before
the session and cached; piper_voice: the natural voice behind the same renderer), player (mixes
and cuts what is playing, block by block).
"""

from __future__ import annotations

from coach.speech.player import Player
from coach.speech.tts import SpeechRenderer
from coach.speech.voice import VoiceProfile, get_voice

__all__ = ["Player", "SpeechRenderer", "VoiceProfile", "get_voice"]
