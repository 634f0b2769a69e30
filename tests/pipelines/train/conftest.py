"""Fixtures of the trainer tests: one tiny real curated run per session, micro model dims."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def run_dir(curated_run) -> Path:
    """The session's curated run (tests/pipelines/conftest.py), shared with the export tests."""
    return curated_run


def micro_dims(path: Path, window_s: float) -> Path:
    """A ~3.5M-parameter Whisper (one layer each side, width 64) for ``window_s`` windows;
    nearly all of it is the multilingual vocabulary's embedding."""
    dims = {"n_mels": 80, "n_audio_ctx": round(window_s * 50), "n_audio_state": 64,
            "n_audio_head": 2, "n_audio_layer": 1, "n_vocab": 51865, "n_text_ctx": 64,
            "n_text_state": 64, "n_text_head": 2, "n_text_layer": 1}
    path.write_text(json.dumps(dims), encoding="utf-8")
    return path


@pytest.fixture()
def one_thread():
    """Two shared cores: one intra-op thread per process is several times faster here."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
