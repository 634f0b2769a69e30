"""Phase 3, ``publish``: the plan and the candidate audio in, the corpus out.

Kept samples stream from the analysis packs into ``RUN/shards/shard-NNNNNN.tar`` (sorted keys,
deterministic names, temp + rename, the plan's audio edits applied); reject samples for listening
go to ``RUN/samples/rejected/``. The launcher then writes the manifests from the plan.

The job is handed the shard starts decide kept beside the plan (one id a shard), and each shard's
task reads its own rows from ``RUN/plan/segments.parquet``: a plan of millions of rows never
passes through the launcher into the job graph (where Dataflow's request size would cap it) or
through a shuffle.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from typing import Any

import apache_beam as beam

from filters.anonymise_config import AnonymiseConfig
from filters.audio_edits import DEFAULT_FADE_MS
from pipelines import io as sio
from pipelines import runners
from pipelines.decide import PLAN_FILE, SSL_STARTS_FILE, STARTS_FILE, read_starts
from pipelines.stages.publish import (
    ReadShardPlan,
    WriteRejectSamples,
    WriteShard,
    WriteSslShard,
    shard_ranges,
)
from pipelines.stages.rows import WriteRows, read_rows

log = logging.getLogger("speechcurate.publish")
REJECT_SAMPLES_PER_REASON = 8
WORK_SHARDS = "_work/shards"  # shard rows written by the workers, merged on the launcher
WORK_SSL = "_work/ssl"  # the same for the ssl/ shards
SSL_DIR = "ssl"  # RUN/ssl/: audio-only shards of label-untrusted speech (filters/ssl_speech.py)


def _clear(uri: str) -> None:
    fs, path = sio.fs_and_path(uri)
    if fs.exists(path):
        fs.rm(path, recursive=True)


def pick_reject_samples(rows: list[dict[str, Any]],
                        per_reason: int = REJECT_SAMPLES_PER_REASON) -> list[tuple[str, list]]:
    """Up to ``per_reason`` rejects with audio per reason, chosen by a hash of their id (a
    stable, unbiased pick that does not depend on the order rows arrive in)."""
    by_reason: dict[str, list[tuple[bytes, str, dict[str, Any]]]] = defaultdict(list)
    for r in rows:
        if r.get("audio_pack"):
            digest = hashlib.sha1(r["id"].encode()).digest()
            by_reason[r["reason"]].append((digest, r["id"], r))
    return [(reason, [(rid, ref) for _, rid, ref in sorted(picks)[:per_reason]])
            for reason, picks in sorted(by_reason.items())]


def build_pipeline(p: beam.Pipeline, analysis_dir: str, run_dir: str,
                   starts: list[str], ssl_starts: list[str], reject_refs: list[dict[str, Any]],
                   flac_compression: int, anonymise: AnonymiseConfig | None = None,
                   fade_ms: float = DEFAULT_FADE_MS) -> None:
    """Shards and ``ssl/`` shards from the plan, each read by its own task; reject samples for
    listening. ``starts``/``ssl_starts``: the first segment id of each shard (decide's)."""
    plan_uri = sio.join(run_dir, "plan", PLAN_FILE)
    shards = (p | "Shards" >> beam.Create(shard_ranges(starts))
              | "SpreadShards" >> beam.Reshuffle()
              | "ReadShardPlan" >> beam.ParDo(ReadShardPlan(plan_uri, "shard_index"))
              | "WriteShards" >> beam.ParDo(WriteShard(analysis_dir, sio.join(run_dir, "shards"),
                                                       flac_compression, anonymise, fade_ms))
              | "ShardRows" >> beam.ParDo(WriteRows(sio.join(run_dir, WORK_SHARDS), None)))
    sinks = [shards]
    if ssl_starts:
        sinks.append(p | "SslShards" >> beam.Create(shard_ranges(ssl_starts))
                     | "SpreadSslShards" >> beam.Reshuffle()
                     | "ReadSslShardPlan" >> beam.ParDo(ReadShardPlan(plan_uri, "ssl_index"))
                     | "WriteSslShards" >> beam.ParDo(WriteSslShard(
                         analysis_dir, sio.join(run_dir, SSL_DIR), flac_compression, anonymise,
                         fade_ms))
                     | "SslShardRows" >> beam.ParDo(WriteRows(sio.join(run_dir, WORK_SSL), None)))
    samples = (p | "RejectSamples" >> beam.Create(pick_reject_samples(reject_refs))
               | "WriteRejectSamples" >> beam.ParDo(WriteRejectSamples(
                   analysis_dir, sio.join(run_dir, "samples", "rejected"), anonymise, fade_ms)))
    runners.finish(*sinks, samples)


def run_publish(run_dir: str, analysis_dir: str, reject_refs: list[dict[str, Any]],
                flac_compression: int,
                beam_args: list[str],
                anonymise: AnonymiseConfig | None = None,
                fade_ms: float = DEFAULT_FADE_MS) -> tuple[list[dict[str, Any]],
                                                           list[dict[str, Any]]]:
    """Write the shards, the ``ssl/`` shards and reject samples from ``RUN/plan/``; returns one
    row per written shard and one per written ``ssl/`` shard, each by index. The launcher reads
    only the shard starts; the workers read the plan rows of their shard."""
    shards_dir, samples_dir = sio.join(run_dir, "shards"), sio.join(run_dir, "samples")
    parts, ssl_parts = sio.join(run_dir, WORK_SHARDS), sio.join(run_dir, WORK_SSL)
    for stale in (shards_dir, samples_dir, parts, ssl_parts, sio.join(run_dir, SSL_DIR)):
        _clear(stale)
    sio.makedirs(shards_dir)
    plan_dir = sio.join(run_dir, "plan")
    with runners.pipeline(beam_args) as p:
        build_pipeline(p, analysis_dir, run_dir, read_starts(plan_dir, STARTS_FILE),
                       read_starts(plan_dir, SSL_STARTS_FILE), reject_refs, flac_compression,
                       anonymise, fade_ms)
    written = {r["index"]: r for r in read_rows(parts)}
    ssl = {r["index"]: r for r in read_rows(ssl_parts)} if sio.exists(ssl_parts) else {}
    _clear(sio.join(run_dir, "_work"))
    log.info("publish: %d shard(s), %d ssl/ shard(s)", len(written), len(ssl))
    return [written[i] for i in sorted(written)], [ssl[i] for i in sorted(ssl)]
