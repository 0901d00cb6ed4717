"""The listening stage: from microphone blocks to detections of what the person said.

listener (echo removal → voice activity → an engine → policy), echo, vad, langpack (the phrases
of each intent, TOML), models (where recognizer models are), engines/ (one module per recognizer,
behind engines.base.Engine).
"""

from __future__ import annotations

from coach.listening.detection import Detection
from coach.listening.factory import make_listener
from coach.listening.langpack import LanguagePack, load_langpack
from coach.listening.listener import Listener

__all__ = ["Detection", "LanguagePack", "Listener", "load_langpack", "make_listener"]
