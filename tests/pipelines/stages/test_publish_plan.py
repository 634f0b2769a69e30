"""Publish reads each shard's plan rows on the worker, from RUN/plan/segments.parquet, by the
shard starts decide kept: every kept row reaches exactly its shard, across row-group
boundaries, and the rows equal the plan's."""

from __future__ import annotations

from filters.shard_plan import shard_of
from pipelines.manifests import write_parquet
from pipelines.stages.publish import ReadShardPlan, shard_ranges
from schemas.analysis import PLAN_SCHEMA


def test_each_shard_reads_exactly_its_rows_across_row_groups(tmp_path):
    ids = [f"rec{r:03d}-{i:05d}" for r in range(7) for i in range(13)]
    keep = {sid: (n % 5 != 0) for n, sid in enumerate(ids)}
    kept = [sid for sid in ids if keep[sid]]
    starts = kept[::9]  # shards of 9 kept rows (the last shorter)
    ssl_starts = [ids[3], ids[50]]
    rows = [{"segment_id": sid, "keep": keep[sid], "duration": n / 10,
             "shard_index": shard_of(sid, starts) if keep[sid] else -1,
             "ssl_index": shard_of(sid, ssl_starts) if n % 5 == 0 and n >= 3 else -1}
            for n, sid in enumerate(ids)]
    plan = str(tmp_path / "segments.parquet")
    write_parquet(plan, rows, PLAN_SCHEMA, row_group_size=10)  # shards span row groups
    expected = [{k: r.get(k) for k in PLAN_SCHEMA.names} for r in rows]
    for column, shard_starts in (("shard_index", starts), ("ssl_index", ssl_starts)):
        reader = ReadShardPlan(plan, column)
        seen = []
        for element in shard_ranges(shard_starts):
            [(index, got)] = list(reader.process(element))
            assert index == element[0]
            assert got == [r for r in expected if r[column] == index], (column, index)
            seen += [r["segment_id"] for r in got]
        assert seen == [r["segment_id"] for r in rows if r[column] >= 0], column
    assert len(shard_ranges(starts)) == len(starts) > 5
