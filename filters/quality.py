"""The ``quality`` filter: thresholds over measures stored by analyse, and a tier per segment.

Measures are computed once, in analyse (``filters/audio_quality.py``, ``filters/dnsmos.py``);
the label measures (``filters/text_quality.py``) are computed here because the label is chosen in
decide. Each check that fails adds one ``Verdict("quality", ...)`` with its reason code and the
measured ``value``; the first failing check that is not flag-only drops the segment (its reject's
detail lists every failed check). In ``mode: flag`` every failure is recorded as a passed verdict
(a flag) and nothing is dropped, so a user can look at the flags, pick thresholds and replay them
with ``speechcurate refilter`` in seconds. A measure that is missing (DNSMOS not installed, a
clip too short to measure) skips its check: the filter never drops for lack of evidence.

Defaults: DNSMOS OVRL < 3.0 drops (Emilia, He et al. 2024); clipping above 1 % of samples drops
(speech amplified 30x had 41 % clipped); narrowband audio is flagged, not dropped (telephone
speech is still speech). Kept segments get ``quality_tier`` (high/medium/low) from DNSMOS,
blind SNR and label agreement, so a trainer can sample by tier instead of a single cut.
"""

from __future__ import annotations

from dataclasses import replace

from filters.quality_config import QualityConfig
from filters.text_quality import (
    DENSE_SCRIPT_LANGUAGES,
    base_language,
    chars_per_second,
    find_annotations,
    foreign_script_ratio,
    is_symbol_only,
    strip_annotations,
)
from schemas.reasons import Reason, Stage
from schemas.records import Reject, Segment, Verdict

NAME = "quality"


def _audio_checks(seg: Segment, cfg: QualityConfig) -> list[tuple[str, float, str]]:
    """(reason, value, detail) for every audio check the segment fails."""
    out: list[tuple[str, float, str]] = []

    def below(value: float | None, bar: float, reason: str, what: str, unit: str = "") -> None:
        if value is not None and value < bar:
            out.append((reason, value, f"{what} {value:g}{unit} < {bar:g}{unit}"))

    def above(value: float | None, bar: float, reason: str, what: str) -> None:
        if value is not None and value > bar:
            out.append((reason, value, f"{what} {value:g} > {bar:g}"))

    # specific defects first, so a clipped clip is dropped as clipping, not as low DNSMOS
    above(seg.clipping_ratio, cfg.max_clipping_ratio, Reason.CLIPPING, "clipped share")
    above(seg.silence_ratio, cfg.max_silence_ratio, Reason.DIGITAL_SILENCE, "silent frame share")
    if seg.dc_offset is not None:
        above(abs(seg.dc_offset), cfg.max_dc_offset, Reason.DC_OFFSET, "|DC offset|")
    below(seg.loudness_lufs, cfg.min_loudness_lufs, Reason.TOO_QUIET, "loudness", " LUFS")
    below(seg.snr_db, cfg.min_snr_db, Reason.LOW_SNR, "SNR", " dB")
    below(seg.dnsmos, cfg.min_dnsmos_ovrl, Reason.LOW_DNSMOS, "DNSMOS OVRL")
    below(seg.bandwidth_hz, cfg.min_bandwidth_hz, Reason.NARROWBAND, "bandwidth", " Hz")
    below(seg.speech_ratio, cfg.min_speech_ratio, Reason.LOW_SPEECH_RATIO, "speech ratio")
    return out


def audio_failures(seg: Segment, cfg: QualityConfig) -> list[tuple[str, float, str]]:
    """The audio checks ``seg`` fails, as (reason, value, detail): the quality filter's audio
    half alone, for audio whose label is not judged (``filters/ssl_speech.py``)."""
    return _audio_checks(seg, cfg)


def _label_checks(seg: Segment, cfg: QualityConfig) -> tuple[Segment, list[tuple[str, float |
                                                                                  None, str]]]:
    """Label checks; returns the segment (label stripped of annotations, ``chars_per_second``
    filled) and the failures as (reason, value, detail)."""
    out: list[tuple[str, float | None, str]] = []
    text = seg.text or ""
    if not text.strip() or seg.label_source == "none":
        return seg, out
    annotations = find_annotations(text) if cfg.annotations != "keep" else []
    if annotations:
        stripped = strip_annotations(text)
        shown = " ".join(annotations)[:200]
        if cfg.annotations == "drop" or not any(c.isalnum() for c in stripped):
            out.append((Reason.NONSPEECH_ANNOTATION, float(len(annotations)),
                        f"non-speech annotation(s): {shown}"))
        else:
            seg = replace(seg, text=stripped).with_verdict(Verdict(
                NAME, True, Reason.NONSPEECH_ANNOTATION, f"stripped {shown}",
                float(len(annotations))))
            text = stripped
    if cfg.drop_symbol_only and is_symbol_only(text):
        out.append((Reason.SYMBOL_ONLY_LABEL, None, f"label has no letter or digit: {text[:80]!r}"))
    cps = chars_per_second(text, seg.duration)
    seg = replace(seg, chars_per_second=cps)
    # a translation's label is in another language than its audio: judge the label's language
    label_lang = seg.text_language if seg.task == "translate" else seg.language
    lang = base_language(label_lang)
    if cps is not None and seg.duration >= cfg.min_rate_duration_s and cps > 0:
        lo, hi = cfg.rate_bounds(lang, lang in DENSE_SCRIPT_LANGUAGES)
        if not lo <= cps <= hi:
            out.append((Reason.SPEECH_RATE, cps,
                        f"{cps:g} chars/s outside [{lo:g}, {hi:g}] for {lang or '-'}"))
    ratio = foreign_script_ratio(text, label_lang)
    if ratio is not None and ratio > cfg.max_foreign_script_ratio:
        out.append((Reason.FOREIGN_SCRIPT, ratio, f"{ratio:.0%} of letters outside the script of "
                                                  f"{base_language(label_lang)}"))
    return seg, out


def quality_tier(seg: Segment, cfg: QualityConfig) -> str:
    """high / medium / low from DNSMOS OVRL, blind SNR and label agreement (see QualityConfig)."""

    def at_least(value: float | None, bar: float) -> bool:
        return value is None or value >= bar

    def agrees(bar: float, required: bool) -> bool:
        if seg.cer is None:
            return not required
        return seg.cer <= bar

    if (at_least(seg.dnsmos, cfg.tier_high_dnsmos) and at_least(seg.snr_db, cfg.tier_high_snr_db)
            and agrees(cfg.tier_high_max_cer, True)):
        return "high"
    if (at_least(seg.dnsmos, cfg.tier_medium_dnsmos)
            and at_least(seg.snr_db, cfg.tier_medium_snr_db)
            and agrees(cfg.tier_medium_max_cer, False)):
        return "medium"
    return "low"


def decide_quality(seg: Segment, cfg: QualityConfig) -> Segment | Reject:
    """The registry's ``quality`` filter (segment scope)."""
    seg, label_failures = _label_checks(seg, cfg)
    failures = [*_audio_checks(seg, cfg), *label_failures]
    drop: tuple[str, float | None, str] | None = None
    for reason, value, detail in failures:
        flag_only = cfg.mode == "flag" or str(reason) in cfg.flag_checks
        seg = seg.with_verdict(Verdict(NAME, flag_only, str(reason), detail, value))
        if not flag_only and drop is None:
            drop = (reason, value, detail)
    if drop is not None:
        others = [d for _, _, d in failures if d != drop[2]]
        detail = "; ".join([drop[2], *others])
        return Reject.for_segment(seg, Stage.QUALITY, drop[0], detail)
    return replace(seg, quality_tier=quality_tier(seg, cfg))
