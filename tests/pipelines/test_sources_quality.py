"""stats.json's per-source quality block."""

from __future__ import annotations

from pipelines.manifests import sources_quality


def test_sources_quality_sums_hours_reasons_means_and_shares():
    recordings = [{"source_name": "a", "duration": 100.0}, {"source_name": "b", "duration": 10.0}]
    segments = [
        {"source_name": "a", "duration": 30.0, "dnsmos": 3.5, "snr_db": 20.0,
         "quality_tier": "high", "label_source": "source"},
        {"source_name": "a", "duration": 10.0, "dnsmos": 3.1, "snr_db": None,
         "quality_tier": "medium", "label_source": "pseudo"},
    ]
    rejects = [{"source_name": "a", "reason": "low_dnsmos", "duration": 20.0},
               {"source_name": "b", "reason": "clipping", "duration": 10.0}]
    q = sources_quality(recordings, segments, rejects)
    a = q["a"]
    assert a["hours_in"] == round(100 / 3600, 6) and a["hours_kept"] == round(40 / 3600, 6)
    assert a["kept_share"] == 0.4 and a["segments_kept"] == 2
    assert a["dropped"] == {"low_dnsmos": {"count": 1, "hours": round(20 / 3600, 6)}}
    assert a["mean_dnsmos"] == 3.3 and a["mean_snr_db"] == 20.0
    assert a["tiers"] == {"high": 0.75, "medium": 0.25}
    assert a["label_sources"] == {"pseudo": 0.25, "source": 0.75}
    assert q["b"]["hours_kept"] == 0 and q["b"]["mean_dnsmos"] is None and q["b"]["tiers"] == {}
