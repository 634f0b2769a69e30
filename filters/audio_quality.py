"""Cheap per-segment audio measures: clipping, loudness (ITU-R BS.1770 via pyloudnorm) and a
blind SNR estimate. They are recorded on every segment so filters and the report can use them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from schemas.records import SAMPLE_RATE

FRAME = 400  # 25 ms


@dataclass(frozen=True)
class AudioMeasures:
    clipping_ratio: float
    loudness_lufs: float | None
    snr_db: float | None


def clipping_ratio(samples: np.ndarray, threshold: float = 0.999) -> float:
    return float(np.mean(np.abs(samples) >= threshold)) if len(samples) else 0.0


def loudness_lufs(samples: np.ndarray) -> float | None:
    """Integrated loudness; None for clips shorter than one 400 ms gating block or silence."""
    import pyloudnorm

    if len(samples) < int(0.4 * SAMPLE_RATE) + 1:
        return None
    value = pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(samples.astype(np.float64))
    return round(float(value), 2) if math.isfinite(value) else None


def snr_estimate_db(samples: np.ndarray) -> float | None:
    """Blind SNR: loud frames (speech) against quiet frames (the noise floor), in dB.

    Compares the 90th and 10th percentiles of 25 ms frame energies; a segment that is all speech
    or all noise gives a low value, which is what a quality filter wants to see.
    """
    n = len(samples) // FRAME
    if n < 10:
        return None
    energy = np.mean(samples[: n * FRAME].reshape(n, FRAME).astype(np.float64) ** 2, axis=1)
    noise = float(np.percentile(energy, 10)) + 1e-10
    signal = float(np.percentile(energy, 90)) + 1e-10
    return round(10.0 * math.log10(signal / noise), 2)


def measure(samples: np.ndarray) -> AudioMeasures:
    return AudioMeasures(clipping_ratio(samples), loudness_lufs(samples), snr_estimate_db(samples))
