"""Phase 2, ``decide``: thin, global and replayable in seconds; it never reads audio.

analysis rows -> group by recording -> the filter registry in order (label policy, language, ...)
-> shard assignment of the kept samples (sorted keys, about ``shards.target_size_mb``; one global
step over packed (key, size) pairs whose output, the shard starts, is a side input) ->
``RUN/plan/segments.parquet``: every candidate with keep/drop, reason, chosen label, audio edits
and shard. ``speechcurate refilter`` is this phase and publish again with other thresholds.
"""

from __future__ import annotations

import logging
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from filters.registry import REGISTRY, Filter
from filters.shard_plan import KeySizes, shard_of, shard_starts
from pipelines import analysis_store as store
from pipelines import io as sio
from pipelines.config import RunConfig
from pipelines.manifests import unique_rows, write_parquet
from pipelines.stages.decide import DecideRecording
from pipelines.stages.rows import WriteRows, read_rows
from schemas.analysis import PLAN_SCHEMA

log = logging.getLogger("speechcurate.decide")
PLAN_FILE = "segments.parquet"


def _keyed_rows(pack: str, analysis_dir: str, table: str, owner: dict[str, str]):
    for row in store.pack_rows(analysis_dir, table, pack, owner):
        if table != "recordings" or (row["status"] == "decoded" and row["n_segments"]):
            yield row["recording_id"], row


class ShardStarts(beam.CombineFn):
    """Every kept (segment id, FLAC bytes) -> the first key of each shard (filters.shard_plan).

    The cut is global, so this is the one step where one worker sees every kept sample; it
    holds them packed in numpy arrays (~30 bytes a sample) and emits only the shard starts,
    which every worker then looks its rows up in (a side input), so plan rows are never
    shuffled to be joined with their shard."""

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


def _with_shard(row: dict[str, Any], starts: list[str]) -> dict[str, Any]:
    return {**row, "shard_index": shard_of(row["segment_id"], starts) if row["keep"] else -1}


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
              | "ShardStarts" >> beam.CombineGlobally(ShardStarts(target)))
    _ = (plan | "WithShard" >> beam.Map(_with_shard, beam.pvalue.AsSingleton(starts))
         | "WritePlan" >> beam.ParDo(WriteRows(parts_dir, PLAN_SCHEMA)))


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
    with beam.Pipeline(options=PipelineOptions(beam_args)) as p:
        build_pipeline(p, config, analysis_dir, owner, parts, registry)
    rows = unique_rows(read_rows(parts), "segment_id")
    write_parquet(sio.join(plan_dir, PLAN_FILE), rows, PLAN_SCHEMA)
    if sio.exists(parts):
        fs, path = sio.fs_and_path(parts)
        fs.rm(path, recursive=True)
    kept = sum(1 for r in rows if r["keep"])
    log.info("decide: %d candidate(s), %d kept, %d dropped", len(rows), kept, len(rows) - kept)
    return rows
