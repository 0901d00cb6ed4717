"""Where the coach keeps things. Each can be moved with an environment variable, which tests use
to keep a run's database, models and caches in a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
BUILTIN_ROUTINES = PACKAGE_DIR / "routines"
BUILTIN_LANG = PACKAGE_DIR / "lang"
BUILTIN_VOICES = PROJECT_DIR / "voices"  # top level, as the design asks (editable install)


def _env_dir(var: str, default: str) -> Path:
    v = os.environ.get(var)
    return Path(v).expanduser() if v else Path(default)


def data_dir() -> Path:
    """History database and installed speech models (COACH_DATA_DIR)."""
    return _env_dir("COACH_DATA_DIR", platformdirs.user_data_dir("coach"))


def cache_dir() -> Path:
    """Rendered speech (COACH_CACHE_DIR); safe to delete."""
    return _env_dir("COACH_CACHE_DIR", platformdirs.user_cache_dir("coach"))


def config_dir() -> Path:
    """The user's own routines/ and voices/ (COACH_CONFIG_DIR)."""
    return _env_dir("COACH_CONFIG_DIR", platformdirs.user_config_dir("coach"))


def db_path() -> Path:
    """The history database (COACH_DB overrides the file itself)."""
    v = os.environ.get("COACH_DB")
    return Path(v).expanduser() if v else data_dir() / "history.sqlite3"


def models_dir() -> Path:
    return data_dir() / "models"


def user_routines_dir() -> Path:
    return config_dir() / "routines"


def user_voices_dir() -> Path:
    return config_dir() / "voices"
