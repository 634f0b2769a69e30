"""A run's shards load the way trainers read them -- ``wids.ShardListDataset`` on
``manifest/shards.json``, ``webdataset.WebDataset`` on its URLs, Hugging Face
``load_dataset("webdataset", ...)`` -- and every sample matches its ``segments.parquet`` row."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import soundfile as sf

pytestmark = pytest.mark.slow  # builds a real curated run (espeak-ng, tiny.en) once a session


@pytest.fixture(scope="module")
def run_dir(curated_run) -> Path:
    return curated_run


@pytest.fixture(scope="module")
def rows(curated_rows):
    return curated_rows


def shard_urls(run_dir: Path) -> list[str]:
    index = json.loads((run_dir / "manifest/shards.json").read_text())
    return [str((run_dir / "manifest" / s["url"]).resolve()) for s in index["shardlist"]]


def check(key: str, flac: bytes, meta: dict, rows: dict, shard: str | None = None) -> None:
    row = rows[key]
    audio, rate = sf.read(io.BytesIO(flac), dtype="float32")
    assert rate == 16000 and audio.ndim == 1
    assert len(audio) / 16000 == pytest.approx(row["duration"], abs=0.002)
    for field in ("segment_id", "recording_id", "text", "language", "task", "start", "end",
                  "label_source", "licence"):
        assert meta[field] == row[field], field
    if shard is not None:
        assert Path(shard).name == row["shard"]


def test_wids_reads_the_shard_index(run_dir, rows, tmp_path):
    import wids

    ds = wids.ShardListDataset(str(run_dir / "manifest/shards.json"),
                               cache_dir=str(tmp_path / "wids"), transformations=[])
    assert len(ds) == len(rows) > 0
    seen = set()
    for i in range(len(ds)):
        sample = ds[i]
        # without transformations wids hands out each member as a file object
        meta = json.loads(sample[".json"].read())
        check(sample["__key__"], sample[".flac"].read(), meta, rows, sample["__shard__"])
        seen.add(sample["__key__"])
    assert seen == set(rows)


def test_webdataset_reads_the_shards(run_dir, rows):
    import webdataset as wds

    ds = wds.WebDataset(shard_urls(run_dir), shardshuffle=False).decode().to_tuple(
        "__key__", "flac", "json", "__url__")
    seen = []
    for key, flac, meta, url in ds:
        check(key, flac, meta, rows, url)
        seen.append(key)
    assert sorted(seen) == sorted(rows)


def test_hugging_face_datasets_reads_the_shards(run_dir, rows, tmp_path):
    from datasets import Features, Value, load_dataset

    from schemas.arrow import SEGMENT_SCHEMA

    # flac as bytes: decoding datasets' Audio feature needs torchcodec (datasets >= 4)
    features = Features({"__key__": Value("string"), "__url__": Value("string"),
                         "flac": Value("binary"),
                         "json": dict(Features.from_arrow_schema(SEGMENT_SCHEMA))})
    ds = load_dataset("webdataset", data_files={"train": shard_urls(run_dir)}, split="train",
                      features=features, cache_dir=str(tmp_path / "hf"))
    assert ds.num_rows == len(rows)
    for sample in ds:
        check(sample["__key__"], sample["flac"], sample["json"], rows, sample["__url__"])
    assert sorted(ds["__key__"]) == sorted(rows)
    streamed = load_dataset("webdataset", data_files={"train": shard_urls(run_dir)},
                            split="train", features=features, streaming=True)
    assert sorted(s["__key__"] for s in streamed) == sorted(rows)
