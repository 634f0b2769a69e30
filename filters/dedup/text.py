"""Text near-duplicates: normalised transcripts, MinHash signatures (datasketch, seeded) and LSH
band keys.

Why character shingles: transcripts are short (a 10 s segment holds ~25 words). Word 5-grams,
the web-text default (datatrove), leave a 6-word sentence two shingles, and one ASR slip removes
half of them. Character 5-grams over the normalised text give ~5 shingles per word, so a
substituted word costs a few percent of Jaccard instead of half of it.

Normalisation is language-agnostic and cheap (NFKC, case-fold, letters and digits only, single
spaces): the same words with different punctuation, case or spacing hash equal. Whisper's
normalisers (``filters/text_normalize.py``) are ~100x slower and English-specific.

Signatures are ``num_perm`` uint32 (datasketch's affine32 scheme), stored as bytes on the thin
analysis row; a band key is a 64-bit hash of one band's rows, tagged with the band index so two
bands never share a bucket. The probability that a pair of Jaccard J shares at least one bucket
is ``1 - (1 - J**rows) ** bands`` (:func:`catch_probability`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str | None) -> str:
    """NFKC, case-folded, letters and digits only, single spaces."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NON_WORD.sub(" ", folded).split())


def text_hash(normalised: str) -> str:
    """Exact-duplicate key of a normalised text ("" for no text)."""
    if not normalised:
        return ""
    return hashlib.sha256(normalised.encode()).hexdigest()[:32]


def shingles(normalised: str, kind: str = "chars", size: int = 5) -> list[bytes]:
    """The set of shingles of a normalised text, as bytes (a text shorter than ``size`` is one
    shingle)."""
    if not normalised:
        return []
    if kind == "words":
        words = normalised.split()
        grams = {" ".join(words[i:i + size]) for i in range(max(1, len(words) - size + 1))}
    else:
        padded = f" {normalised} "
        grams = {padded[i:i + size] for i in range(max(1, len(padded) - size + 1))}
    return [g.encode() for g in sorted(grams)]


def signatures(texts: Sequence[str], num_perm: int = 128, seed: int = 1, kind: str = "chars",
               size: int = 5) -> list[bytes | None]:
    """MinHash signatures (``num_perm`` uint32 as bytes) of normalised texts, in bulk; None for an
    empty text."""
    from datasketch import MinHash

    todo = [(i, shingles(t, kind, size)) for i, t in enumerate(texts) if t]
    out: list[bytes | None] = [None] * len(texts)
    if not todo:
        return out
    hashes = MinHash.bulk([s for _, s in todo], num_perm=num_perm, seed=seed)
    for (i, _), mh in zip(todo, hashes, strict=True):
        out[i] = np.asarray(mh.hashvalues, dtype=np.uint32).tobytes()
    return out


def as_array(signature: bytes) -> np.ndarray:
    return np.frombuffer(signature, dtype=np.uint32)


def estimated_jaccard(a: bytes, b: bytes) -> float:
    """MinHash estimate of the Jaccard similarity: the share of equal signature slots."""
    x, y = as_array(a), as_array(b)
    if len(x) != len(y) or not len(x):
        return 0.0
    return float(np.count_nonzero(x == y)) / len(x)


def band_keys(signature: bytes, bands: int, rows: int) -> list[int]:
    """One 64-bit bucket key per band (band index mixed in, so bands never collide)."""
    sig = as_array(signature)
    out = []
    for band in range(bands):
        chunk = sig[band * rows:(band + 1) * rows].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8, key=band.to_bytes(2, "little")).digest()
        out.append(int.from_bytes(digest, "little", signed=True))
    return out


def catch_probability(jaccard: float | np.ndarray, bands: int, rows: int) -> float | np.ndarray:
    """Probability that a pair with this Jaccard shares at least one LSH bucket (the S-curve)."""
    return 1.0 - (1.0 - np.asarray(jaccard, dtype=float) ** rows) ** bands


def s_curve(bands: int, rows: int, points: Iterable[float] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.75,
                                                              0.8, 0.85, 0.9, 0.95)
            ) -> list[tuple[float, float]]:
    return [(round(j, 3), round(float(catch_probability(j, bands, rows)), 4)) for j in points]


def word_count(normalised: str) -> int:
    return len(normalised.split()) if normalised else 0
