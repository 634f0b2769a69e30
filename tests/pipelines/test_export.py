"""``speechcurate export``: lhotse reads the Shar export back; the NeMo manifests carry NeMo's
documented tarred-dataset fields and point at the run's tars; the Hugging Face export loads
with ``datasets`` and its card states the run's figures."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import soundfile as sf
import yaml

from pipelines.export import add_export_parser, brace_pattern, export_run, nemo_entry

pytestmark = pytest.mark.slow  # builds a real curated run (espeak-ng, tiny.en) once a session


@pytest.fixture(scope="module")
def run_dir(curated_run) -> Path:
    return curated_run


@pytest.fixture(scope="module")
def rows(curated_rows):
    return curated_rows


def shard_audio(run_dir: Path) -> dict[str, np.ndarray]:
    audio = {}
    for tar_path in sorted((run_dir / "shards").glob("*.tar")):
        with tarfile.open(tar_path) as tar:
            for member in tar:
                if member.name.endswith(".flac"):
                    data = tar.extractfile(member).read()
                    audio[member.name[:-5]] = sf.read(io.BytesIO(data), dtype="float32")[0]
    return audio


def digest(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_lhotse_reads_the_shar_export_back(run_dir, rows, tmp_path):
    from lhotse import CutSet

    result = export_run(run_dir, "lhotse", tmp_path / "lhotse")
    assert result.samples == len(rows)
    audio = shard_audio(run_dir)
    cuts = list(CutSet.from_shar(in_dir=result.path))
    assert sorted(c.id for c in cuts) == sorted(rows)
    for cut in cuts:
        row = rows[cut.id]
        (sup,) = cut.supervisions
        assert (sup.text, sup.language) == (row["text"], row["language"])
        assert sup.custom["task"] == row["task"]
        assert sup.custom["source_start"] == row["start"]
        assert cut.duration == pytest.approx(row["duration"], abs=0.002)
        assert cut.sampling_rate == 16000
        np.testing.assert_array_equal(cut.load_audio()[0], audio[cut.id])  # the same bytes
    again = export_run(run_dir, "lhotse", tmp_path / "lhotse")  # a rerun replaces, identically
    assert digest(again.path) == digest(result.path)
    assert not list(tmp_path.glob(".lhotse*"))


def test_nemo_manifests_have_the_documented_tarred_dataset_fields(run_dir, rows, tmp_path):
    from braceexpand import braceexpand

    result = export_run(run_dir, "nemo", tmp_path / "nemo")
    out = result.path
    lines = [json.loads(line) for line in (out / "tarred_audio_manifest.json").read_text()
             .splitlines()]
    assert len(lines) == len(rows) == result.samples
    config = yaml.safe_load((out / "nemo_config.yaml").read_text())["train_ds"]
    assert config["is_tarred"] is True and config["sample_rate"] == 16000
    assert Path(config["manifest_filepath"]) == (out / "tarred_audio_manifest.json").resolve()
    # NeMo expands _OP_/_CL_ to braces; the list is the run's tars in shard_id order
    pattern = config["tarred_audio_filepaths"].replace("_OP_", "{").replace("_CL_", "}")
    tars = list(braceexpand(pattern))
    assert tars == [str(p.resolve()) for p in sorted((run_dir / "shards").glob("*.tar"))]
    members = []
    for i, tar_path in enumerate(tars):
        with tarfile.open(tar_path) as tar:
            members.append({m.name: tar.extractfile(m).read() for m in tar})
        sharded = [json.loads(line) for line in
                   (out / "sharded_manifests" / f"manifest_{i}.json").read_text().splitlines()]
        assert sharded == [e for e in lines if e["shard_id"] == i]
    for entry in lines:
        # ASR fields (audio_filepath, duration, text) + Canary's (source_lang, target_lang,
        # task asr|ast, pnc yes|no) + shard_id
        assert isinstance(entry["audio_filepath"], str) and isinstance(entry["text"], str)
        assert isinstance(entry["duration"], float) and isinstance(entry["shard_id"], int)
        assert entry["task"] in ("asr", "ast") and entry["pnc"] in ("yes", "no")
        key = entry["audio_filepath"].rsplit(".", 1)[0]  # NeMo's file id = the sample key
        row = rows[key]
        assert entry["text"] == row["text"] and entry["source_lang"] == row["language"]
        flac = members[entry["shard_id"]][entry["audio_filepath"]]
        audio, rate = sf.read(io.BytesIO(flac))
        assert entry["duration"] == pytest.approx(len(audio) / rate, abs=1e-6)
    translate = nemo_entry("k", 2.0, {"language": "de", "task": "translate", "text": "Hi."}, 3)
    assert (translate["source_lang"], translate["target_lang"], translate["task"]) == \
        ("de", "en", "ast")
    assert brace_pattern([Path("/r/shard-000000.tar"), Path("/r/shard-000002.tar")]) is None


def test_hugging_face_export_loads_and_its_card_states_the_run(run_dir, rows, tmp_path):
    from datasets import Features, Value, load_dataset

    from schemas.arrow import SEGMENT_SCHEMA

    result = export_run(run_dir, "hf", tmp_path / "hf")
    card = (result.path / "README.md").read_text()
    header = yaml.safe_load(card.split("---")[1])
    assert header["license"] == "cc-by-4.0" and header["language"] == ["en"]
    assert header["task_categories"] == ["automatic-speech-recognition"]
    stats = json.loads((run_dir / "stats.json").read_text())
    assert f"| segments | {len(rows)} |" in card
    for reason, count in stats["rejects"]["by_reason"].items():
        assert f"| {reason} | {count} |" in card
    assert "| label.choice |" in card and "| CC-BY-4.0 |" in card
    features = Features({"__key__": Value("string"), "__url__": Value("string"),
                         "flac": Value("binary"),
                         "json": dict(Features.from_arrow_schema(SEGMENT_SCHEMA))})
    ds = load_dataset(str(result.path), split="train", features=features,
                      cache_dir=str(tmp_path / "cache"))
    assert sorted(ds["__key__"]) == sorted(rows)
    for sample in ds:
        assert sample["json"]["text"] == rows[sample["__key__"]]["text"]
    meta = pl.read_parquet(result.path / "metadata/segments.parquet")
    assert meta.equals(pl.read_parquet(run_dir / "manifest/segments.parquet"))


def test_the_export_subcommand(run_dir, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_export_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["export", str(run_dir), "--format", "nemo", "--out",
                              str(tmp_path / "n")])
    assert args.func(args) == 0
    assert "as nemo in" in capsys.readouterr().out
    bad = parser.parse_args(["export", str(tmp_path), "--format", "hf"])
    assert bad.func(bad) == 2
    assert "not a published run" in capsys.readouterr().err
