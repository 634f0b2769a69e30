"""Shard assignment: kept samples in sorted key order, cut into shards of about a target size.

A pure function of the kept set and the target, so the same plan always gives the same shard
names and contents (a resumed run, a refilter and an uninterrupted run agree byte for byte).
"""

from __future__ import annotations

from collections.abc import Iterable

TAR_OVERHEAD = 3 * 512  # two tar headers and padding per sample, about
JSON_ESTIMATE = 2048  # metadata per sample, about


def assign_shards(samples: Iterable[tuple[str, int]], target_bytes: int) -> dict[str, int]:
    """``{key: shard index}`` for (key, audio bytes) pairs; a shard closes once it holds at least
    ``target_bytes`` (so no shard is empty and only the last may be small)."""
    out: dict[str, int] = {}
    shard, size = 0, 0
    for key, nbytes in sorted(samples):
        out[key] = shard
        size += nbytes + TAR_OVERHEAD + JSON_ESTIMATE
        if size >= target_bytes:
            shard, size = shard + 1, 0
    return out
