"""Tags and helpers shared by the stages."""

from __future__ import annotations

import hashlib

import apache_beam as beam
import numpy as np

from schemas.records import Reject

REJECTED = "rejected"  # (Reject, audio or None): every stage's side output for dropped records


def rejected(reject: Reject, audio: np.ndarray | None = None) -> beam.pvalue.TaggedOutput:
    return beam.pvalue.TaggedOutput(REJECTED, (reject, audio))


def stable_bucket(key: str, buckets: int) -> int:
    """Deterministic bucket of a key (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big") % buckets
