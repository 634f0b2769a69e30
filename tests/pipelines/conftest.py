"""A small real curated run (espeak-ng speech, tiny.en), built once a session for the tests that
read shards the way trainers and exporters do."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest


@pytest.fixture(scope="session")
def curated_run(tmp_path_factory, espeak_available) -> Path:
    from tests.pipelines.train.curated_run import build_curated_run

    return build_curated_run(tmp_path_factory.getbasetemp() / "curated-run")


@pytest.fixture(scope="session")
def curated_rows(curated_run) -> dict[str, dict]:
    frame = pl.read_parquet(curated_run / "manifest/segments.parquet")
    return {r["segment_id"]: r for r in frame.iter_rows(named=True)}
