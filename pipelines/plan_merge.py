"""Merging decide's plan parts into ``RUN/plan/segments.parquet`` in bounded memory.

Decide's workers write their plan rows as unordered Parquet parts (``WriteRows``), and a retried
bundle may have written the same rows twice. Reading every part into Python dicts to sort and
deduplicate them cost the launcher ~5.9 GB per million candidates, which made decide, not the
cluster, the limit of a 100,000-hour job. The merge here streams Arrow tables in three passes:

1. **ids**: only the ``segment_id`` column of every part -> the sorted unique ids -> a range
   boundary every ``BUCKET_ROWS`` ids (the one corpus-wide structure: the ids themselves);
2. **scatter**: each part's rows are appended to the local bucket file of their id range;
3. **per bucket, in id order**: sort, drop the duplicate ids of retried bundles, give each kept
   row its shard and each ssl row its ``ssl/`` shard (the shard starts that decide's global
   step wrote), and append to the plan in row groups of exactly ``PLAN_ROW_GROUP`` rows.

The file is the same as one sorted, deduplicated table written with that row-group size, however
the runner cut its parts, so two runners' plans stay byte-identical.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

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


def _scatter(parts: list[str], bounds: np.ndarray, schema: pa.Schema, tmp: Path) -> list[Path]:
    """Append each part's rows to the Arrow stream file of their bucket; the files in id order."""
    paths = [tmp / f"bucket-{b:06d}.arrow" for b in range(len(bounds) + 1)]
    writers: dict[int, pa.ipc.RecordBatchStreamWriter] = {}
    try:
        for uri in parts:
            table = _part_table(uri).cast(schema)
            bucket = np.searchsorted(bounds, _ids(table), side="right")
            order = np.argsort(bucket, kind="stable")
            table, bucket = table.take(pa.array(order)), bucket[order]
            cuts = np.flatnonzero(np.diff(bucket)) + 1
            for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(bucket)], strict=True):
                b = int(bucket[lo])
                if b not in writers:
                    writers[b] = pa.ipc.new_stream(str(paths[b]), schema)
                writers[b].write_table(table.slice(lo, hi - lo))
    finally:
        for writer in writers.values():
            writer.close()
    return [p for p in paths if p.exists()]


def _shard_column(ids: np.ndarray, member: np.ndarray, starts: list[str]) -> pa.Array:
    """``filters.shard_plan.shard_of`` for every member row (bisect right, minus one); -1 for
    the others."""
    index = np.searchsorted(np.array(starts, dtype=object), ids, side="right") - 1
    return pa.array(np.where(member, index, -1).astype(np.int32), type=pa.int32())


def _decided(path: Path, starts: list[str], ssl_starts: list[str]) -> pa.Table:
    """One bucket sorted by id, each id once, with its shard indexes."""
    with pa.ipc.open_stream(str(path)) as reader:
        table = reader.read_all()
    table = table.take(pc.sort_indices(table, [("segment_id", "ascending")]))
    ids = _ids(table)
    first = np.ones(len(ids), dtype=bool)
    first[1:] = ids[1:] != ids[:-1]
    if not first.all():
        table, ids = table.filter(pa.array(first)), ids[first]
    keep = table.column("keep").to_numpy(zero_copy_only=False).astype(bool)
    ssl = table.column("ssl").fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
    for name, member, cuts in (("shard_index", keep, starts), ("ssl_index", ssl, ssl_starts)):
        table = table.set_column(table.schema.get_field_index(name), name,
                                 _shard_column(ids, member, cuts))
    return table


def merge_plan(parts: list[str], out_uri: str, schema: pa.Schema, starts: list[str],
               ssl_starts: list[str], row_group: int) -> PlanCounts:
    """Merge decide's plan ``parts`` into ``out_uri`` (atomically); see the module docstring."""
    candidates = kept = ssl = 0
    with tempfile.TemporaryDirectory(prefix="speechcurate-plan-") as tmp, \
            sio.open_atomic(out_uri) as fh, pq.ParquetWriter(fh, schema) as writer:
        pending: list[pa.Table] = []
        held = 0
        for path in _scatter(parts, _boundaries(parts), schema, Path(tmp)):
            table = _decided(path, starts, ssl_starts)
            path.unlink()
            candidates += table.num_rows
            kept += pc.sum(table.column("keep")).as_py() or 0
            ssl += pc.sum(table.column("ssl").fill_null(False)).as_py() or 0
            pending.append(table)
            held += table.num_rows
            if held >= row_group:
                rows = pa.concat_tables(pending).combine_chunks()
                full = held - held % row_group
                writer.write_table(rows.slice(0, full), row_group_size=row_group)
                pending, held = [rows.slice(full)], held - full
        if held or not candidates:
            writer.write_table(pa.concat_tables(pending) if pending else schema.empty_table(),
                               row_group_size=row_group)
    return PlanCounts(candidates, kept, ssl)
