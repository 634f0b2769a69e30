"""The launcher's streaming merge of decide's plan parts (pipelines/plan_merge.py): the same plan
as sorting and deduplicating every row in memory, whatever the parts, in full row groups."""

from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from filters.shard_plan import shard_of
from pipelines import plan_merge
from pipelines.stages.dedup import apply_verdict
from schemas.analysis import DEDUP_VERDICT_SCHEMA, PLAN_SCHEMA
from schemas.keys import segment_id_for


def _rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        keep = rng.random() < 0.7
        rows.append({"segment_id": segment_id_for(f"{rng.getrandbits(64):016x}", i % 7),
                     "recording_id": "r", "keep": keep, "ssl": (not keep) and rng.random() < 0.5,
                     "reject_reason": "" if keep else "lid_mismatch", "duration": rng.random(),
                     "shard_index": -1, "ssl_index": -1})
    return rows


def _write_parts(rows: list[dict], cuts: list[int], directory) -> list[str]:
    uris = []
    for k, (lo, hi) in enumerate(zip([0, *cuts], [*cuts, len(rows)], strict=True)):
        uri = str(directory / f"part-{k:03d}.parquet")
        pq.write_table(pa.Table.from_pylist(rows[lo:hi], schema=PLAN_SCHEMA), uri)
        uris.append(uri)
    return uris


@pytest.fixture
def small_buckets(monkeypatch):
    monkeypatch.setattr(plan_merge, "BUCKET_ROWS", 37)  # many buckets from a few hundred rows


def test_merge_equals_the_in_memory_plan_whatever_the_parts(tmp_path, small_buckets):
    rows = _rows(400, seed=1)
    retried = rows[100:160]  # a retried bundle wrote these rows again, in another part
    kept_ids = sorted(r["segment_id"] for r in rows if r["keep"])
    ssl_ids = sorted(r["segment_id"] for r in rows if r["ssl"])
    starts, ssl_starts = kept_ids[::50], ssl_ids[::20]

    outs = []
    for trial, order_seed in enumerate((2, 3)):
        shuffled = [*rows, *retried]
        random.Random(order_seed).shuffle(shuffled)
        where = tmp_path / f"parts{trial}"
        where.mkdir()
        cuts = sorted(random.Random(order_seed).sample(range(1, len(shuffled)), 9))
        out = str(tmp_path / f"plan{trial}.parquet")
        counts = plan_merge.merge_plan(_write_parts(shuffled, cuts, where), out, PLAN_SCHEMA,
                                       starts, ssl_starts, row_group=64)
        assert counts == plan_merge.PlanCounts(len(rows), len(kept_ids), len(ssl_ids))
        outs.append(out)

    merged = pq.read_table(outs[0]).to_pylist()
    assert [r["segment_id"] for r in merged] == sorted(r["segment_id"] for r in rows)
    for row in merged:
        assert row["shard_index"] == (shard_of(row["segment_id"], starts) if row["keep"] else -1)
        assert row["ssl_index"] == (shard_of(row["segment_id"], ssl_starts) if row["ssl"] else -1)
    meta = pq.ParquetFile(outs[0]).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sizes[:-1] == [64] * (len(sizes) - 1) and 0 < sizes[-1] <= 64
    with open(outs[0], "rb") as a, open(outs[1], "rb") as b:
        assert a.read() == b.read()  # the same file however the runner cut its parts


def test_merge_of_no_parts_writes_an_empty_plan(tmp_path):
    out = str(tmp_path / "plan.parquet")
    assert plan_merge.merge_plan([], out, PLAN_SCHEMA, [], [], 64) == plan_merge.PlanCounts(0, 0, 0)
    table = pq.read_table(out)
    assert table.num_rows == 0 and table.schema.names == PLAN_SCHEMA.names


def test_dedup_verdicts_are_applied_before_the_shards(tmp_path, small_buckets):
    rows = [r for r in _rows(200, seed=4) if r["keep"]]
    ids = sorted(r["segment_id"] for r in rows)
    dropped, clustered = ids[5::40], ids[6::40]  # duplicates, and their clusters' representatives
    verdicts = [{"segment_id": s, "keep": False, "reason": "dup_audio", "cluster": f"a-{s}",
                 "detail": "copy"} for s in dropped]
    verdicts += [{"segment_id": s, "keep": True, "reason": "", "cluster": f"a-{s}",
                  "detail": ""} for s in clustered]
    (tmp_path / "v").mkdir()
    vpart = str(tmp_path / "v" / "part.parquet")
    pq.write_table(pa.Table.from_pylist([*verdicts, verdicts[0]],  # a retried verdict bundle
                                        schema=DEDUP_VERDICT_SCHEMA), vpart)
    (tmp_path / "p").mkdir()
    starts = [ids[0]]
    for mode in ("drop", "flag"):
        out = str(tmp_path / f"plan-{mode}.parquet")
        counts = plan_merge.merge_plan(_write_parts(rows, [50, 120], tmp_path / "p"), out,
                                       PLAN_SCHEMA, starts, [], 64, [vpart],
                                       lambda row, v, m=mode: apply_verdict(row, v, m))
        merged = {r["segment_id"]: r for r in pq.read_table(out).to_pylist()}
        assert counts.kept == len(rows) - (len(dropped) if mode == "drop" else 0)
        for sid in dropped:
            row = merged[sid]
            assert row["dedup_cluster"] == f"a-{sid}"
            assert row["verdicts"][-1]["filter"] == "dedup"
            assert row["verdicts"][-1]["passed"] == (mode == "flag")
            assert row["keep"] == (mode == "flag")
            assert row["shard_index"] == (0 if mode == "flag" else -1)
        assert all(merged[s]["keep"] and merged[s]["dedup_cluster"] == f"a-{s}"
                   for s in clustered)
        for p in (tmp_path / "p").iterdir():
            p.unlink()
