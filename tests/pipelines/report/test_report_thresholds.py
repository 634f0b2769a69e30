"""The threshold lines a run records come from its own config, and only for active cuts."""

from __future__ import annotations

from pipelines.config import parse_config
from pipelines.report.thresholds import threshold_lines


def lines(quality: dict, labels: dict | None = None) -> dict:
    doc = {"sources": [{"name": "a", "type": "local", "path": "."}],
           "curate": {"quality": quality, "labels": labels or {}}}
    return threshold_lines(parse_config(doc).curate)


def test_the_applied_cuts_become_lines_named_for_what_they_do():
    got = lines({"min_dnsmos_ovrl": 2.5, "min_snr_db": 5}, {"max_cer": 0.3})
    assert got["dnsmos"] == [(2.5, "drops below 2.5")]
    assert got["snr_db"] == [(5.0, "drops below 5")]
    assert got["cer"] == [(0.3, "source text used up to 0.3")]
    assert [v for v, _ in got["chars_per_second"]] == [2.0, 25.0]
    assert "loudness_lufs" not in got  # -70 LUFS is BS.1770's gate, not a cut


def test_flag_mode_says_flags_and_off_or_disabled_cuts_draw_nothing():
    assert lines({"mode": "flag"})["dnsmos"] == [(3.0, "flags below 3")]
    off = lines({"mode": "off"})
    assert set(off) == {"cer"}
    assert "snr_db" not in lines({"min_snr_db": -100})
