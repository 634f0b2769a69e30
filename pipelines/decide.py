"""Phase 2, ``decide``: thin, global and replayable in seconds; it never reads audio.

analysis rows -> group by recording -> the filter registry in order (label policy, language, ...)
-> shard assignment of the kept samples (sorted keys, about ``shards.target_size_mb``; one global
step over packed (key, size) pairs whose output, the shard starts, is a small file the launcher
looks each row up in while it merges the plan) -> ``RUN/plan/segments.parquet``: every candidate
with keep/drop, reason, chosen label, audio edits and shard. ``speechcurate refilter`` is this
phase and publish again with other thresholds.

The shard starts are not a side input, because Beam's DaskRunner computes a side input inside
each task that reads it, which can deadlock a cluster whose threads all wait; and plan rows are
not joined with their shard, so no plan row is shuffled (``pipelines/runners.py``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import apache_beam as beam

from filters.registry import REGISTRY, Filter
from filters.shard_plan import KeySizes, shard_of, shard_starts
from pipelines import analysis_store as store
from pipelines import io as sio
from pipelines import runners
from pipelines.config import RunConfig
from pipelines.manifests import unique_rows, write_parquet
from pipelines.stages.decide import DecideRecording
from pipelines.stages.rows import WriteRows, read_rows
from schemas.analysis import PLAN_SCHEMA

log = logging.getLogger("speechcurate.decide")
PLAN_FILE = "segments.parquet"
STARTS_FILE = "shard_starts.json"  # in the parts directory: the first key of each shard


def _keyed_rows(pack: str, analysis_dir: str, table: str, owner: dict[str, str]):
    for row in store.pack_rows(analysis_dir, table, pack, owner):
        if table != "recordings" or (row["status"] == "decoded" and row["n_segments"]):
            yield row["recording_id"], row


class ShardStarts(beam.CombineFn):
    """Every kept (segment id, FLAC bytes) -> the first key of each shard (filters.shard_plan).

    The cut is global, so this is the one step where one worker sees every kept sample; it
    holds them packed in numpy arrays (~30 bytes a sample) and emits only the shard starts,
    which the launcher then looks the plan rows up in (:func:`read_plan`), so plan rows are
    never shuffled to be joined with their shard."""

    def __init__(self, target_bytes: int):
        self.target_bytes = target_bytes

    def create_accumulator(self) -> KeySizes:
        return KeySizes()

    def add_input(self, acc: KeySizes, pair: tuple[str, int]) -> KeySizes:
        acc.add(*pair)
        return acc

    def merge_accumulators(self, accs) -> KeySizes:
        accs = iter(accs)
        merged = next(accs)
        for acc in accs:
            merged.merge(acc)
        return merged

    def compact(self, acc: KeySizes) -> KeySizes:
        return acc.pack()

    def extract_output(self, acc: KeySizes) -> list[str]:
        return shard_starts(acc, self.target_bytes)


def _write_starts(starts: list[str], parts_dir: str) -> None:
    sio.write_text_atomic(sio.join(parts_dir, STARTS_FILE), json.dumps(starts))


def read_plan(parts_dir: str) -> list[dict[str, Any]]:
    """The plan rows the workers wrote, unique and sorted by id, each kept one with its shard."""
    starts_uri = sio.join(parts_dir, STARTS_FILE)
    starts = json.loads(sio.read_bytes(starts_uri)) if sio.exists(starts_uri) else []
    rows = unique_rows(read_rows(parts_dir), "segment_id")
    for row in rows:
        row["shard_index"] = shard_of(row["segment_id"], starts) if row["keep"] else -1
    return rows


def build_pipeline(p: beam.Pipeline, config: RunConfig, analysis_dir: str, owner: dict[str, str],
                   parts_dir: str, registry: tuple[Filter, ...]) -> None:
    packs = sorted(set(owner.values()))
    target = int(config.curate.shards.target_size_mb * 1024 * 1024)
    grouped = {
        "segments": p | "SegmentPacks" >> beam.Create(packs)
        | "ReadSegments" >> beam.FlatMap(_keyed_rows, analysis_dir, "segments", owner),
        "recording": p | "RecordingPacks" >> beam.Create(packs)
        | "ReadRecordings" >> beam.FlatMap(_keyed_rows, analysis_dir, "recordings", owner),
    } | "ByRecording" >> beam.CoGroupByKey()
    plan = grouped | "ApplyFilters" >> beam.ParDo(DecideRecording(config.curate, registry))
    starts = (plan | "Kept" >> beam.Filter(lambda r: r["keep"])
              | "KeyAndSize" >> beam.Map(lambda r: (r["segment_id"], r["audio_bytes"]))
              | "ShardStarts" >> beam.CombineGlobally(ShardStarts(target)).without_defaults()
              | "WriteStarts" >> beam.Map(_write_starts, parts_dir))
    written = plan | "WritePlan" >> beam.ParDo(WriteRows(parts_dir, PLAN_SCHEMA))
    runners.finish(written, starts)


def run_decide(config: RunConfig, run_dir: str, analysis_dir: str, owner: dict[str, str],
               beam_args: list[str],
               registry: tuple[Filter, ...] = REGISTRY) -> list[dict[str, Any]]:
    """Write ``run_dir/plan/`` from the recordings of ``analysis_dir`` that ``owner`` lists
    (``{recording_id: pack}``); returns the plan rows sorted by id."""
    plan_dir = sio.join(run_dir, "plan")
    parts = sio.join(plan_dir, "_parts")
    for stale in (parts, sio.join(plan_dir, PLAN_FILE)):
        if sio.exists(stale):
            fs, path = sio.fs_and_path(stale)
            fs.rm(path, recursive=True)
    with runners.pipeline(beam_args) as p:
        build_pipeline(p, config, analysis_dir, owner, parts, registry)
    rows = read_plan(parts)
    write_parquet(sio.join(plan_dir, PLAN_FILE), rows, PLAN_SCHEMA)
    if sio.exists(parts):
        fs, path = sio.fs_and_path(parts)
        fs.rm(path, recursive=True)
    kept = sum(1 for r in rows if r["keep"])
    log.info("decide: %d candidate(s), %d kept, %d dropped", len(rows), kept, len(rows) - kept)
    return rows
