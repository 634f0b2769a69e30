"""Thresholds of the quality filter and its tiers (``curate.quality``), one frozen dataclass.

Pure (no pipelines import): ``validate`` raises ``ValueError`` naming the field and the run config
machinery wraps it into a ``ConfigError``. Every field is a decide-time threshold over measures
stored by analyse, so ``speechcurate refilter`` retunes all of them without touching audio.
A threshold of 0 (or the documented neutral value) disables its check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from filters.config_checks import checker, need_finite_floats

MODES = ("drop", "flag", "off")
ANNOTATION_ACTIONS = ("strip", "drop", "keep")
# Check names, as used in ``flag_checks`` and as the verdicts' reason codes.
CHECKS = ("low_dnsmos", "low_snr", "clipping", "dc_offset", "digital_silence", "too_quiet",
          "narrowband", "low_speech_ratio", "speech_rate", "symbol_only_label",
          "nonspeech_annotation", "foreign_script")
_BOUND = re.compile(r"^([a-z]{2,3}):([0-9.]+):([0-9.]+)$")


@dataclass(frozen=True)
class QualityConfig:
    """Audio and label quality checks and tier thresholds, applied in decide."""

    # --- how the filter acts
    mode: str = "drop"  # drop: failing checks drop | flag: record each as a passed verdict, drop
    #                     nothing (threshold tuning) | off: the filter does not run (no tiers)
    flag_checks: tuple[str, ...] = ("narrowband",)  # checks that only flag, even in drop mode
    # --- audio (measured in analyse)
    min_dnsmos_ovrl: float = 3.0  # DNSMOS P.835 OVRL (1..5) below this: low_dnsmos (Emilia's cut)
    min_snr_db: float = 0.0  # blind SNR (dB, filters/audio_quality.py) below this: low_snr (-100
    #                          disables); noise alone measures -20, clean read speech ~10-45
    max_clipping_ratio: float = 0.01  # share of clipped samples above this: clipping (1 disables)
    max_dc_offset: float = 0.1  # |mean sample| above this: dc_offset (1 disables)
    max_silence_ratio: float = 0.8  # share of digitally silent 25 ms frames above: digital_silence
    min_loudness_lufs: float = -70.0  # integrated loudness below this: too_quiet (-70 = BS.1770's
    #                                   absolute gate: only near-silence; quiet clean speech stays)
    min_bandwidth_hz: float = 4500.0  # effective bandwidth below this: narrowband (8 kHz
    #                                   telephone audio measures ~3.8-4 kHz; 0 disables)
    min_speech_ratio: float = 0.0  # VAD speech share of the segment below this: low_speech_ratio
    # --- label (measured in decide, on the chosen label)
    min_chars_per_second: float = 2.0  # letters+digits per second below this: speech_rate ...
    max_chars_per_second: float = 25.0  # ... or above this (spaced scripts: Latin, Cyrillic, ...)
    dense_min_chars_per_second: float = 0.8  # the same bounds for languages written without
    dense_max_chars_per_second: float = 12.0  # spaces (zh, ja, ko, th, ...): denser characters
    chars_per_second_bounds: tuple[str, ...] = ()  # per-language overrides, "lang:min:max"
    min_rate_duration_s: float = 2.0  # the rate is only judged on segments at least this long
    drop_symbol_only: bool = True  # a label without letters or digits: symbol_only_label
    annotations: str = "strip"  # [music], (applause), ♪: strip from the label (a flag), drop the
    #                             segment (nonspeech_annotation), or keep; a label that is only
    #                             annotations is dropped as nonspeech_annotation unless "keep"
    max_foreign_script_ratio: float = 0.5  # share of letters outside the language's script above
    #                                        this: foreign_script (1 disables)
    # --- tiers of kept segments (quality_tier): high if all high bars are met, else medium if
    #     all medium bars are met, else low. A missing audio measure does not count against a
    #     segment; label agreement (CER source vs pseudo-label) must be known for high.
    tier_high_dnsmos: float = 3.5  # DNSMOS OVRL at least this for high
    tier_high_snr_db: float = 25.0  # blind SNR at least this for high
    tier_high_max_cer: float = 0.1  # source text vs pseudo-label CER at most this for high
    tier_medium_dnsmos: float = 3.0  # DNSMOS OVRL at least this for medium
    tier_medium_snr_db: float = 10.0  # blind SNR at least this for medium
    tier_medium_max_cer: float = 0.3  # CER at most this (or unknown) for medium

    def rate_bounds(self, language: str, dense: bool) -> tuple[float, float]:
        base = re.split(r"[-_]", language or "", maxsplit=1)[0].lower()
        for entry in self.chars_per_second_bounds:
            m = _BOUND.match(entry)
            if m and m.group(1) == base:
                return float(m.group(2)), float(m.group(3))
        if dense:
            return self.dense_min_chars_per_second, self.dense_max_chars_per_second
        return self.min_chars_per_second, self.max_chars_per_second

    def validate(self, where: str) -> None:
        """Raise ValueError naming ``where.field`` for the first out-of-range value."""
        need = checker(where)
        need_finite_floats(self, need)
        need(self.mode in MODES, "mode", f"must be one of {', '.join(MODES)}; got {self.mode!r}")
        for i, name in enumerate(self.flag_checks):
            need(name in CHECKS, f"flag_checks[{i}]",
                 f"unknown check {name!r}; expected one of: {', '.join(CHECKS)}")
        need(self.annotations in ANNOTATION_ACTIONS, "annotations",
             f"must be one of {', '.join(ANNOTATION_ACTIONS)}; got {self.annotations!r}")
        for name in ("min_dnsmos_ovrl", "tier_high_dnsmos", "tier_medium_dnsmos"):
            need(0.0 <= getattr(self, name) <= 5.0, name, "must be in [0, 5] (a MOS)")
        for name in ("max_clipping_ratio", "max_dc_offset", "max_silence_ratio",
                     "min_speech_ratio", "max_foreign_script_ratio"):
            need(0.0 <= getattr(self, name) <= 1.0, name, f"must be in [0, 1], got "
                 f"{getattr(self, name)!r}")
        for name, lo, hi in (("min_snr_db", -100, 100), ("tier_high_snr_db", -100, 100),
                             ("tier_medium_snr_db", -100, 100), ("min_loudness_lufs", -100, 0),
                             ("min_bandwidth_hz", 0, 8000), ("min_chars_per_second", 0, 100),
                             ("max_chars_per_second", 0, 100),
                             ("dense_min_chars_per_second", 0, 100),
                             ("dense_max_chars_per_second", 0, 100),
                             ("min_rate_duration_s", 0, 30), ("tier_high_max_cer", 0, 100),
                             ("tier_medium_max_cer", 0, 100)):
            value = getattr(self, name)
            need(lo <= value <= hi, name, f"must be in [{lo}, {hi}], got {value!r}")
        need(self.max_chars_per_second >= self.min_chars_per_second, "max_chars_per_second",
             "must be >= min_chars_per_second")
        need(self.dense_max_chars_per_second >= self.dense_min_chars_per_second,
             "dense_max_chars_per_second", "must be >= dense_min_chars_per_second")
        for i, entry in enumerate(self.chars_per_second_bounds):
            m = _BOUND.match(entry)
            need(m is not None and float(m.group(2)) <= float(m.group(3)),
                 f"chars_per_second_bounds[{i}]",
                 f"must be 'lang:min:max' with min <= max, e.g. 'zh:1:10'; got {entry!r}")
        need(self.tier_high_dnsmos >= self.tier_medium_dnsmos, "tier_high_dnsmos",
             "must be >= tier_medium_dnsmos")
        need(self.tier_high_snr_db >= self.tier_medium_snr_db, "tier_high_snr_db",
             "must be >= tier_medium_snr_db")
        need(self.tier_high_max_cer <= self.tier_medium_max_cer, "tier_high_max_cer",
             "must be <= tier_medium_max_cer")
