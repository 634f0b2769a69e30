"""What the speech-eval benchmarks share: where the set is, and which labeller made a figure."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def labeller_version() -> str:
    """Which labeller produced the figures: a hash of ``pipelines/whisper.py`` (it changes
    often; the WERs here are a function of it)."""
    import hashlib

    data = (REPO / "pipelines" / "whisper.py").read_bytes()
    return f"pipelines/whisper.py sha256 {hashlib.sha256(data).hexdigest()[:12]}"


def speech_eval_dir() -> Path | None:
    path = Path(os.environ.get("SPEECH_EVAL_DIR") or REPO.parent / "shared" / "speech-eval")
    return path if (path / "MANIFEST.tsv").is_file() else None
