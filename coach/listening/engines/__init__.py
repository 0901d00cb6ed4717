"""Speech recognition engines behind one small interface (base.Engine)."""

from enum import StrEnum


class EngineName(StrEnum):
    """What --engine accepts (kept here, import-light: the CLI's parser needs it at startup)."""

    AUTO = "auto"  # vosk with a model for the language; else phonemes+whisper (English)
    PHONEMES = "phonemes"
    PHONEMES_WHISPER = "phonemes+whisper"
    VOSK = "vosk"
    POCKETSPHINX = "pocketsphinx"
    WHISPER = "whisper"
    POCKETSPHINX_WHISPER = "pocketsphinx+whisper"


ENGINES = tuple(e.value for e in EngineName)  # argparse's choices, in this order
