"""The thresholds a run's decide phase applied, per report measure, for the distributions' lines.

Written into ``stats.json`` (``thresholds``) when a run finishes, so the report (and a refilter
compared with its source run) draws the cut that was really used, not today's defaults.
"""

from __future__ import annotations

from typing import Any

Line = tuple[float, str]  # (value, label)


def threshold_lines(curate: Any) -> dict[str, list[Line]]:
    """``{measure column: [(value, label), ...]}`` from a ``CurateConfig``.

    Quality cuts appear only when the quality filter runs (``mode`` drop or flag), and only where
    a cut is active (a disabled cut, e.g. ``min_snr_db: -100``, draws no line)."""
    lines: dict[str, list[Line]] = {}
    q = getattr(curate, "quality", None)
    if q is not None and q.mode != "off":
        verb = "flags below" if q.mode == "flag" else "drops below"
        lines["dnsmos"] = [(q.min_dnsmos_ovrl, f"{verb} {q.min_dnsmos_ovrl:g}")]
        if q.min_snr_db > -100:
            lines["snr_db"] = [(q.min_snr_db, f"{verb} {q.min_snr_db:g}")]
        if q.min_loudness_lufs > -70 + 1e-9:
            lines["loudness_lufs"] = [(q.min_loudness_lufs, f"{verb} {q.min_loudness_lufs:g}")]
        lines["chars_per_second"] = [
            (q.min_chars_per_second, f"min {q.min_chars_per_second:g}"),
            (q.max_chars_per_second, f"max {q.max_chars_per_second:g}")]
    labels = getattr(curate, "labels", None)
    if labels is not None:
        lines["cer"] = [(labels.max_cer, f"source text used up to {labels.max_cer:g}")]
    return {k: [(float(v), label) for v, label in vs] for k, vs in lines.items()}
