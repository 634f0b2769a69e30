"""Cheap per-segment audio measures, computed once in analyse and stored on the thin row.

Every function here is a pure function of 16 kHz mono float32 samples; thresholds live in
``filters/quality.py`` (decide), so ``speechcurate refilter`` retunes them without audio.

* **Clipping** (``clipping_ratio``): the share of samples sitting on a plateau at the clip's own
  peak (or at full scale). Clean speech touches its peak a handful of times; speech amplified
  past full scale, or clipped and then scaled down, sits there for percent of its samples. Runs
  of at least two equal-peak samples are counted, so a peak-normalised clean file scores ~0.
* **Blind SNR** (``blind_snr_db``, stored as ``snr_db``): quantile-based noise estimation (Stahl,
  Fischer & Bippus, "Quantile based noise estimation for spectral subtraction and Wiener
  filtering", ICASSP 2000), the offline form of minimum-statistics noise tracking (Martin 2001).
  In 16 log-spaced bands of a 32 ms STFT, speech is absent from a band in a good share of frames
  (pauses, and the gaps between formants), so a low quantile (30 %) of each band's power over the
  clip follows the noise. Each band's quantile is scaled to the noise's mean by a factor measured
  once on Gaussian noise (``_snr_calibration``); the noise power is the sum over bands, speech
  power is the clip's mean power minus it, and the SNR is their ratio over the whole segment
  (pauses included: the definition of a mixing SNR). It replaced WADA-SNR (Kim & Stern 2008,
  ``wada_snr_db``, kept for comparison), whose Gamma speech model is wrong for read speech with
  pauses: it overestimated 30 dB mixtures by ~9 dB and babble by 12-29 dB. On speech-eval
  clips mixed with white, pink and babble noise at 0-30 dB both are measured by
  ``benchmarks/quality_measures.py``. Known limits: noise that is as sparse as speech (babble of
  a few talkers) is underestimated at 0-5 dB; stationary tones count as noise; a clip whose
  own recording floor is above the added noise reads at that floor.
* **Effective bandwidth** (``bandwidth_hz``): where the long-term spectrum ends. Audio up-sampled
  from 8 kHz (telephone) or low-passed by a codec has a *cliff*: 25+ dB lost within 250 Hz and
  nothing coming back above it (resamplers and codecs attenuate by 40-100 dB), while wideband
  speech falls smoothly and keeps fricative energy up to 8 kHz. Decoding 44.1/48 kHz audio to
  16 kHz leaves its own cliff near 7.5-8 kHz, far above the narrowband bar.
* **Level**: DC offset (mean), peak (dBFS), integrated loudness (ITU-R BS.1770 via pyloudnorm),
  and the share of 25 ms frames that are digital silence (no sample above one 16-bit step).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from schemas.records import SAMPLE_RATE

FRAME = 400  # 25 ms
LSB = 1.0 / 32768  # one 16-bit quantisation step: a frame under it is digital silence
CLIP_FULL_SCALE = 0.999  # samples at or above this magnitude are clipped whatever the peak
BANDWIDTH_NPERSEG = 512  # 31.25 Hz bins at 16 kHz
BANDWIDTH_DROP_DB = 60.0  # power this far below the speech band's level counts as absent
BANDWIDTH_CLIFF_DB = 25.0  # a fall this steep (within 250 Hz, and staying down) is a low-pass
BANDWIDTH_REF_HZ = (300.0, 3400.0)  # the band whose level is the reference (telephone band)
# Blind SNR (band quantiles). SNR_METHOD names the definition of the stored ``snr_db``: the analyse
# settings guard (pipelines/analysis_store.py) refuses to mix analyses made with another one.
SNR_METHOD = "band-quantile/q0.3/512-256/16b/v1"
SNR_NFFT = 512  # 32 ms Hann frames
SNR_HOP = 256  # 16 ms
SNR_QUANTILE = 0.3  # share of frames per band assumed to carry noise alone
SNR_SMOOTH = 2  # frames averaged before the quantile (lowers the noise estimate's variance)
SNR_BANDS = 16  # log-spaced bands over 0-8 kHz
SNR_RANGE_DB = (-20.0, 100.0)  # estimates are clamped to this range

# WADA-SNR: G(SNR) = log E|x| - E log|x| for Gamma(0.4) speech plus Gaussian noise, SNR in dB
# from -20 to 100 in 1 dB steps (numpy default_rng(0), 2e6 samples per step).
_WADA_DB = np.arange(-20, 101, dtype=np.float64)
_WADA_G = np.array([
    0.4097, 0.4097, 0.4098, 0.4099, 0.41, 0.4102, 0.4102, 0.4105, 0.411, 0.4115, 0.4121, 0.4133,
    0.415, 0.417, 0.4202, 0.4238, 0.4286, 0.4349, 0.4422, 0.4514, 0.4622, 0.4748, 0.4894, 0.5054,
    0.5237, 0.5438, 0.5656, 0.5894, 0.6142, 0.6402, 0.6678, 0.6959, 0.7246, 0.7537, 0.7831,
    0.8125, 0.842, 0.8715, 0.9004, 0.9289, 0.9566, 0.984, 1.0107, 1.0364, 1.0614, 1.0858, 1.1094,
    1.1321, 1.1539, 1.1751, 1.1954, 1.2149, 1.2336, 1.2518, 1.2688, 1.2855, 1.3015, 1.3168,
    1.3316, 1.3454, 1.3587, 1.3714, 1.3836, 1.3953, 1.4066, 1.4174, 1.4274, 1.4371, 1.4463,
    1.4552, 1.4636, 1.4718, 1.4795, 1.4871, 1.4942, 1.501, 1.5074, 1.5137, 1.5196, 1.5251, 1.5305,
    1.5356, 1.5405, 1.5452, 1.5496, 1.5539, 1.5581, 1.5619, 1.5657, 1.5693, 1.5727, 1.576,
    1.5791, 1.582, 1.5848, 1.5875, 1.5901, 1.5925, 1.595, 1.5972, 1.5994, 1.6014, 1.6034, 1.6052,
    1.607, 1.6087, 1.6103, 1.6118, 1.6133, 1.6147, 1.616, 1.6173, 1.6185, 1.6197, 1.6209, 1.6219,
    1.623, 1.6239, 1.6248, 1.6257, 1.6265,
])
# Monte Carlo ties at the flat low end: make the table strictly increasing for interpolation.
_WADA_G = _WADA_G + np.arange(len(_WADA_G)) * 1e-6


@dataclass(frozen=True)
class AudioMeasures:
    clipping_ratio: float
    loudness_lufs: float | None
    snr_db: float | None
    bandwidth_hz: float | None = None
    dc_offset: float = 0.0
    silence_ratio: float = 0.0
    peak_dbfs: float | None = None


def clipping_ratio(samples: np.ndarray, threshold: float = CLIP_FULL_SCALE) -> float:
    """Share of samples that are clipped: at full scale, or on a run of >= 2 samples equal to
    the clip's peak magnitude (clipped, then scaled down)."""
    if len(samples) == 0:
        return 0.0
    mag = np.abs(samples.astype(np.float32))
    peak = float(mag.max())
    if peak <= LSB:
        return 0.0
    full = mag >= threshold
    at_peak = mag >= peak * (1.0 - 1e-4)
    # a sample on a plateau: at the peak and a neighbour at the peak too
    plateau = at_peak & (np.r_[False, at_peak[:-1]] | np.r_[at_peak[1:], False])
    return float(np.mean(full | plateau))


def loudness_lufs(samples: np.ndarray) -> float | None:
    """Integrated loudness; None for clips shorter than one 400 ms gating block or silence."""
    import pyloudnorm

    if len(samples) < int(0.4 * SAMPLE_RATE) + 1:
        return None
    value = pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(samples.astype(np.float64))
    return round(float(value), 2) if math.isfinite(value) else None


def wada_snr_db(samples: np.ndarray) -> float | None:
    """WADA-SNR blind estimate in dB (Kim & Stern 2008; no longer stored, the benchmark compares
    it with ``blind_snr_db``); None when there is no signal."""
    x = np.abs(samples.astype(np.float64))
    x = x[x > 0]  # exact zeros (digital silence) carry no information about the noise
    if len(x) < FRAME:
        return None
    x = x / x.max()
    x = np.maximum(x, 1e-10)
    g = math.log(float(x.mean())) - float(np.mean(np.log(x)))
    return round(float(np.interp(g, _WADA_G, _WADA_DB)), 2)


def _snr_band_edges() -> np.ndarray:
    """First FFT bin of each band: log-spaced, so low bands are narrow like speech formants."""
    bins = SNR_NFFT // 2 + 1
    return np.r_[0, np.unique(np.geomspace(2, bins, SNR_BANDS + 1).astype(int))[:-1]]


def _frames(x: np.ndarray) -> np.ndarray:
    from numpy.lib.stride_tricks import sliding_window_view

    return sliding_window_view(x, SNR_NFFT)[::SNR_HOP]


def _band_power(frames: np.ndarray) -> np.ndarray:
    """(frames, bands) power of Hann-windowed STFT frames."""
    power = np.abs(np.fft.rfft(frames * np.hanning(SNR_NFFT), axis=1)) ** 2
    return np.add.reduceat(power, _snr_band_edges(), axis=1)


def _smoothed_quantile(power: np.ndarray) -> np.ndarray:
    from scipy.ndimage import uniform_filter1d

    smooth = uniform_filter1d(power, SNR_SMOOTH, axis=0, mode="nearest")
    return np.quantile(smooth, SNR_QUANTILE, axis=0)


@functools.cache
def _snr_calibration() -> np.ndarray:
    """Per band, mean / smoothed quantile of Gaussian noise's power: the factor that turns a
    band's quantile into its noise power. Measured once per process (~0.2 s) on 60 s of seeded
    white noise (to within ~2 %); it depends on the band's width and the smoothing, not on the
    noise's level or colour."""
    noise = np.random.default_rng(0).standard_normal(60 * SAMPLE_RATE)
    power = _band_power(_frames(noise))
    return power.mean(axis=0) / _smoothed_quantile(power)


def blind_snr_db(samples: np.ndarray) -> float | None:
    """Blind SNR in dB from band quantiles (see the module docstring); None for digital silence
    or under 16 frames (~0.3 s). Digitally silent frames (a noise gate, TTS pauses) count as
    noise-free: when they fill 30 % of a clip it reads as clean (the top of the range)."""
    x = samples.astype(np.float64)
    if len(x) < SNR_NFFT + 15 * SNR_HOP or float(np.abs(x).max()) <= LSB:
        return None
    power = _band_power(_frames(x - x.mean()))  # a DC offset is neither speech nor noise here
    noise = float(np.sum(_snr_calibration() * _smoothed_quantile(power)))
    total = float(power.sum(axis=1).mean())
    lo, hi = SNR_RANGE_DB
    if noise <= 0:
        return hi
    if total <= noise:
        return lo
    return round(float(np.clip(10.0 * math.log10((total - noise) / noise), lo, hi)), 2)


def snr_estimate_db(samples: np.ndarray) -> float | None:
    """The SNR stored on segments (``snr_db``): ``blind_snr_db``."""
    return blind_snr_db(samples)


def bandwidth_hz(samples: np.ndarray, drop_db: float = BANDWIDTH_DROP_DB,
                 cliff_db: float = BANDWIDTH_CLIFF_DB) -> float | None:
    """Effective bandwidth in Hz; None for clips under 0.1 s or without signal.

    The lower of: the highest frequency whose long-term power is within ``drop_db`` of the
    300-3400 Hz band's median level, and the highest *cliff*: a frequency under which the level
    (mean of 250 Hz) stands ``cliff_db`` above nearly everything over it (90th percentile), taken
    at the last frequency within 12 dB of the level before the fall. A resampler's or codec's
    low-pass is such a cliff; natural spectra fall smoothly."""
    if len(samples) < SAMPLE_RATE // 10:
        return None
    freqs, power = _welch(samples.astype(np.float64))
    band = (freqs >= BANDWIDTH_REF_HZ[0]) & (freqs <= BANDWIDTH_REF_HZ[1])
    ref = float(np.median(power[band]))
    if ref <= 0:
        return None
    db = 10.0 * np.log10(np.maximum(power, 1e-30) / ref)
    # smooth over 3 bins (~94 Hz) so one tonal line or a notch does not decide
    db = np.convolve(np.pad(db, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    start = int(np.searchsorted(freqs, BANDWIDTH_REF_HZ[0]))
    above = np.nonzero(db[start:] >= -drop_db)[0]
    level_edge = float(freqs[start + above[-1]]) if len(above) else float(freqs[start])
    span = 8  # bins (250 Hz) on each side of a cliff
    ks = np.arange(start + span + 1, len(db) - span)
    if len(ks) == 0:
        return level_edge
    # every candidate at once: the 250 Hz level under k against the 90th percentile above it
    level = np.convolve(db, np.ones(span + 1) / (span + 1), mode="valid")[ks - span]
    cliffs = ks[level - _suffix_p90(db, ks) >= cliff_db]
    if len(cliffs) == 0:
        return level_edge
    k = int(cliffs[-1])  # the highest cliff
    # the cut-off: the last bin within 12 dB of the level just before the fall began
    before = float(np.max(db[max(start, k - 4 * span):max(start + 1, k - span)]))
    within = np.nonzero(db[start:k + 1] >= before - 12.0)[0]
    return min(level_edge, float(freqs[start + within[-1]]))


def _suffix_p90(db: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """``np.percentile(db[k + 1:], 90)`` (linear) for every k in ``ks``, in one sort."""
    above = np.where(np.arange(len(db))[None, :] > ks[:, None], db[None, :], np.inf)
    ordered = np.sort(above, axis=1)
    count = len(db) - ks - 1
    pos = (count - 1) * 0.9
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, count - 1)
    rows = np.arange(len(ks))
    return ordered[rows, lo] + (ordered[rows, hi] - ordered[rows, lo]) * (pos - lo)


def _welch(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scipy.signal.welch's defaults (Hann, half overlap, each segment's mean removed, one-sided
    density up to a constant) in plain numpy: scipy's own costs ~4x more on short clips."""
    from numpy.lib.stride_tricks import sliding_window_view

    frames = sliding_window_view(x, BANDWIDTH_NPERSEG)[::BANDWIDTH_NPERSEG // 2]
    frames = (frames - frames.mean(axis=1, keepdims=True)) * np.hanning(BANDWIDTH_NPERSEG + 1)[:-1]
    power = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)
    power[1:-1] *= 2.0  # one-sided: every bin but DC and Nyquist holds both signs' power
    return np.fft.rfftfreq(BANDWIDTH_NPERSEG, 1.0 / SAMPLE_RATE), power


def dc_offset(samples: np.ndarray) -> float:
    return float(np.mean(samples, dtype=np.float64)) if len(samples) else 0.0


def silence_ratio(samples: np.ndarray) -> float:
    """Share of 25 ms frames that are digital silence (every sample within one 16-bit step)."""
    n = len(samples) // FRAME
    if n == 0:
        return 1.0 if len(samples) and float(np.abs(samples).max()) <= LSB else 0.0
    frames = np.abs(samples[: n * FRAME]).reshape(n, FRAME).max(axis=1)
    return float(np.mean(frames <= LSB))


def peak_dbfs(samples: np.ndarray) -> float | None:
    peak = float(np.abs(samples).max()) if len(samples) else 0.0
    return round(20.0 * math.log10(peak), 2) if peak > 0 else None


def measure(samples: np.ndarray) -> AudioMeasures:
    """Every cheap measure of one segment (DNSMOS runs batched, see ``filters/dnsmos.py``)."""
    return AudioMeasures(
        clipping_ratio=round(clipping_ratio(samples), 5),
        loudness_lufs=loudness_lufs(samples),
        snr_db=blind_snr_db(samples),
        bandwidth_hz=bandwidth_hz(samples),
        dc_offset=round(dc_offset(samples), 5),
        silence_ratio=round(silence_ratio(samples), 4),
        peak_dbfs=peak_dbfs(samples),
    )
