"""Audio quality measures on generated signals with known properties."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import firwin, lfilter, resample_poly

from filters.audio_quality import (
    bandwidth_hz,
    blind_snr_db,
    clipping_ratio,
    dc_offset,
    measure,
    peak_dbfs,
    silence_ratio,
    wada_snr_db,
)

SR = 16_000


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """Gamma(0.4)-amplitude samples with random signs: the speech model WADA-SNR assumes."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    return (rng.gamma(0.4, 1.0, n) * rng.choice([-1.0, 1.0], n)).astype(np.float64)


def mix(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    gain = np.sqrt(np.mean(speech ** 2) / (np.mean(noise ** 2) * 10 ** (snr_db / 10)))
    x = speech + gain * noise
    return (x / np.max(np.abs(x)) * 0.5).astype(np.float32)


def bursts(seconds: float, seed: int = 0) -> np.ndarray:
    """Speech-like test signal for the band-quantile SNR: 200 ms syllables of band-passed noise
    (each a different band, like changing formants) with 30-150 ms pauses, so every band is
    quiet in part of the frames, as in read speech."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    out = np.zeros(n)
    pos = 0
    while pos < n:
        lo = rng.uniform(100, 3000)
        syl = lfilter(firwin(129, [lo, lo * rng.uniform(1.5, 2.5)], pass_zero=False, fs=SR), 1.0,
                      rng.standard_normal(int(0.2 * SR)))
        syl *= np.hanning(len(syl))
        out[pos:pos + len(syl)] = syl[: n - pos]
        pos += len(syl) + int(rng.uniform(0.03, 0.15) * SR)
    return out


def pink_noise(n: int, seed: int) -> np.ndarray:
    spec = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spec / np.sqrt(f), n)


@pytest.mark.parametrize("snr", [0, 10, 20, 30])
@pytest.mark.parametrize("colour", ["white", "pink"])
def test_blind_snr_recovers_a_known_snr(snr, colour):
    speech = bursts(6.0)
    noise = (np.random.default_rng(1).standard_normal(len(speech)) if colour == "white"
             else pink_noise(len(speech), 1))
    assert blind_snr_db(mix(speech, noise, snr)) == pytest.approx(snr, abs=2.0)


def test_blind_snr_is_level_and_dc_independent_and_none_without_signal():
    x = mix(bursts(3.0), np.random.default_rng(2).standard_normal(3 * SR), 15)
    assert blind_snr_db(x * 0.01) == pytest.approx(blind_snr_db(x), abs=0.05)
    assert blind_snr_db(x + 0.1) == pytest.approx(blind_snr_db(x), abs=0.05)
    assert blind_snr_db(np.zeros(SR, np.float32)) is None
    assert blind_snr_db(x[:2000]) is None  # under 16 frames


def test_blind_snr_reads_gated_pauses_as_clean_and_noise_alone_as_low():
    x = mix(bursts(3.0), np.random.default_rng(3).standard_normal(3 * SR), 20)
    short_pad = np.concatenate([np.zeros(SR // 4, np.float32), x])
    assert blind_snr_db(short_pad) == pytest.approx(blind_snr_db(x), abs=1.5)
    pause = np.zeros(int(0.9 * SR), np.float32)  # gated or synthetic: digital zeros
    gated = np.concatenate([x[:SR], pause, x[SR:2 * SR], pause, x[2 * SR:]])
    assert blind_snr_db(gated) >= 60  # 37 % of frames noise-free: reads as clean
    assert blind_snr_db(np.random.default_rng(4).standard_normal(3 * SR)) < 1.0


@pytest.mark.parametrize("snr", [0, 10, 20])
def test_wada_snr_recovers_a_known_snr_on_its_own_speech_model(snr):
    speech = speech_like(5.0)
    noise = np.random.default_rng(1).standard_normal(len(speech))
    assert wada_snr_db(mix(speech, noise, snr)) == pytest.approx(snr, abs=1.5)


def test_clipping_share_is_measured_at_full_scale_and_after_scaling():
    rng = np.random.default_rng(3)
    x = lfilter(firwin(101, 1000, fs=SR), 1.0, rng.standard_normal(10 * SR))  # smooth, like speech
    x = (x / np.std(x) * 0.5).astype(np.float32)
    clipped = np.clip(x, -1, 1)
    share = float(np.mean(np.abs(x) >= 1))  # ~4.6 % for N(0, 0.5)
    assert clipping_ratio(clipped) == pytest.approx(share, rel=0.05)
    assert clipping_ratio(clipped * 0.3) == pytest.approx(share, rel=0.1)  # clipped, then scaled
    clean = np.sin(2 * np.pi * 220.3 * np.arange(SR) / SR).astype(np.float32) * 0.99
    assert clipping_ratio(clean) < 0.001
    assert clipping_ratio(x / np.max(np.abs(x))) < 0.001  # peak-normalised, not clipped
    assert clipping_ratio(np.zeros(100, np.float32)) == 0.0


def test_bandwidth_finds_upsampled_and_low_passed_audio():
    noise = np.random.default_rng(4).standard_normal(4 * SR).astype(np.float32) * 0.1
    assert bandwidth_hz(noise) >= 7500
    tel = resample_poly(resample_poly(noise, 1, 2), 2, 1).astype(np.float32)  # 8 kHz origin
    assert 3500 <= bandwidth_hz(tel) <= 4300
    codec = lfilter(firwin(511, 6000, fs=SR), 1.0, noise).astype(np.float32)  # 6 kHz low-pass
    assert 5500 <= bandwidth_hz(codec) <= 6600
    assert bandwidth_hz(noise[:100]) is None


def test_level_measures():
    x = np.zeros(SR, np.float32)
    x[: SR // 2] = 0.5 * np.sin(2 * np.pi * 300 * np.arange(SR // 2) / SR)
    assert silence_ratio(x) == pytest.approx(0.5, abs=0.03)
    assert peak_dbfs(x) == pytest.approx(-6.02, abs=0.05)
    assert dc_offset(x + 0.2) == pytest.approx(0.2, abs=1e-4)
    assert peak_dbfs(np.zeros(10, np.float32)) is None


def test_measure_fills_every_field():
    x = mix(bursts(2.0), np.random.default_rng(5).standard_normal(2 * SR), 20)
    m = measure(x)
    assert m.snr_db == pytest.approx(20, abs=2)
    assert m.bandwidth_hz >= 7500 and m.clipping_ratio < 0.001 and m.silence_ratio == 0.0
    assert m.loudness_lufs is not None and m.peak_dbfs == pytest.approx(-6.02, abs=0.05)


def test_the_vectorised_cliff_percentile_matches_numpy():
    from filters.audio_quality import _suffix_p90

    db = np.random.default_rng(6).normal(-30, 20, 257)
    ks = np.arange(20, 248)
    want = [np.percentile(db[k + 1:], 90) for k in ks]
    assert np.allclose(_suffix_p90(db, ks), want, rtol=0, atol=1e-9)
