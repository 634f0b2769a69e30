"""The quality filter: label measures, reasons with values, flag mode, tiers and its config."""

from __future__ import annotations

from dataclasses import replace

import pytest

from filters.quality import decide_quality, quality_tier
from filters.quality_config import QualityConfig
from filters.registry import REGISTRY, apply_filters, funnel_stages
from filters.text_quality import (
    chars_per_second,
    find_annotations,
    foreign_script_ratio,
    is_symbol_only,
    strip_annotations,
)
from pipelines.config import ConfigError, CurateConfig, parse_config
from schemas.records import Recording, Reject, Segment

CLEAN = dict(dnsmos=3.6, dnsmos_sig=3.9, dnsmos_bak=4.1, snr_db=30.0, clipping_ratio=0.0,
             dc_offset=0.0, silence_ratio=0.0, loudness_lufs=-23.0, bandwidth_hz=8000.0,
             peak_dbfs=-3.0, speech_ratio=0.9)


def seg(text: str = "the quick brown fox jumps over the lazy dog", duration: float = 3.0,
        language: str = "en", **kw) -> Segment:
    fields = {**CLEAN, **kw}
    return Segment("r-00000", "r", 0, "file:///x.wav", 0.0, duration, text=text,
                   label_source="source", language=language, source_text=text, **fields)


def test_text_measures():
    assert chars_per_second("ab cd", 2.0) == 2.0
    assert chars_per_second("", 2.0) is None
    assert is_symbol_only("... ♪ -") and not is_symbol_only("a.") and not is_symbol_only("")
    assert find_annotations("[Music] hello (applause) (the Senate) ♪") == [
        "[Music]", "(applause)", "♪"]
    assert strip_annotations("[music] hello  there (laughs)") == "hello there"
    assert foreign_script_ratio("hello мир", "en") == pytest.approx(3 / 8)
    assert foreign_script_ratio("客観的実在の判断カー", "ja") == 0.0
    assert foreign_script_ratio("hello", "xx") is None


def test_clean_segment_passes_with_a_tier_and_a_rate():
    out = decide_quality(replace(seg(), cer=0.02), QualityConfig())
    assert isinstance(out, Segment)
    assert out.quality_tier == "high"
    assert out.chars_per_second == pytest.approx(35 / 3, abs=0.01)
    assert out.verdicts == ()


@pytest.mark.parametrize("kw, reason, value", [
    (dict(dnsmos=2.5), "low_dnsmos", 2.5),
    (dict(snr_db=-3.0), "low_snr", -3.0),
    (dict(clipping_ratio=0.41), "clipping", 0.41),
    (dict(dc_offset=-0.3), "dc_offset", 0.3),
    (dict(silence_ratio=0.95), "digital_silence", 0.95),
    (dict(loudness_lufs=-80.0), "too_quiet", -80.0),
    (dict(text="...!"), "symbol_only_label", None),
    (dict(text="[music]"), "nonspeech_annotation", 1.0),
    (dict(text="a", duration=10.0), "speech_rate", 0.1),
    (dict(text="x" * 200, duration=3.0), "speech_rate", pytest.approx(66.667)),
    (dict(text="привет как дела у тебя"), "foreign_script", 1.0),
])
def test_each_check_drops_with_its_reason_and_value(kw, reason, value):
    out = decide_quality(seg(**kw), QualityConfig())
    assert isinstance(out, Reject) and out.reason == reason and out.stage == "quality"
    flagged = decide_quality(seg(**kw), QualityConfig(mode="flag"))
    assert isinstance(flagged, Segment)
    (verdict,) = [v for v in flagged.verdicts if v.reason == reason]
    assert verdict.passed and verdict.filter == "quality" and verdict.value == value


def test_flag_mode_drops_nothing_and_records_every_failure():
    bad = seg(dnsmos=1.2, snr_db=-5.0, clipping_ratio=0.4, bandwidth_hz=3900.0)
    out = decide_quality(bad, QualityConfig(mode="flag"))
    assert isinstance(out, Segment) and out.quality_tier == "low"
    assert {v.reason for v in out.verdicts} == {"low_dnsmos", "low_snr", "clipping", "narrowband"}
    assert all(v.passed for v in out.verdicts)
    kept, rejects = apply_filters(Recording("r", "file:///x.wav", ""), [bad],
                                  CurateConfig(quality=QualityConfig(mode="flag")),
                                  [f for f in REGISTRY if f.name == "quality"])
    assert len(kept) == 1 and rejects == []


def test_narrowband_is_a_flag_by_default_and_a_drop_on_request():
    out = decide_quality(seg(bandwidth_hz=3900.0), QualityConfig())
    assert isinstance(out, Segment)
    assert [(v.reason, v.passed, v.value) for v in out.verdicts] == [("narrowband", True, 3900.0)]
    dropped = decide_quality(seg(bandwidth_hz=3900.0), QualityConfig(flag_checks=()))
    assert isinstance(dropped, Reject) and dropped.reason == "narrowband"


def test_missing_measures_never_drop():
    out = decide_quality(seg(dnsmos=None, snr_db=None, clipping_ratio=None, dc_offset=None,
                             silence_ratio=None, loudness_lufs=None, bandwidth_hz=None,
                             speech_ratio=None), QualityConfig())
    assert isinstance(out, Segment)


def test_annotations_are_stripped_dropped_or_kept():
    s = seg(text="[Music] the quick brown fox jumps ♪")
    stripped = decide_quality(s, QualityConfig())
    assert stripped.text == "the quick brown fox jumps"
    assert stripped.verdicts[0].reason == "nonspeech_annotation" and stripped.verdicts[0].passed
    assert decide_quality(s, QualityConfig(annotations="drop")).reason == "nonspeech_annotation"
    assert decide_quality(s, QualityConfig(annotations="keep")).text == s.text


def test_rate_bounds_depend_on_the_language():
    ja = seg(text="客観的実在の判断的知識が成立するのである", duration=5.4, language="ja")
    assert isinstance(decide_quality(ja, QualityConfig()), Segment)  # 3.7 chars/s is fine in ja
    en = seg(text="abcdefghijklmnopqrst", duration=5.4)  # ... and fine in en
    assert isinstance(decide_quality(en, QualityConfig()), Segment)
    strict = QualityConfig(chars_per_second_bounds=("en:5:20",))
    assert decide_quality(en, strict).reason == "speech_rate"


def test_tiers():
    cfg = QualityConfig()
    assert quality_tier(seg(cer=0.05), cfg) == "high"
    assert quality_tier(seg(cer=None), cfg) == "medium"  # no second opinion on the label
    assert quality_tier(seg(cer=0.05, dnsmos=3.2), cfg) == "medium"
    assert quality_tier(seg(cer=0.5), cfg) == "low"
    assert quality_tier(seg(cer=0.05, snr_db=5.0), cfg) == "low"
    assert quality_tier(seg(cer=0.05, dnsmos=None), cfg) == "high"  # missing is not evidence


def test_registry_runs_quality_after_the_label_filters_and_off_removes_it():
    names = [f.name for f in REGISTRY]
    # quality judges the chosen label (speech rate, script), so the label policy must run first
    assert names.index("quality") > max(names.index("label"), names.index("label_recording"))
    assert "quality" in funnel_stages(REGISTRY, CurateConfig())
    off = CurateConfig(quality=QualityConfig(mode="off"))
    assert "quality" not in funnel_stages(REGISTRY, off)


@pytest.mark.parametrize("section, field", [
    ({"mode": "maybe"}, "curate.quality.mode"),
    ({"flag_checks": ["clipping", "nope"]}, "curate.quality.flag_checks[1]"),
    ({"min_dnsmos_ovrl": 6}, "curate.quality.min_dnsmos_ovrl"),
    ({"max_clipping_ratio": 1.5}, "curate.quality.max_clipping_ratio"),
    ({"chars_per_second_bounds": ["en:9:3"]}, "curate.quality.chars_per_second_bounds[0]"),
    ({"annotations": "remove"}, "curate.quality.annotations"),
    ({"tier_high_dnsmos": 2.0}, "curate.quality.tier_high_dnsmos"),
    ({"min_snr_db": float("nan")}, "curate.quality.min_snr_db"),
])
def test_config_errors_name_the_field(section, field):
    with pytest.raises(ConfigError, match=rf"^{field.replace('[', '.').replace(']', '.')}"):
        parse_config({"sources": [{"type": "local", "path": "/tmp"}],
                      "curate": {"quality": section}})


def test_config_reads_from_yaml():
    cfg = parse_config({"sources": [{"type": "local", "path": "/tmp"}],
                        "curate": {"quality": {"mode": "flag", "min_dnsmos_ovrl": 3.2,
                                               "flag_checks": ["clipping"]}}})
    assert cfg.curate.quality == QualityConfig(mode="flag", min_dnsmos_ovrl=3.2,
                                               flag_checks=("clipping",))
