"""Issue 11 on a real run (the session's curated run, quality filter in flag mode): every kept
segment is tiered, flagged failures are recorded but drop nothing, and stats.json and the report
carry the per-source quality block."""

from __future__ import annotations

import json

import polars as pl


def test_flag_mode_tiers_records_and_reports_per_source_quality(curated_run):
    stats = json.loads((curated_run / "stats.json").read_text())
    segments = pl.read_parquet(curated_run / "manifest/segments.parquet")
    assert segments.height > 0
    assert set(segments["quality_tier"]) <= {"high", "medium", "low"}
    for measure in ("snr_db", "dnsmos", "bandwidth_hz", "speech_ratio", "chars_per_second"):
        assert segments[measure].null_count() == 0, measure

    # espeak-ng voices score DNSMOS OVRL ~2.9: under the 3.0 cut, flagged on a passed verdict
    below = [r for r in segments.iter_rows(named=True) if r["dnsmos"] < 3.0]
    assert below, "no segment under the DNSMOS cut: the flag path was not exercised"
    for row in below:
        verdict = next(v for v in row["verdicts"] if v["filter"] == "quality")
        assert verdict["passed"] and verdict["reason"] == "low_dnsmos", verdict
    quality_reasons = {"low_dnsmos", "low_snr", "clipping", "dc_offset", "digital_silence",
                       "too_quiet", "narrowband", "low_speech_ratio", "speech_rate"}
    rejects = pl.read_parquet(curated_run / "manifest/rejects.parquet")
    assert not quality_reasons & set(rejects["reason"]), "flag mode dropped for quality"

    source = stats["sources_quality"]["files"]
    assert source["hours_in"] >= source["hours_kept"] > 0
    assert source["segments_kept"] == segments.height
    assert abs(sum(source["tiers"].values()) - 1.0) < 1e-6
    assert source["mean_snr_db"] is not None and source["mean_dnsmos"] is not None
    html = (curated_run / "report/index.html").read_text(encoding="utf-8")
    assert "Quality by source" in html
