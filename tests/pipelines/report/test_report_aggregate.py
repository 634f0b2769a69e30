"""The report's aggregations against numbers computed directly from the rows that were written."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from pathlib import Path

import polars as pl
import pytest
from report_fixture_run import make_run

from pipelines.report import aggregate as agg
from pipelines.report import runfiles


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    fx = make_run(tmp_path_factory.mktemp("agg") / "run", n_segments=60, n_rejects=42)
    return fx, runfiles.load_run(str(fx.path))


def test_load_run_reads_thin_columns_and_text_lengths(run):
    fx, data = run
    assert data.missing == []
    assert data.segments.height == len(fx.segments)
    assert "text" not in data.segments.columns  # free text is not loaded for aggregation
    lengths = dict(zip(data.rejects["id"], data.rejects["text_chars"], strict=True))
    assert lengths == {r["id"]: len(r["text"]) for r in fx.rejects}


def test_headline_matches_rows(run):
    fx, data = run
    h = agg.headline(data.stats, data.segments, data.rejects, data.shards)
    assert math.isclose(h["hours_kept"], sum(r["duration"] for r in fx.segments) / 3600)
    assert math.isclose(h["hours_dropped"], sum(r["duration"] for r in fx.rejects) / 3600)
    assert h["segments_kept"] == len(fx.segments)
    assert h["rejects"] == len(fx.rejects)
    assert h["languages"] == len({r["language"] for r in fx.segments if r["language"]})
    assert h["sources"] == len({r["source_name"] for r in fx.segments})
    assert h["recordings_kept"] == len({r["recording_id"] for r in fx.segments})
    assert h["shards"] == len(fx.shards["shardlist"])
    assert h["shard_bytes"] == sum((fx.path / "shards" / p["url"].split("/")[-1]).stat().st_size
                                   for p in fx.shards["shardlist"])
    assert h["hours_in"] == fx.stats["input"]["hours"]
    assert h["runner"] == "DirectRunner" and h["versions"]["apache-beam"] == "2.77.0"


def test_headline_tolerates_missing_everything():
    h = agg.headline({}, None, None, {})
    assert h["hours_in"] is None and h["segments_kept"] is None and h["shards"] is None
    assert h["versions"] == {}
    h = agg.headline({"run": "not a mapping", "input": {"hours": "x"}}, None, None,
                     {"shardlist": "bad"})
    assert h["hours_in"] is None and h["runner"] is None


def test_reasons_table_counts_every_reject(run):
    fx, data = run
    table = agg.reasons_table(data.rejects)
    expected = Counter((r["stage"], r["reason"]) for r in fx.rejects)
    got = {(r["stage"], r["reason"]): r["count"] for r in table.iter_rows(named=True)}
    assert got == dict(expected)
    hours = defaultdict(float)
    for r in fx.rejects:
        hours[r["reason"]] += r["duration"] / 3600
    for r in table.iter_rows(named=True):
        assert math.isclose(r["hours"], hours[r["reason"]])
    assert table["count"].to_list() == sorted(table["count"].to_list(), reverse=True)


def test_funnel_orders_stages_and_keeps_stats_volumes(run):
    fx, data = run
    stages = agg.funnel(data.stats, data.rejects)
    names = [s.stage for s in stages]
    assert names[:2] == ["decode", "segment"]  # as recorded in stats.json
    rest = names[2:]
    assert rest == sorted(rest, key=lambda s: agg.STAGE_ORDER[s])  # pipeline order after that
    assert set(names) == {r["stage"] for r in fx.rejects} | {"decode", "segment"}
    decode = stages[0]
    assert decode.in_count == 12 and decode.out_count == 10
    assert math.isclose(decode.in_hours, fx.stats["stages"][0]["in"]["hours"])
    total = sum(c for s in stages for _, c, _ in s.reasons)
    assert total == len(fx.rejects)


def test_funnel_falls_back_to_stats_reasons_without_rejects_manifest(run):
    _, data = run
    stages = agg.funnel(data.stats, None)
    decode = next(s for s in stages if s.stage == "decode")
    recorded = data.stats["stages"][0]["rejected"]
    assert {r: c for r, c, _ in decode.reasons} == {k: v["count"] for k, v in recorded.items()}
    assert agg.funnel({"stages": [None, {"stage": 3}, "x"]}, None) == []


def test_hours_by_language_and_unknown(run):
    fx, data = run
    df = agg.hours_by(data.segments, data.rejects, "language")
    got = {r["language"]: r for r in df.iter_rows(named=True)}
    for lang in {r["language"] for r in fx.segments}:
        key = lang or agg.UNKNOWN
        rows = [r for r in fx.segments if r["language"] == lang]
        drops = [r for r in fx.rejects if r["language"] == lang]
        assert got[key]["kept_segments"] == len(rows)
        assert math.isclose(got[key]["kept_hours"], sum(r["duration"] for r in rows) / 3600)
        assert got[key]["dropped_segments"] == len(drops)


def test_hours_by_folds_the_tail_without_losing_hours(run):
    fx, data = run
    df = agg.hours_by(data.segments, data.rejects, "recording_id", top=3)
    assert df.height == 4 and df["recording_id"][-1] == agg.OTHER
    assert df["kept_segments"].sum() == len(fx.segments)
    assert math.isclose(df["kept_hours"].sum(), sum(r["duration"] for r in fx.segments) / 3600)
    # licence is not a rejects column: dropped figures are zero, not an error
    lic = agg.hours_by(data.segments, data.rejects, "licence")
    assert lic["dropped_segments"].sum() == 0
    assert agg.hours_by(None, None, "language").height == 0


def test_histogram_keeps_every_value_and_shares_bins():
    kept = pl.Series([1.0, 2.0, 3.0, None, float("nan"), 1000.0])
    dropped = pl.Series([0.5, 2.5])
    h = agg.histogram({"kept": kept, "dropped": dropped}, bins=10)
    assert sum(h.counts["kept"]) == 4 and h.n["kept"] == 4 and h.nulls["kept"] == 2
    assert sum(h.counts["dropped"]) == 2
    assert len(h.edges) == 11 and len(h.centers) == 10
    assert h.medians["kept"] == 2.5
    const = agg.histogram({"kept": pl.Series([5.0, 5.0])}, bins=4)
    assert const.edges[0] < 5.0 < const.edges[-1] and sum(const.counts["kept"]) == 2
    assert agg.histogram({"kept": pl.Series([None, None], dtype=pl.Float64)}) is None
    assert agg.histogram({"kept": None}) is None


def test_histogram_clips_outliers_into_end_bins():
    values = pl.Series([float(i) for i in range(1000)] + [1e9])
    h = agg.histogram({"kept": values}, bins=20)
    assert h.edges[-1] < 1e6  # the outlier did not stretch the axis
    assert sum(h.counts["kept"]) == 1001


def test_distributions_say_not_measured_and_derive_dropped_rate(run):
    fx, data = run
    dists = {col: hist for col, _, _, hist in agg.distributions(data.segments, data.rejects)}
    assert dists["dnsmos"] is None  # all null in the fixture
    assert dists["snr_db"].n["kept"] == sum(r["snr_db"] is not None for r in fx.segments)
    assert dists["duration"].n == {"kept": len(fx.segments), "dropped": len(fx.rejects)}
    with_text = [r for r in fx.rejects if r["text"] and r["duration"] > 0]
    assert dists["chars_per_second"].n["dropped"] == len(with_text)
    assert "dropped" not in dists["snr_db"].counts  # rejects carry no SNR


def test_dedup_clusters_count_kept_and_dropped_members(run):
    fx, data = run
    d = agg.dedup(data.segments, data.rejects)
    members: dict[str, int] = Counter(r["dedup_cluster"] for r in fx.segments
                                      if r["dedup_cluster"])
    dups = [r for r in fx.rejects if r["reason"] == "duplicate"]
    for r in dups:
        members[re.search(r"c\d{3}", r["detail"]).group(0)] += 1
    assert d.duplicates_dropped == len(dups) and d.duplicates_without_cluster == 0
    assert dict(d.size_counts) == dict(Counter(members.values()))
    biggest = d.largest[0]
    assert biggest[1] == max(members.values())
    assert len(biggest[2]) + len(biggest[3]) == biggest[1]


def test_dedup_by_member_id_and_without_cluster():
    segs = pl.DataFrame({"segment_id": ["a-00000", "b-00001"], "dedup_cluster": ["k1", ""]})
    rej = pl.DataFrame({"id": ["x", "y"], "reason": ["duplicate", "duplicate"],
                        "detail": ["same text as a-00000", "no idea"]})
    d = agg.dedup(segs, rej)
    assert d.size_counts == ((2, 1),) and d.largest[0][:2] == ("k1", 2)
    assert d.largest[0][3] == ("x",) and d.duplicates_without_cluster == 1
    assert agg.dedup(segs.with_columns(pl.lit("").alias("dedup_cluster")), None) is None


def test_pii_counts_by_type_and_action(run):
    fx, data = run
    df = agg.pii_counts(data.segments, data.rejects)
    got = {(r["type"], r["action"]): r["count"] for r in df.iter_rows(named=True)}
    expected = Counter((s["type"], "redacted") for r in fx.segments for s in r["pii_spans"])
    expected.update(("email", "dropped") for r in fx.rejects if r["reason"] == "pii")
    assert got == dict(expected)


def test_samples_are_seeded_and_bounded(run):
    fx, data = run
    a = agg.sample_ids(data.segments, "segment_id", 10, seed=3)
    assert a == agg.sample_ids(data.segments, "segment_id", 10, seed=3)
    assert a != agg.sample_ids(data.segments, "segment_id", 10, seed=4)
    assert len(a) == 10 and set(a) <= {r["segment_id"] for r in fx.segments}
    assert len(agg.sample_ids(data.segments, "segment_id", 1000, seed=3)) == len(fx.segments)
    per = agg.sample_ids_by(data.rejects, "id", "reason", 2, seed=0)
    assert set(per) == {r["reason"] for r in fx.rejects}
    assert all(len(v) == 2 for v in per.values())


def test_compare_frames_and_table():
    a = pl.DataFrame({"reason": ["x", "y"], "count": [5, 1]})
    b = pl.DataFrame({"reason": ["y", "z"], "count": [4, 2]})
    got = {r["reason"]: (r["a"], r["b"], r["delta"])
           for r in agg.compare_frames(a, b, ["reason"], "count").iter_rows(named=True)}
    assert got == {"x": (5, 0, 5), "y": (1, 4, -3), "z": (0, 2, -2)}
    rows = agg.compare_table({"h": 2.0, "n": None}, {"h": 0.5, "n": 3}, ["h", "n"])
    assert rows == [{"key": "h", "a": 2.0, "b": 0.5, "delta": 1.5},
                    {"key": "n", "a": None, "b": 3.0, "delta": None}]


def test_older_manifests_without_new_columns(tmp_path: Path):
    """A manifest with only a few columns (an older run) still aggregates."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "manifest").mkdir()
    pq.write_table(pa.table({"segment_id": ["a-00000"], "duration": [2.0]}),
                   tmp_path / "manifest" / "segments.parquet")
    data = runfiles.load_run(str(tmp_path))
    assert data.segments.columns == ["segment_id", "duration"]
    assert agg.hours_by(data.segments, data.rejects, "language")["language"].to_list() == []
    assert agg.pii_counts(data.segments, data.rejects).height == 0
    assert agg.dedup(data.segments, data.rejects) is None
    dists = {c: h for c, _, _, h in agg.distributions(data.segments, data.rejects)}
    assert dists["duration"].n == {"kept": 1} and dists["snr_db"] is None
