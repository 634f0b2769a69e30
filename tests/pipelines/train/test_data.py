"""The data path on a real curated run: the shard index, disjoint slots per epoch (by shard and
by recording), resuming in place, language sampling, generated non-speech, padded share."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
import torch

from pipelines.train.config import train_config
from pipelines.train.data import (
    WindowStream,
    batches_before,
    keep_tier,
    language_acceptance,
    language_hours,
    non_speech,
    read_shard_index,
    split_holdout,
)


def stream_for(run_dir, tmp_path, **data):
    index = str(run_dir / "manifest/shards.json")
    config = train_config(data={"shards": [index], "num_workers": 0, **data},
                          loop={"out": str(tmp_path)})
    return WindowStream(config, read_shard_index(index), multilingual=True, num_languages=99,
                        n_text_ctx=448)


def epoch_keys(stream, epoch, slot, slots):
    return [seg.key for seg in stream.segments(epoch, slot, slots)]


def test_the_shard_index_resolves_relative_urls(run_dir):
    shards = read_shard_index(str(run_dir / "manifest/shards.json"))
    index = json.loads((run_dir / "manifest/shards.json").read_text())
    assert [s.url for s in shards] == [str((run_dir / "manifest" / e["url"]).resolve())
                                       for e in index["shardlist"]]
    assert sum(s.nsamples for s in shards) == pl.read_parquet(
        run_dir / "manifest/segments.parquet").height
    train, held = split_holdout(shards, 1)
    assert train + held == shards and len(held) == 1
    with pytest.raises(ValueError, match="holdout_shards"):
        split_holdout(shards, len(shards))


@pytest.mark.parametrize("slots", [2, 5])  # by shard (3 shards), by recording (5 > 3 shards)
def test_slots_read_disjoint_samples_that_cover_the_epoch(run_dir, tmp_path, slots):
    stream = stream_for(run_dir, tmp_path)
    every = set(pl.read_parquet(run_dir / "manifest/segments.parquet")["segment_id"])
    for epoch in (0, 1):
        per_slot = [epoch_keys(stream, epoch, slot, slots) for slot in range(slots)]
        flat = [k for keys in per_slot for k in keys]
        assert len(flat) == len(set(flat)) and set(flat) == every
    if slots == 5:  # whole recordings stay in one slot
        for slot in range(slots):
            recordings = {k.split("-")[0] for k in epoch_keys(stream, 0, slot, slots)}
            for other in range(slots):
                if other != slot:
                    assert not recordings & {k.split("-")[0]
                                             for k in epoch_keys(stream, 0, other, slots)}


def test_a_resumed_stream_continues_where_it_stopped(run_dir, tmp_path):
    stream = stream_for(run_dir, tmp_path, batch_size=2, window_s=8.0, shuffle_buffer=3)
    full = [b for _, b in zip(range(7), stream.batches(0, 1), strict=False)]
    resumed = [b for _, b in zip(range(4), stream.batches(0, 1, skip=3), strict=False)]
    for a, b in zip(full[3:], resumed, strict=True):
        assert a["keys"] == b["keys"]
        assert a["tokens"].equal(b["tokens"]) and a["audio"].equal(b["audio"])
    assert full[0]["audio"].shape == (2, 8 * 16000)
    # DataLoader workers hand out batches round-robin
    assert [batches_before(7, w, 3) for w in range(3)] == [3, 2, 2]
    assert batches_before(7, 0, 0) == 7


def test_language_sampling_follows_the_temperature(run_dir):
    assert language_hours((str(run_dir / "manifest/shards.json"),)).keys() == {"en"}
    hours = {"en": 90.0, "de": 10.0}
    assert language_acceptance(hours, 1.0) == {"en": 1.0, "de": 1.0}
    keep = language_acceptance(hours, 2.0)
    # target shares sqrt(0.9) : sqrt(0.1) = 0.75 : 0.25; German is kept whole
    assert keep["de"] == 1.0 and keep["en"] == pytest.approx(1 / 3)
    sampled = {lang: hours[lang] * keep[lang] for lang in hours}
    assert sampled["de"] / sum(sampled.values()) == pytest.approx(0.25)


def test_tier_weights_sample_segments_by_their_manifest_tier(run_dir, tmp_path):
    segments = pl.read_parquet(run_dir / "manifest/segments.parquet")
    tier = dict(zip(segments["segment_id"], segments["quality_tier"], strict=True))
    dropped = segments["quality_tier"][0]  # a tier the run really has
    others = {t: 1.0 for t in ("high", "medium", "low") if t != dropped}
    stream = stream_for(run_dir, tmp_path, tier_weights={dropped: 0.0, **others})
    for epoch in (0, 1):
        keys = epoch_keys(stream, epoch, 0, 1)
        assert keys == [k for k in epoch_keys(stream_for(run_dir, tmp_path), epoch, 0, 1)
                        if tier[k] != dropped]
    # a fractional weight keeps about that share of a tier's segments, different ones per epoch
    draws = [keep_tier({"low": 0.25}, "low", 0, epoch, f"seg-{i}")
             for epoch in range(4) for i in range(500)]
    assert sum(draws) / len(draws) == pytest.approx(0.25, abs=0.03)
    assert draws[:500] != draws[500:1000]
    assert all(keep_tier({"low": 0.25}, t, 0, 0, "k") for t in ("high", "", None))


@pytest.mark.parametrize("weights, field", [
    ({"gold": 1.0}, "tier_weights.gold"), ({"low": 1.5}, "tier_weights.low"),
    ({"low": 0.0, "high": 0.0}, "tier_weights")])
def test_bad_tier_weights_fail_naming_the_field(run_dir, tmp_path, weights, field):
    from pipelines.config_base import ConfigError

    with pytest.raises(ConfigError, match=f"train.data.{field}"):
        stream_for(run_dir, tmp_path, tier_weights=weights)


def test_generated_non_speech_is_reproducible_and_quiet_enough():
    clips = [non_speech(16000, seed) for seed in range(40)]
    assert all(c.dtype == np.int16 and c.shape == (16000,) for c in clips)
    assert np.array_equal(non_speech(16000, 7), clips[7])
    rms = [np.sqrt(np.mean((c / 32768.0) ** 2)) for c in clips]
    assert min(rms) == 0.0  # digital silence is one of the kinds
    assert max(rms) <= 10 ** (-20 / 20) * 1.01


def test_windows_carry_targets_audio_and_the_padded_share(run_dir, tmp_path):
    stream = stream_for(run_dir, tmp_path, batch_size=1, window_s=30.0, pack="language",
                        shuffle_buffer=0, shuffle_shards=False)
    batch = next(stream.batches(0, 1))
    assert batch["audio"].dtype == torch.int16 and batch["audio"].shape == (1, 480000)
    assert batch["tokens"].shape == batch["labels"].shape
    segments = pl.read_parquet(run_dir / "manifest/segments.parquet")
    duration = dict(zip(segments["segment_id"], segments["duration"], strict=True))
    # the stream is endless: an epoch (12.8 s of speech) does not fill a window, the next
    # epochs go on filling the open windows
    assert len({epoch for epoch, _ in batch["keys"]}) >= 2
    assert {k for _, k in batch["keys"]} == set(duration)
    assert batch["segments"] == len(batch["keys"]) > segments.height
    assert batch["speech_s"] == pytest.approx(sum(duration[k] for _, k in batch["keys"]))
    assert batch["speech_s"] <= batch["window_s"] == 30.0
    gaps = 1.0 * (len(batch["keys"]) - 1)  # at most max_gap_s between packed segments
    end = int((batch["speech_s"] + gaps) * 16000)
    assert not batch["audio"][0, end:].any()  # the rest of the window is padding
