"""Shared fixtures: the real-speech set (skipped cleanly when absent) and generated audio."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def speech_eval_dir() -> Path | None:
    env = os.environ.get("SPEECH_EVAL_DIR")
    path = Path(env) if env else REPO.parent / "shared" / "speech-eval"
    return path if (path / "MANIFEST.tsv").is_file() else None


@pytest.fixture(scope="session")
def speech_eval() -> Path:
    path = speech_eval_dir()
    if path is None:
        pytest.skip("speech-eval set not found (set SPEECH_EVAL_DIR or use ../shared/speech-eval)")
    return path


@pytest.fixture(scope="session")
def speech_eval_manifest(speech_eval: Path) -> dict[str, dict[str, str]]:
    with open(speech_eval / "MANIFEST.tsv", encoding="utf-8") as fh:
        return {row["file"]: row for row in csv.DictReader(fh, delimiter="\t")}


@pytest.fixture(scope="session")
def espeak_available() -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed (make test installs it)")
