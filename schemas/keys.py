"""Identifier and tar-key rules.

WebDataset splits a sample's file name at the first dot into key and extension, so keys must
never contain dots; they are also used as file names on every filesystem, so they stay within
``[A-Za-z0-9_-]``.
"""

import hashlib
import re

_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")
RECORDING_ID_CHARS = 16


def recording_id_for(canonical_uri: str) -> str:
    """Stable id of a recording: a short sha256 of its canonical URI (hex, so dot-free)."""
    return hashlib.sha256(canonical_uri.encode("utf-8")).hexdigest()[:RECORDING_ID_CHARS]


def segment_id_for(recording_id: str, index: int) -> str:
    """``{recording_id}-{index:05d}``: sorts in time order within a recording."""
    if index < 0 or index > 99999:
        raise ValueError(f"segment index {index} out of range 0..99999")
    key = f"{recording_id}-{index:05d}"
    validate_key(key)
    return key


def validate_key(key: str) -> str:
    """Raise ValueError unless ``key`` is a legal tar key (non-empty, no dots, no slashes)."""
    if not key or not _KEY_RE.match(key):
        raise ValueError(f"invalid tar key {key!r}: only letters, digits, '_' and '-' are allowed")
    return key


def shard_name(index: int) -> str:
    """Deterministic shard file name, ``shard-NNNNNN.tar``."""
    return f"shard-{index:06d}.tar"
