"""Merging decide's plan parts into ``RUN/plan/segments.parquet`` in bounded memory.

Decide's workers write their plan rows as unordered Parquet parts (``WriteRows``), and a retried
bundle may have written the same rows twice. Reading every part into Python dicts to sort and
deduplicate them cost the launcher ~5.9 GB per million candidates, which made decide, not the
cluster, the limit of a 100,000-hour job. The merge here streams Arrow tables in three passes:

1. **ids**: only the ``segment_id`` column of every part -> the sorted unique ids -> a range
   boundary every ``BUCKET_ROWS`` ids (the one corpus-wide structure: the ids themselves);
2. **scatter**: each part's rows (and each dedup verdict) are appended to the local bucket file
   of their id range;
3. **per bucket, in id order**: sort, drop the duplicate ids of retried bundles, apply the dedup
   verdicts to their kept rows (a handful per bucket), give each kept row its shard and each ssl
   row its ``ssl/`` shard (the shard starts that decide's global step wrote), and append to the
   plan in row groups of exactly ``PLAN_ROW_GROUP`` rows.

The file is the same as one sorted, deduplicated table written with that row-group size, however
the runner cut its parts, so two runners' plans stay byte-identical.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines import io as sio

BUCKET_ROWS = 131_072  # unique ids per bucket: the most rows pass 3 holds at once (4 row groups)


@dataclass(frozen=True)
class PlanCounts:
    """What the merged plan holds (for the log and the benchmarks)."""

    candidates: int  # unique plan rows
    kept: int
    ssl: int  # drops also published audio-only in ssl/


def _part_table(uri: str, columns: list[str] | None = None) -> pa.Table:
    return pq.read_table(io.BytesIO(sio.read_bytes(uri)), columns=columns)


def _boundaries(parts: list[str]) -> np.ndarray:
    """The first id of every bucket after the first, from the sorted unique ids of all parts."""
    ids = [_part_table(uri, ["segment_id"]).column("segment_id") for uri in parts]
    if not ids:
        return np.array([], dtype=object)
    unique = pc.unique(pa.chunked_array([c for col in ids for c in col.chunks],
                                        type=pa.string()))
    del ids
    ordered = unique.take(pc.array_sort_indices(unique))
    return ordered[BUCKET_ROWS::BUCKET_ROWS].to_numpy(zero_copy_only=False)


def _ids(table: pa.Table) -> np.ndarray:
    return table.column("segment_id").to_numpy()


def _scatter(parts: list[str], bounds: np.ndarray, schema: pa.Schema | None, tmp: Path,
             name: str) -> list[Path]:
    """Append each part's rows (cast to ``schema`` when given) to the Arrow stream file of their
    bucket (one per bucket, in id order; a bucket no row fell in has none)."""
    paths = [tmp / f"{name}-{b:06d}.arrow" for b in range(len(bounds) + 1)]
    writers: dict[int, pa.ipc.RecordBatchStreamWriter] = {}
    try:
        for uri in parts:
            table = _part_table(uri)
            if schema is not None:
                table = table.cast(schema)
            bucket = np.searchsorted(bounds, _ids(table), side="right")
            order = np.argsort(bucket, kind="stable")
            table, bucket = table.take(pa.array(order)), bucket[order]
            cuts = np.flatnonzero(np.diff(bucket)) + 1
            for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(bucket)], strict=True):
                b = int(bucket[lo])
                if b not in writers:
                    writers[b] = pa.ipc.new_stream(str(paths[b]), table.schema)
                writers[b].write_table(table.slice(lo, hi - lo))
    finally:
        for writer in writers.values():
            writer.close()
    return paths


def _shard_column(ids: np.ndarray, member: np.ndarray, starts: list[str]) -> pa.Array:
    """``filters.shard_plan.shard_of`` for every member row (bisect right, minus one); -1 for
    the others."""
    index = np.searchsorted(np.array(starts, dtype=object), ids, side="right") - 1
    return pa.array(np.where(member, index, -1).astype(np.int32), type=pa.int32())


def _read_bucket(path: Path | None) -> pa.Table | None:
    if path is None or not path.exists():
        return None
    with pa.ipc.open_stream(str(path)) as reader:
        table = reader.read_all()
    path.unlink()
    return table


def _unique_sorted(table: pa.Table) -> pa.Table:
    table = table.take(pc.sort_indices(table, [("segment_id", "ascending")]))
    ids = _ids(table)
    first = np.ones(len(ids), dtype=bool)
    first[1:] = ids[1:] != ids[:-1]
    return table if first.all() else table.filter(pa.array(first))


def _with_verdicts(table: pa.Table, verdicts: pa.Table, apply: Callable[..., dict[str, Any]],
                   schema: pa.Schema) -> pa.Table:
    """The bucket with each verdict applied to its kept row (a row and its verdict meet here,
    on the launcher, rather than in a shuffle of every plan row)."""
    by_id = {v["segment_id"]: v for v in _unique_sorted(verdicts).to_pylist()}
    hit = pc.is_in(table.column("segment_id"), value_set=pa.array(list(by_id), pa.string()))
    if not pc.any(hit).as_py():
        return table
    changed = [apply(row, by_id[row["segment_id"]]) for row in table.filter(hit).to_pylist()]
    rest = table.filter(pc.invert(hit))
    merged = pa.concat_tables([rest, pa.Table.from_pylist(changed, schema=schema)])
    return merged.take(pc.sort_indices(merged, [("segment_id", "ascending")]))


def _decided(table: pa.Table, verdicts: pa.Table | None, apply, schema: pa.Schema,
             starts: list[str], ssl_starts: list[str]) -> pa.Table:
    """One bucket sorted by id, each id once, with its dedup verdict and its shard indexes."""
    table = _unique_sorted(table)
    if verdicts is not None and apply is not None:
        table = _with_verdicts(table, verdicts, apply, schema)
    ids = _ids(table)
    keep = table.column("keep").to_numpy(zero_copy_only=False).astype(bool)
    ssl = table.column("ssl").fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
    for name, member, cuts in (("shard_index", keep, starts), ("ssl_index", ssl, ssl_starts)):
        table = table.set_column(table.schema.get_field_index(name), name,
                                 _shard_column(ids, member, cuts))
    return table


def merge_plan(parts: list[str], out_uri: str, schema: pa.Schema, starts: list[str],
               ssl_starts: list[str], row_group: int, verdict_parts: list[str] = (),
               apply: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None,
               ) -> PlanCounts:
    """Merge decide's plan ``parts`` into ``out_uri`` (atomically), applying the dedup verdicts
    of ``verdict_parts`` with ``apply(plan row, verdict row)``; see the module docstring."""
    candidates = kept = ssl = 0
    bounds = _boundaries(parts)
    with tempfile.TemporaryDirectory(prefix="speechcurate-plan-") as tmp, \
            sio.open_atomic(out_uri) as fh, pq.ParquetWriter(fh, schema) as writer:
        buckets = _scatter(parts, bounds, schema, Path(tmp), "rows")
        verdicts = (_scatter(verdict_parts, bounds, None, Path(tmp), "verdicts")
                    if verdict_parts else [None] * len(buckets))
        pending: list[pa.Table] = []
        held = 0
        for rows_path, verdicts_path in zip(buckets, verdicts, strict=True):
            rows = _read_bucket(rows_path)
            if rows is None:
                continue
            table = _decided(rows, _read_bucket(verdicts_path), apply, schema, starts,
                             ssl_starts)
            candidates += table.num_rows
            kept += pc.sum(table.column("keep")).as_py() or 0
            ssl += pc.sum(table.column("ssl").fill_null(False)).as_py() or 0
            pending.append(table)
            held += table.num_rows
            if held >= row_group:
                merged = pa.concat_tables(pending).combine_chunks()
                full = held - held % row_group
                writer.write_table(merged.slice(0, full), row_group_size=row_group)
                pending, held = [merged.slice(full)], held - full
        if held or not candidates:
            writer.write_table(pa.concat_tables(pending) if pending else schema.empty_table(),
                               row_group_size=row_group)
    return PlanCounts(candidates, kept, ssl)
