"""coach: a hands-free, voice-guided coach for gentle back exercises."""

__version__ = "0.1.0"
