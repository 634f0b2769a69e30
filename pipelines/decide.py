"""Phase 2, ``decide``: thin, global and replayable in seconds; it never reads audio.

analysis rows -> group by recording -> the filter registry in order (label policy, language, ...)
-> global filters over every survivor of the corpus (dedup: clusters of near-duplicate audio and
text, and the segments earlier runs hold; ``pipelines/stages/dedup.py``), whose verdicts are
written beside the plan parts and applied as the launcher merges them, and only the survivors' (id,
size) pairs are joined with them -> shard assignment of the kept samples (sorted keys, about
``shards.target_size_mb``; one global step over packed (key, size) pairs whose output, the shard
starts, is a small file the launcher looks each row up in while it merges the plan) ->
``RUN/plan/segments.parquet``: every candidate with keep/drop, reason, chosen label, audio edits
and shard; ``RUN/dedup/index/``: the kept segments' thin dedup projection for later runs.
``speechcurate refilter`` is this phase and publish again with other thresholds.

The shard starts are not a side input, because Beam's DaskRunner computes a side input inside
each task that reads it, which can deadlock a cluster whose threads all wait; and plan rows are
not joined with their shard or their dedup verdict, so no plan row is shuffled
(``pipelines/runners.py``).
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

import apache_beam as beam

from filters.dedup.config import ANALYSE_FIELDS, DedupConfig
from filters.registry import REGISTRY, Filter, global_filter
from filters.shard_plan import KeySizes, shard_starts
from pipelines import analysis_store as store
from pipelines import io as sio
from pipelines import runners
from pipelines.config import ConfigError, RunConfig
from pipelines.manifests import PLAN_ROW_GROUP
from pipelines.plan_merge import PlanCounts, merge_plan
from pipelines.stages.decide import DecideRecording
from pipelines.stages.dedup import (
    Deduplicate,
    apply_verdict,
    index_row,
    node_from_row,
    survivor,
    verdict_row,
)
from pipelines.stages.rows import WriteRows
from schemas.analysis import (
    DEDUP_INDEX_SCHEMA,
    DEDUP_SEGMENT_FIELDS,
    DEDUP_VERDICT_SCHEMA,
    PLAN_SCHEMA,
)

log = logging.getLogger("speechcurate.decide")
PLAN_FILE = "segments.parquet"
VERDICTS_DIR = "verdicts"  # in the parts directory: dedup's verdicts (DEDUP_VERDICT_SCHEMA)
STARTS_FILE = "shard_starts.json"  # in the parts directory: the first key of each shard
SSL_STARTS_FILE = "ssl_shard_starts.json"  # the same for the ssl/ shards (curate.ssl)
DEDUP_DIR = "dedup"  # RUN/dedup/: index/*.parquet (kept segments' thin projection), settings
DEDUP_SETTINGS = "settings.json"
_DEDUP_COLUMNS = ["segment_id", "recording_id", *(n for n, _ in DEDUP_SEGMENT_FIELDS)]


def _keyed_rows(pack: str, analysis_dir: str, table: str, owner: dict[str, str]):
    for row in store.pack_rows(analysis_dir, table, pack, owner):
        if table != "recordings" or (row["status"] == "decoded" and row["n_segments"]):
            yield row["recording_id"], row


def _pack_recordings(pack: str, analysis_dir: str, owner: dict[str, str]):
    """One pack's recordings, each ``(recording_id, {"segments": rows, "recording": rows})``.

    A recording's rows all live in the pack that owns it (``analysis_store.pack_rows``), so they
    are grouped here, one pack at a time, and not by a shuffle: a CoGroupByKey would hold every
    analysis row of the corpus at once (the DirectRunner keeps a shuffle's whole input in
    memory, ~15 GB per million rows), where this holds one pack's."""
    segments: dict[str, list[dict[str, Any]]] = {}
    for rid, row in _keyed_rows(pack, analysis_dir, "segments", owner):
        segments.setdefault(rid, []).append(row)
    recordings: dict[str, list[dict[str, Any]]] = {}
    for rid, row in _keyed_rows(pack, analysis_dir, "recordings", owner):
        recordings.setdefault(rid, []).append(row)
    for rid in sorted(segments):  # a recording without candidates has no plan rows
        yield rid, {"segments": segments.pop(rid), "recording": recordings.pop(rid, [])}


class ShardStarts(beam.CombineFn):
    """Every kept (segment id, FLAC bytes) -> the first key of each shard (filters.shard_plan).

    The cut is global, so this is the one step where one worker sees every kept sample; it
    holds them packed in numpy arrays (~30 bytes a sample) and emits only the shard starts,
    which the launcher then looks the plan rows up in (:func:`merge_plan_parts`), so plan rows are
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


def _write_starts(starts: list[str], parts_dir: str, name: str = STARTS_FILE) -> None:
    sio.write_text_atomic(sio.join(parts_dir, name), json.dumps(starts))


def read_starts(plan_dir: str, name: str) -> list[str]:
    """The first segment id of each shard (``STARTS_FILE``) or ``ssl/`` shard
    (``SSL_STARTS_FILE``), as decide's workers wrote them and ``run_decide`` kept them beside
    the plan."""
    return _read_starts(plan_dir, name)


def _read_starts(parts_dir: str, name: str) -> list[str]:
    uri = sio.join(parts_dir, name)
    return json.loads(sio.read_bytes(uri)) if sio.exists(uri) else []


def read_plan_rows(run_dir: str) -> list[dict[str, Any]]:
    """``RUN/plan/segments.parquet`` as rows sorted by id."""
    return read_rows_file(sio.join(run_dir, "plan", PLAN_FILE))


def _dedup_payload(pack: str, analysis_dir: str, owner: dict[str, str]):
    """The thin dedup columns of one pack's segments, keyed by segment id."""
    for row in store.pack_rows(analysis_dir, "segments", pack, owner, _DEDUP_COLUMNS):
        yield row["segment_id"], {k: row.get(k) for k in _DEDUP_COLUMNS}


def _node_row(element):
    """(segment id, {meta, payload}) -> the kept candidate's dedup row (payload and plan meta)."""
    _sid, groups = element
    meta, payload = list(groups["meta"]), list(groups["payload"])
    if meta and payload:
        yield {**payload[0], **meta[0]}


def _held_rows(uri: str, tag: str, run: str):
    for row in read_rows_file(uri):
        yield node_from_row(row, held=run, tag=tag)


def read_rows_file(uri: str) -> list[dict[str, Any]]:
    import io

    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(sio.read_bytes(uri))).to_pylist()


def held_index_files(cfg: DedupConfig) -> list[tuple[str, str, str]]:
    """(index file, node tag, run) of every earlier run in ``against``; fails naming the field
    when a run has no index or was deduplicated with other signature settings."""
    import json

    out = []
    for i, run in enumerate(cfg.against):
        where = f"curate.dedup.against[{i}]"
        settings_uri = sio.join(run, DEDUP_DIR, DEDUP_SETTINGS)
        if not sio.exists(settings_uri):
            raise ConfigError(f"{where}: {run} has no dedup index ({DEDUP_DIR}/{DEDUP_SETTINGS}):"
                              " it must be a finished run made with dedup on")
        stored = json.loads(sio.read_bytes(settings_uri))
        diffs = [f"{k}: {stored.get(k)!r} != {getattr(cfg, k)!r}" for k in ANALYSE_FIELDS
                 if stored.get(k) != getattr(cfg, k)]
        if diffs:
            raise ConfigError(f"{where}: {run}'s signatures were made with other settings "
                              f"({'; '.join(diffs)}); they cannot be compared")
        for uri in sorted(sio.glob(sio.join(run, DEDUP_DIR, "index", "*.parquet"))):
            out.append((uri, f"@{i}:", run))
    return out


def _with_dedup(p: beam.Pipeline, plan, cfg: DedupConfig, analysis_dir: str, packs: list[str],
                owner: dict[str, str], index_dir: str, verdicts_dir: str):
    """plan rows -> (the (id, FLAC bytes) of every kept row dedup keeps, its sinks: the
    verdicts, which the launcher applies while it merges the plan, and the kept segments'
    index). No plan row is shuffled: only thin dedup rows, verdicts and (id, size) pairs."""
    payload = (p | "DedupPacks" >> beam.Create(packs)
               | "ReadDedup" >> beam.FlatMap(_dedup_payload, analysis_dir, owner))
    kept = plan | "KeptForDedup" >> beam.Filter(lambda r: r["keep"])
    meta = kept | "Meta" >> beam.Map(lambda r: (r["segment_id"], {
        "quality_tier": r["quality_tier"], "duration": r["duration"],
        "bandwidth_hz": r.get("bandwidth_hz"), "dnsmos": r.get("dnsmos")}))
    rows = ({"meta": meta, "payload": payload} | "JoinNodes" >> beam.CoGroupByKey()
            | "NodeRows" >> beam.FlatMap(_node_row))
    held = (p | "HeldIndex" >> beam.Create(held_index_files(cfg))
            | "ReadHeld" >> beam.FlatMap(lambda f: _held_rows(*f)))
    verdicts = ((rows | "Nodes" >> beam.Map(node_from_row), held) | "AllNodes" >> beam.Flatten()
                | "Deduplicate" >> Deduplicate(cfg))
    written = (verdicts | "VerdictRows" >> beam.Map(verdict_row)
               | "WriteVerdicts" >> beam.ParDo(WriteRows(verdicts_dir, DEDUP_VERDICT_SCHEMA)))
    survivors = ({"size": kept | "KeptSizes" >> beam.Map(lambda r: (r["segment_id"],
                                                                    r["audio_bytes"])),
                  "index": rows | "IndexRows" >> beam.Map(lambda r: (r["segment_id"],
                                                                     index_row(r, r))),
                  "verdict": verdicts}
                 | "JoinVerdicts" >> beam.CoGroupByKey()
                 | "Survivors" >> beam.FlatMap(survivor, cfg.mode))
    index = (survivors | "KeptIndex" >> beam.FlatMap(lambda t: [t[2]] if t[2] else [])
             | "WriteIndex" >> beam.ParDo(WriteRows(index_dir, DEDUP_INDEX_SCHEMA)))
    return survivors | "SurvivorSizes" >> beam.Map(lambda t: (t[0], t[1])), [written, index]


def build_pipeline(p: beam.Pipeline, config: RunConfig, analysis_dir: str, owner: dict[str, str],
                   parts_dir: str, registry: tuple[Filter, ...], index_dir: str = "") -> None:
    packs = sorted(set(owner.values()))
    target = int(config.curate.shards.target_size_mb * 1024 * 1024)
    grouped = (p | "Packs" >> beam.Create(packs)
               | "ByRecording" >> beam.FlatMap(_pack_recordings, analysis_dir, owner))
    plan = grouped | "ApplyFilters" >> beam.ParDo(DecideRecording(config.curate, registry))
    sinks = []
    if global_filter(registry, config.curate, "dedup") is not None and index_dir:
        kept, dedup_sinks = _with_dedup(p, plan, config.curate.dedup, analysis_dir, packs, owner,
                                        index_dir, sio.join(parts_dir, VERDICTS_DIR))
        sinks.extend(dedup_sinks)
    else:
        kept = (plan | "Kept" >> beam.Filter(lambda r: r["keep"])
                | "KeyAndSize" >> beam.Map(lambda r: (r["segment_id"], r["audio_bytes"])))
    starts = (kept | "ShardStarts" >> beam.CombineGlobally(ShardStarts(target)).without_defaults()
              | "WriteStarts" >> beam.Map(_write_starts, parts_dir))
    if config.curate.ssl.enabled:  # a shard sequence of its own for RUN/ssl/
        sinks.append(plan | "Ssl" >> beam.Filter(lambda r: bool(r.get("ssl")))
                     | "SslKeyAndSize" >> beam.Map(lambda r: (r["segment_id"], r["audio_bytes"]))
                     | "SslShardStarts" >> beam.CombineGlobally(ShardStarts(target))
                     .without_defaults()
                     | "WriteSslStarts" >> beam.Map(_write_starts, parts_dir, SSL_STARTS_FILE))
    written = plan | "WritePlan" >> beam.ParDo(WriteRows(parts_dir, PLAN_SCHEMA))
    runners.finish(written, starts, *sinks)


def run_decide(config: RunConfig, run_dir: str, analysis_dir: str, owner: dict[str, str],
               beam_args: list[str], registry: tuple[Filter, ...] = REGISTRY) -> PlanCounts:
    """Write ``run_dir/plan/`` from the recordings of ``analysis_dir`` that ``owner`` lists
    (``{recording_id: pack}``): the plan rows sorted by id (:func:`read_plan_rows`), each kept
    one with its shard, and the shard starts publish reads."""
    import json

    plan_dir = sio.join(run_dir, "plan")
    parts = sio.join(plan_dir, "_parts")
    dedup_dir = sio.join(run_dir, DEDUP_DIR)
    for stale in (parts, sio.join(plan_dir, PLAN_FILE), dedup_dir):
        if sio.exists(stale):
            fs, path = sio.fs_and_path(stale)
            fs.rm(path, recursive=True)
    cfg = config.curate.dedup
    with runners.pipeline(beam_args) as p:
        build_pipeline(p, config, analysis_dir, owner, parts, registry,
                       sio.join(dedup_dir, "index"))
    dedup = global_filter(registry, config.curate, "dedup") is not None
    if dedup:
        sio.write_text_atomic(sio.join(dedup_dir, DEDUP_SETTINGS), json.dumps(
            {k: getattr(cfg, k) for k in ANALYSE_FIELDS}, sort_keys=True))
    counts = merge_plan_parts(parts, sio.join(plan_dir, PLAN_FILE), cfg.mode if dedup else None)
    for name in (STARTS_FILE, SSL_STARTS_FILE):  # publish's shard list (read_starts)
        sio.write_text_atomic(sio.join(plan_dir, name), json.dumps(_read_starts(parts, name)))
    if sio.exists(parts):
        fs, path = sio.fs_and_path(parts)
        fs.rm(path, recursive=True)
    log.info("decide: %d candidate(s), %d kept, %d dropped (%d of them also to ssl/)",
             counts.candidates, counts.kept, counts.candidates - counts.kept, counts.ssl)
    return counts


def merge_plan_parts(parts_dir: str, plan_uri: str, dedup_mode: str | None = None) -> PlanCounts:
    """The workers' plan parts -> ``plan_uri``: unique, sorted by id, each kept row with its
    dedup verdict (when ``dedup_mode`` is given) and its shard, each ssl one with its ``ssl/``
    shard (``pipelines/plan_merge.py``)."""
    verdicts = sio.join(parts_dir, VERDICTS_DIR, "*.parquet")
    return merge_plan(sio.glob(sio.join(parts_dir, "*.parquet")), plan_uri, PLAN_SCHEMA,
                      _read_starts(parts_dir, STARTS_FILE),
                      _read_starts(parts_dir, SSL_STARTS_FILE), PLAN_ROW_GROUP,
                      sio.glob(verdicts) if dedup_mode else [],
                      functools.partial(apply_verdict, mode=dedup_mode))
