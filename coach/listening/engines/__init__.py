"""Speech recognition engines behind one small interface (base.Engine)."""

# what --engine accepts (kept here, import-light: the CLI's parser needs it at startup)
ENGINES = (
    "auto",
    "phonemes",
    "phonemes+whisper",
    "vosk",
    "pocketsphinx",
    "whisper",
    "pocketsphinx+whisper",
)
