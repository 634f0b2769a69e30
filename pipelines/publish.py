"""Phase 3, ``publish``: the plan and the candidate audio in, the corpus out.

Kept samples stream from the analysis packs into ``RUN/shards/shard-NNNNNN.tar`` (sorted keys,
deterministic names, temp + rename, the plan's audio edits applied); reject samples for listening
go to ``RUN/samples/rejected/``. The launcher then writes the manifests from the plan.
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
from pipelines.stages.publish import WriteRejectSamples, WriteShard, WriteSslShard
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
                   plan: list[dict[str, Any]], reject_refs: list[dict[str, Any]],
                   flac_compression: int, anonymise: AnonymiseConfig | None = None,
                   fade_ms: float = DEFAULT_FADE_MS) -> None:
    """Shards from the kept plan rows; reject samples for listening."""
    groups: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in plan:
        if row["keep"]:
            groups[row["shard_index"]].append(row)
    shards = (p | "Shards" >> beam.Create(sorted(groups.items()))
              | "SpreadShards" >> beam.Reshuffle()
              | "WriteShards" >> beam.ParDo(WriteShard(analysis_dir, sio.join(run_dir, "shards"),
                                                       flac_compression, anonymise, fade_ms))
              | "ShardRows" >> beam.ParDo(WriteRows(sio.join(run_dir, WORK_SHARDS), None)))
    ssl_groups: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in plan:
        if row.get("ssl"):
            ssl_groups[row["ssl_index"]].append(row)
    sinks = [shards]
    if ssl_groups:
        sinks.append(p | "SslShards" >> beam.Create(sorted(ssl_groups.items()))
                     | "SpreadSslShards" >> beam.Reshuffle()
                     | "WriteSslShards" >> beam.ParDo(WriteSslShard(
                         analysis_dir, sio.join(run_dir, SSL_DIR), flac_compression, anonymise,
                         fade_ms))
                     | "SslShardRows" >> beam.ParDo(WriteRows(sio.join(run_dir, WORK_SSL), None)))
    samples = (p | "RejectSamples" >> beam.Create(pick_reject_samples(reject_refs))
               | "WriteRejectSamples" >> beam.ParDo(WriteRejectSamples(
                   analysis_dir, sio.join(run_dir, "samples", "rejected"), anonymise, fade_ms)))
    runners.finish(*sinks, samples)


def run_publish(run_dir: str, analysis_dir: str, plan: list[dict[str, Any]],
                reject_refs: list[dict[str, Any]], flac_compression: int,
                beam_args: list[str],
                anonymise: AnonymiseConfig | None = None,
                fade_ms: float = DEFAULT_FADE_MS) -> tuple[list[dict[str, Any]],
                                                           list[dict[str, Any]]]:
    """Write the shards, the ``ssl/`` shards and reject samples; returns one row per written
    shard and one per written ``ssl/`` shard, each by index."""
    shards_dir, samples_dir = sio.join(run_dir, "shards"), sio.join(run_dir, "samples")
    parts, ssl_parts = sio.join(run_dir, WORK_SHARDS), sio.join(run_dir, WORK_SSL)
    for stale in (shards_dir, samples_dir, parts, ssl_parts, sio.join(run_dir, SSL_DIR)):
        _clear(stale)
    sio.makedirs(shards_dir)
    with runners.pipeline(beam_args) as p:
        build_pipeline(p, analysis_dir, run_dir, plan, reject_refs, flac_compression, anonymise,
                       fade_ms)
    written = {r["index"]: r for r in read_rows(parts)}
    ssl = {r["index"]: r for r in read_rows(ssl_parts)} if sio.exists(ssl_parts) else {}
    _clear(sio.join(run_dir, "_work"))
    log.info("publish: %d shard(s), %d ssl/ shard(s)", len(written), len(ssl))
    return [written[i] for i in sorted(written)], [ssl[i] for i in sorted(ssl)]
