"""A thin wrapper over ``filters/audio_fingerprint`` for dedup: fingerprint bytes of a clip, the
LSH keys of stored bytes, and the verification of a candidate pair.

The fingerprint algorithm itself (robust to re-encoding, gain, resampling, trimming and intros;
containment found by shared index keys) lives in ``filters/audio_fingerprint.py``; when that
module is missing the audio columns stay null and only exact audio hashes deduplicate.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np


def _module() -> Any:
    try:
        from filters import audio_fingerprint
    except ImportError:
        return None
    return audio_fingerprint


def available() -> bool:
    return _module() is not None


def pcm_sha256(samples: np.ndarray) -> str:
    """Exact-duplicate key of decoded audio: sha256 of its 16-bit PCM (16 kHz mono)."""
    pcm = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    return hashlib.sha256((pcm * 32767.0).round().astype("<i2").tobytes()).hexdigest()


def fingerprint_bytes(samples: np.ndarray, sample_rate: int = 16000) -> bytes | None:
    fp = _module()
    if fp is None or samples is None or not len(samples):
        return None
    return fp.to_bytes(fp.fingerprint(np.asarray(samples, dtype=np.float32), sample_rate))


def index_keys(data: bytes) -> list[int]:
    fp = _module()
    if fp is None or not data:
        return []
    return [int(k) for k in fp.index_keys(fp.from_bytes(data))]


def match(a: bytes, b: bytes, min_similarity: float = 0.0,
          min_covered: float = 0.0) -> tuple[bool, float]:
    """(near-duplicate?, similarity) of two stored fingerprints; 0 thresholds use the fingerprint
    module's defaults."""
    fp = _module()
    if fp is None or not a or not b:
        return False, 0.0
    m = fp.compare(fp.from_bytes(a), fp.from_bytes(b))
    kwargs = {}
    if min_similarity:
        kwargs["min_similarity"] = min_similarity
    if min_covered:
        kwargs["min_covered"] = min_covered
    return bool(fp.is_near_duplicate(m, **kwargs)), float(m.similarity)
