"""Acoustic fingerprints for near-duplicate audio: re-encodes, trims, intros and containment.

A fingerprint is one ``uint32`` per 32 ms frame (``FRAME_HOP_S``) of 16 kHz mono audio, in
the Haitsma–Kalker family (sign bits of band-energy differences across frequency and time),
split into two parts with different jobs:

* **24 fine bits** (bits 0-23), what :func:`compare` scores. 25 log-spaced bands between 300
  and 3400 Hz on a 256 ms Hann window; bit ``m`` is the sign of
  ``(E[t,m] - E[t,m+1]) - (E[t-1,m] - E[t-1,m+1])`` on log band energies. Differences across
  bands cancel a gain change and any smooth spectral tilt; differences across time cancel a
  fixed equaliser. Narrow bands resolve pitch harmonics, so the *same sentence read by another
  voice* (another pitch, other formants) disagrees on ~half its bits, while a re-encoded copy of
  the *same recording* agrees on 80-95 %.
* **8 coarse bits** (bits 24-31), what :func:`index_keys` hashes. The same double difference on
  9 wide bands, with energies smoothed over 9 frames (~290 ms) and a time lag of 8 frames: far
  less sensitive to where the 32 ms frame grid falls and to codec noise (3-7 % bit errors where
  the fine bits have 10-20 %), so a key made of four such codes survives in 10-45 % of frames.

Why these choices. The figures in this list were measured while designing, on six speech-eval
clips under MP3 32 kbit/s, Opus 16 kbit/s, 8 kHz resampling and sub-frame shifts, and on
espeak-ng voices (scratch sweeps, not committed); ``benchmarks/dedup_audio.py`` measures the
final design (recall, false matches, size, cost):

* **300-3400 Hz only.** Audio that was once 8 kHz has nothing above 4 kHz, and MP3 at 32 kbit/s
  and Opus at 16 kbit/s cut or rebuild the top octave; the telephone band survives all of them.
* **256 ms windows, 32 ms hop.** The hop sets the size: 4 bytes per 32 ms is 125 B/s, ~0.7 % of
  the ~17 kB/s that 16 kHz speech costs as FLAC (the issue's budget is 1 %). A copy that was
  trimmed by a non-multiple of the hop is sampled up to 16 ms off the original's grid; a long
  window keeps that error small (0.86 agreement at the worst 16 ms shift, against 0.75 with a
  128 ms window), at the price of smearing fast pitch changes.
* **Relative silence gate.** Frames 40 dB below the clip's loud frames (or digitally silent) get
  the value 0 and count for nothing: silence, identical in every recording, would otherwise make
  any two recordings with pauses look alike.
* **Matching by cross-correlation over every offset** (an FFT per bit plane), not by looking up
  exact frames: the fine bits that tell voices apart are too fragile for exact lookups (a whole
  24-bit fine frame survives Opus 16 kbit/s plus a sub-frame shift in a few percent of frames),
  so the index hashes the coarse codes and the correlation finds the offset from all fine bits.

Sizes and cost: ``fingerprint`` costs 125 B/s of audio before :func:`to_bytes` (zlib, which
shrinks the runs of silent zeros); ``index_keys`` gives at most ``31.25 / KEY_SAMPLING`` keys per
second. The analysis runs at 8 kHz (every band is under 4 kHz), ~2 ms of CPU per second of audio;
``compare`` of two 10 s segments takes under a millisecond, of an hour against a clip ~0.2 s.

No Beam here; the dedup stage groups segments by :func:`index_keys` and verifies candidate pairs
with :func:`compare`.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16_000
HOP = 512  # samples between frames (32 ms)
WINDOW = 4096  # samples per analysis window (256 ms)
FRAME_HOP_S: float = HOP / SAMPLE_RATE
F_MIN_HZ, F_MAX_HZ = 300.0, 3400.0
FINE_BANDS = 25  # -> 24 fine bits
COARSE_BANDS = 9  # -> 8 coarse bits
COARSE_SMOOTH = 9  # frames of energy smoothing for the coarse bits
COARSE_LAG = 8  # frames between the two spectra a coarse bit compares
FINE_MASK = np.uint32(0x00FFFFFF)
FINE_BITS = 24
SILENCE_DB = 40.0  # frames this far below the clip's loud frames are silent (value 0)
KEY_FRAMES = 4  # coarse codes per index key
KEY_STRIDE = 8  # frames between them (256 ms): a key spans ~1 s of audio
KEY_SAMPLING = 1  # keep the keys whose hash is 0 modulo this (1: all; a shift-invariant thinning)
LOCAL_WINDOW = 31  # frames (~1 s) over which `covered` judges agreement
LOCAL_MIN_AGREEMENT = 0.65  # a window at least this similar counts as matching
MAX_GAP = 62  # frames (~2 s): a shorter stretch between matching windows counts as matching
_FORMAT = b"F1"
# Changes whenever the same audio would get other fingerprints or keys: part of analyse's
# settings guard, so stored fingerprints of two versions are never compared.
FINGERPRINT_VERSION = "hk24+coarse8/300-3400Hz/256ms/32ms/v1"


def fingerprint(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """One ``uint32`` per ``FRAME_HOP_S`` of ``samples`` (float32 mono in [-1, 1], 16 kHz).

    Bits 0-23 are fine (compared), bits 24-31 coarse (indexed); 0 marks a silent frame. Audio
    shorter than one window is padded, so every input gives at least one frame.
    """
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"fingerprint expects {SAMPLE_RATE} Hz audio, got {sample_rate}")
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if len(x) < WINDOW:
        x = np.pad(x, (0, WINDOW - len(x)))
    power = _frame_power(x)
    fine = _double_difference(_band_energies(power, FINE_BANDS), lag=1)
    coarse_e = _band_energies(power, COARSE_BANDS)
    coarse = _double_difference(_smooth(coarse_e, COARSE_SMOOTH), lag=COARSE_LAG)
    values = _pack(fine > 0) | (_pack(coarse > 0) << np.uint32(FINE_BITS))
    total_db = 10.0 * np.log10(power.sum(axis=1, dtype=np.float64) + 1e-20)
    loud = np.percentile(total_db, 95)
    quiet = (total_db < loud - SILENCE_DB) | (total_db < -100.0)
    silent = quiet | np.concatenate([[True], quiet[:-1]])  # a fine bit reads two frames
    values[silent] = 0
    values[~silent & (values == 0)] = 1
    return values


def _frame_power(x: np.ndarray) -> np.ndarray:
    """Power spectra (the bins of 300-3400 Hz) of Hann windows every ``HOP`` samples, at 8 kHz.

    Every band lies under 4 kHz, so the audio is halved first: half the FFT work for the same
    256 ms windows and the same bins.
    """
    from scipy.fft import rfft
    from scipy.signal import resample_poly

    y = resample_poly(x, 1, 2, window=_half_band_filter()).astype(np.float32)
    win, hop = WINDOW // 2, HOP // 2
    if len(y) < win:
        y = np.pad(y, (0, win - len(y)))
    n = 1 + (len(y) - win) // hop
    frames = np.lib.stride_tricks.sliding_window_view(y, win)[::hop][:n]
    lo, hi = _bin_range()
    spectrum = rfft(frames * np.hanning(win).astype(np.float32), axis=1)[:, lo:hi]
    return spectrum.real ** 2 + spectrum.imag ** 2


@functools.cache
def _half_band_filter() -> np.ndarray:
    """resample_poly's own default anti-alias filter for 2:1, designed once."""
    from scipy.signal import firwin

    return firwin(41, 0.5, window=("kaiser", 5.0))


@functools.cache
def _bin_range() -> tuple[int, int]:
    freqs = np.fft.rfftfreq(WINDOW // 2, 2.0 / SAMPLE_RATE)
    return int(np.searchsorted(freqs, F_MIN_HZ)), int(np.searchsorted(freqs, F_MAX_HZ)) + 1


def _band_energies(power: np.ndarray, bands: int) -> np.ndarray:
    """Summed power per band (contiguous bin ranges: a reduceat, no BLAS threads involved)."""
    starts, used = _band_starts(bands)
    return np.add.reduceat(power[:, :used], starts, axis=1).astype(np.float64)


@functools.cache
def _band_starts(bands: int) -> tuple[np.ndarray, int]:
    """First kept bin of each of ``bands`` log-spaced bands over 300-3400 Hz, and the bin count."""
    lo, hi = _bin_range()
    freqs = np.fft.rfftfreq(WINDOW // 2, 2.0 / SAMPLE_RATE)[lo:hi]
    edges = np.geomspace(F_MIN_HZ, F_MAX_HZ, bands + 1)
    starts = np.searchsorted(freqs, edges[:-1], side="left")
    return starts, int(np.searchsorted(freqs, edges[-1], side="left"))


def _smooth(energy: np.ndarray, width: int) -> np.ndarray:
    kernel = np.ones(width) / width
    pad = width // 2
    padded = np.pad(energy, ((pad, width - 1 - pad), (0, 0)), mode="edge")
    return np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="valid"), 0, padded)


def _double_difference(energy: np.ndarray, lag: int) -> np.ndarray:
    """``(L[t,m] - L[t,m+1]) - (L[t-lag,m] - L[t-lag,m+1])`` on log energies (0 for t < lag)."""
    log_e = np.log(energy + 1e-12)
    across = log_e[:, :-1] - log_e[:, 1:]
    out = np.zeros_like(across)
    if len(across) > lag:
        out[lag:] = across[lag:] - across[:-lag]
    return out


def _pack(bits: np.ndarray) -> np.ndarray:
    weights = np.uint32(1) << np.arange(bits.shape[1], dtype=np.uint32)
    return (bits.astype(np.uint32) * weights).sum(axis=1, dtype=np.uint64).astype(np.uint32)


def to_bytes(fp: np.ndarray) -> bytes:
    """Little-endian uint32s, zlib-compressed (silent frames are zeros and compress away)."""
    raw = np.asarray(fp, dtype="<u4").tobytes()
    return _FORMAT + zlib.compress(raw, 6)


def from_bytes(data: bytes) -> np.ndarray:
    if data[:2] != _FORMAT:
        raise ValueError("not an audio fingerprint (unknown format tag)")
    return np.frombuffer(zlib.decompress(data[2:]), dtype="<u4").astype(np.uint32)


def index_keys(fp: np.ndarray) -> list[int]:
    """LSH keys: two fingerprints that share audio share keys; unrelated audio rarely does.

    A key is four coarse codes (8 bits each) taken ``KEY_STRIDE`` frames apart, so 32 bits
    spanning ~1 s, from the frames where all four are voiced. Keys are thinned by their own
    hash (kept when ``hash % KEY_SAMPLING == 0``), which keeps the same keys in both copies
    whatever the offset. At most ``1 / (FRAME_HOP_S * KEY_SAMPLING)`` keys per second of audio
    (31.25 with the default ``KEY_SAMPLING = 1``; ~25 on speech, where pauses give none);
    returned sorted, without repeats, as ints in ``[0, 2**32)``.
    """
    fp = np.asarray(fp, dtype=np.uint32)
    span = (KEY_FRAMES - 1) * KEY_STRIDE
    n = len(fp) - span
    if n <= 0:
        return []
    keys = np.zeros(n, dtype=np.uint64)
    voiced = np.ones(n, dtype=bool)
    for i in range(KEY_FRAMES):
        part = fp[i * KEY_STRIDE:i * KEY_STRIDE + n]
        keys |= (part >> np.uint32(FINE_BITS)).astype(np.uint64) << np.uint64(8 * i)
        voiced &= part != 0
    keys = np.unique(keys[voiced])
    keep = (_mix(keys) % np.uint64(KEY_SAMPLING)) == 0
    return [int(k) for k in keys[keep]]


def _mix(keys: np.ndarray) -> np.ndarray:
    """A fixed 64-bit mixer (splitmix64's finaliser): deterministic across runs and machines."""
    z = keys.astype(np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@dataclass(frozen=True)
class FingerprintMatch:
    similarity: float  # 1 - bit error rate of the fine bits over the overlap at the best offset
    offset_s: float  # where b starts inside a (negative: a starts inside b)
    covered: float  # share of the shorter fingerprint's voiced frames in matching 1 s windows


def compare(a: np.ndarray, b: np.ndarray) -> FingerprintMatch:
    """Best alignment of ``b`` against ``a`` over every offset, and how well it matches.

    The offset maximises the summed agreement of the fine bits (agreements minus disagreements,
    one FFT cross-correlation per bit plane), so a long matching overlap wins over a short lucky
    one. ``similarity`` is the agreement over the frames voiced in both; ``covered`` the share
    of the shorter fingerprint's voiced frames inside the matching span: ~1 s windows that agree
    at least ``LOCAL_MIN_AGREEMENT``, joined across gaps of up to ~2 s (pauses, noise).
    """
    a = np.asarray(a, dtype=np.uint32)
    b = np.asarray(b, dtype=np.uint32)
    va, vb = a != 0, b != 0
    if not va.any() or not vb.any():
        return FingerprintMatch(0.0, 0.0, 0.0)
    offset = _best_offset(a, b)
    lo, hi = max(0, -offset), min(len(b), len(a) - offset)
    fa, fb = a[lo + offset:hi + offset], b[lo:hi]
    both = (fa != 0) & (fb != 0)
    if not both.any():
        return FingerprintMatch(0.0, offset * FRAME_HOP_S, 0.0)
    agree = FINE_BITS - _popcount((fa ^ fb) & FINE_MASK).astype(np.float64)
    agree[~both] = 0.0
    similarity = float(agree.sum() / (both.sum() * FINE_BITS))
    kernel = np.ones(min(LOCAL_WINDOW, len(agree)))
    local = np.convolve(agree, kernel, "same") / np.maximum(
        np.convolve(both.astype(np.float64), kernel, "same") * FINE_BITS, 1.0)
    span = _close_gaps(both & (local >= LOCAL_MIN_AGREEMENT), MAX_GAP)
    b_shorter = vb.sum() <= va.sum()
    matched = int((span & ((fb if b_shorter else fa) != 0)).sum())
    shorter = int(vb.sum() if b_shorter else va.sum())
    return FingerprintMatch(similarity, offset * FRAME_HOP_S, matched / shorter)


def _close_gaps(mask: np.ndarray, gap: int) -> np.ndarray:
    """``mask`` with runs of False of at most ``gap`` between two True stretches set True.

    A pause, a breath or a noisy stretch inside a matching passage disagrees like unrelated
    audio (noise has no stable spectrum); it is still part of the copy.
    """
    idx = np.flatnonzero(mask)
    out = mask.copy()
    steps = np.diff(idx)
    for k in np.flatnonzero((steps > 1) & (steps <= gap + 1)):
        out[idx[k]:idx[k + 1]] = True
    return out


def _best_offset(a: np.ndarray, b: np.ndarray) -> int:
    """The frame offset ``d`` (``b[j]`` against ``a[j + d]``) with the most excess agreement."""
    sa, sb = _signs(a), _signs(b)
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    spectrum = (np.fft.rfft(sa, size, axis=0) * np.conj(np.fft.rfft(sb, size, axis=0))).sum(1)
    corr = np.fft.irfft(spectrum, size)
    offsets = np.concatenate([np.arange(len(a)), np.arange(-len(b) + 1, 0)])
    scores = np.concatenate([corr[:len(a)], corr[size - len(b) + 1:]])
    return int(offsets[int(np.argmax(scores))])


def _signs(fp: np.ndarray) -> np.ndarray:
    bits = (fp[:, None] >> np.arange(FINE_BITS, dtype=np.uint32)) & np.uint32(1)
    signs = bits.astype(np.float32) * 2.0 - 1.0
    signs[fp == 0] = 0.0
    return signs


def _popcount(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint32)
    x = x - ((x >> 1) & np.uint32(0x55555555))
    x = (x & np.uint32(0x33333333)) + ((x >> 2) & np.uint32(0x33333333))
    x = (x + (x >> 4)) & np.uint32(0x0F0F0F0F)
    return ((x * np.uint32(0x01010101)) & np.uint32(0xFFFFFFFF)) >> np.uint32(24)


DEFAULT_MIN_SIMILARITY = 0.75  # copies >= 0.78 (4 s, trimmed + Opus 16k), other voices <= 0.64
DEFAULT_MIN_COVERED = 0.8  # copies and contained clips cover >= 0.97 of the shorter one


def is_near_duplicate(m: FingerprintMatch, min_similarity: float = DEFAULT_MIN_SIMILARITY,
                      min_covered: float = DEFAULT_MIN_COVERED) -> bool:
    """Same audio: similar enough at the best offset, over most of the shorter one.

    Containment counts: a clip inside a longer recording covers its whole (shorter) self.
    """
    return m.similarity >= min_similarity and m.covered >= min_covered
