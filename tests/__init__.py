"""The coach's tests. `ROOT` is the repository (the tests run the CLI from it)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
