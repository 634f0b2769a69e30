"""Voice anonymisation end to end: ``refilter`` of the session's real curated run (espeak-ng,
tiny.en) with ``curate.anonymise.enabled`` publishes every kept segment with its recording's α in
the plan, the manifest and the shard JSON, and audio that differs from the plain run's at the
same loudness; deciding again chooses the same α and publishing that plan writes the same bytes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from filters.anonymise_config import AnonymiseConfig, alpha_for
from pipelines import analysis_store as store
from pipelines.config import load_config
from pipelines.curate import _with_model, run_refilter
from pipelines.decide import read_plan_rows, run_decide
from pipelines.stages.publish import WriteShard
from tests.pipelines.shard_reading import shard_samples

pytestmark = pytest.mark.slow  # builds the session's curated run (espeak-ng, tiny.en) if needed


@pytest.fixture(scope="module")
def config_path(curated_run, tmp_path_factory) -> Path:
    """The curated run's config with anonymisation on."""
    config = yaml.safe_load((curated_run.parent / "sources.yaml").read_text())
    config["curate"]["anonymise"] = {"enabled": True}
    root = tmp_path_factory.mktemp("anonymised")
    (root / "audio").symlink_to(curated_run.parent / "audio")
    path = root / "sources.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def anonymised(curated_run, config_path) -> Path:
    out = config_path.parent / "run"
    run_refilter(str(curated_run), load_config(config_path), str(out), [], "tiny.en")
    return out


def test_shards_carry_anonymised_audio_and_each_recordings_alpha(curated_run, anonymised):
    plain, anon = shard_samples(curated_run), shard_samples(anonymised)
    assert plain and set(anon) == set(plain)
    manifest = pl.read_parquet(anonymised / "manifest/segments.parquet")
    plan = pl.read_parquet(anonymised / "plan/segments.parquet").filter(pl.col("keep"))
    cfg = AnonymiseConfig(enabled=True)
    for row in manifest.iter_rows(named=True):
        alpha = alpha_for(f"recording:{row['recording_id']}", cfg)
        assert row["anonymise_alpha"] == alpha and 0.75 <= alpha <= 0.9
        assert anon[row["key"]][1]["anonymise_alpha"] == alpha
    assert dict(zip(plan["segment_id"], plan["anonymise_alpha"], strict=True)) == dict(
        zip(manifest["segment_id"], manifest["anonymise_alpha"], strict=True))
    for key, (audio, _meta) in anon.items():
        original = plain[key][0]
        assert audio.shape == original.shape
        assert np.corrcoef(audio, original)[0, 1] < 0.95, key  # the voice was changed
        rms = np.sqrt(np.mean(audio ** 2)) / np.sqrt(np.mean(original ** 2))
        assert 0.97 < rms < 1.03, key  # at the same loudness (FLAC rounding aside)
    plain_manifest = pl.read_parquet(curated_run / "manifest/segments.parquet")
    assert plain_manifest["anonymise_alpha"].is_null().all()
    stats = json.loads((anonymised / "stats.json").read_text())["anonymise"]
    assert stats["enabled"] and stats["segments"] == manifest.height
    assert stats["voices"] == manifest["recording_id"].n_unique()
    assert json.loads((curated_run / "stats.json").read_text())["anonymise"]["segments"] == 0


def test_deciding_again_replays_the_alpha_and_the_audio(curated_run, config_path, anonymised,
                                                        tmp_path):
    """decide once more (what refilter runs) -> the same α per segment; publishing that plan's
    shards -> byte-identical tars (same md5 as the refiltered run's shard index)."""
    config = _with_model(load_config(config_path), "tiny.en")  # what refilter decides with
    analysis = str(curated_run / "analysis")
    run_decide(config, str(tmp_path), analysis, store.owners(analysis), [])
    plan = read_plan_rows(str(tmp_path))
    kept = [r for r in plan if r["keep"]]
    published = pl.read_parquet(anonymised / "manifest/segments.parquet")
    assert {r["segment_id"]: r["anonymise_alpha"] for r in kept} == dict(
        zip(published["segment_id"], published["anonymise_alpha"], strict=True))
    index = json.loads((anonymised / "manifest/shards.json").read_text())
    md5 = {Path(s["url"]).name: s["md5sum"] for s in index["shardlist"]}
    writer = WriteShard(analysis, str(tmp_path / "shards"), config.curate.shards.flac_compression,
                        config.curate.anonymise)
    shards = sorted({r["shard_index"] for r in kept})
    rewritten = [next(writer.process((i, [r for r in kept if r["shard_index"] == i])))
                 for i in shards]
    assert {row["shard"]: row["md5sum"] for row in rewritten} == md5


def test_reject_samples_in_the_report_are_anonymised_too(curated_run, config_path, tmp_path):
    """A reject's listening sample (RUN/samples/rejected/, played in the report) is published
    with its recording's α, like a kept segment of that recording."""
    from filters.anonymise import anonymise
    from filters.audio import decode_flac
    from pipelines.stages.publish import WriteRejectSamples, read_audio

    config = load_config(config_path).curate.anonymise
    analysis = str(curated_run / "analysis")
    ref = pl.read_parquet(curated_run / "plan/segments.parquet").row(0, named=True)
    WriteRejectSamples(analysis, str(tmp_path), config).process(
        ("some_reason", [(ref["segment_id"], ref)]))
    written = decode_flac((tmp_path / "some_reason" / f"{ref['segment_id']}.flac").read_bytes())
    original = decode_flac(read_audio(analysis, ref))
    alpha = alpha_for(f"recording:{ref['recording_id']}", config)
    assert written.shape == original.shape
    assert np.corrcoef(written, original)[0, 1] < 0.95
    assert np.allclose(written, anonymise(original, alpha), atol=1e-4)  # FLAC's 16-bit rounding
