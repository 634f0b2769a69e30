"""Decide reads a recording's rows from the one pack that owns it, grouped there (no shuffle),
and writes its plan rows in parts of bounded size: rows of a recording another pack owns are
ignored, a recording without candidates yields nothing, candidates whose recording row is not a
decoded one come with no recording row (as a CoGroupByKey would give them), and every plan row
reaches a part."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines import analysis_store as store
from pipelines.decide import _pack_recordings
from pipelines.stages import rows as rows_mod
from pipelines.stages.rows import WriteRows, read_rows
from schemas.analysis import ANALYSIS_RECORDING_SCHEMA, ANALYSIS_SEGMENT_SCHEMA


def _write(analysis, pack, segments, recordings):
    for table, rows, schema in (("segments", segments, ANALYSIS_SEGMENT_SCHEMA),
                                ("recordings", recordings, ANALYSIS_RECORDING_SCHEMA)):
        (analysis / table).mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=schema),
                       analysis / table / f"{pack}.parquet")


def _seg(rid, index):
    return {"segment_id": f"{rid}-{index}", "recording_id": rid, "index": index}


def _rec(rid, status="decoded", n=2):
    return {"recording_id": rid, "status": status, "n_segments": n}


def test_a_recordings_rows_are_grouped_in_the_pack_that_owns_it(tmp_path):
    analysis = tmp_path / "analysis"
    _write(analysis, "pack-a", [_seg("r1", 1), _seg("r2", 0), _seg("r1", 0)],
           [_rec("r1"), _rec("r3", n=0)])
    _write(analysis, "pack-b", [_seg("r2", 0), _seg("r2", 1)], [_rec("r2", status="rejected")])
    owner = store.owners(str(analysis))
    assert owner == {"r1": "pack-a", "r3": "pack-a", "r2": "pack-b"}

    [(rid, groups)] = list(_pack_recordings("pack-a", str(analysis), owner))
    assert rid == "r1"
    assert sorted(r["segment_id"] for r in groups["segments"]) == ["r1-0", "r1-1"]
    assert [r["recording_id"] for r in groups["recording"]] == ["r1"]

    [(rid, groups)] = list(_pack_recordings("pack-b", str(analysis), owner))
    assert rid == "r2" and len(groups["segments"]) == 2 and groups["recording"] == []


def test_write_rows_writes_a_part_every_flush_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(rows_mod, "FLUSH_ROWS", 2)
    schema = pa.schema([("segment_id", pa.string())])
    writer = WriteRows(str(tmp_path / "parts"), schema)
    writer.start_bundle()
    for i in range(5):
        writer.process({"segment_id": f"s{i}"})
    assert len(list((tmp_path / "parts").glob("*.parquet"))) == 2  # written before the bundle ends
    writer.finish_bundle()
    assert len(list((tmp_path / "parts").glob("*.parquet"))) == 3
    assert sorted(r["segment_id"] for r in read_rows(str(tmp_path / "parts"))) == [
        f"s{i}" for i in range(5)]
