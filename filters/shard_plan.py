"""Shard assignment: kept samples in sorted key order, cut into shards of about a target size.

A pure function of the kept set and the target, so the same plan always gives the same shard
names and contents (a resumed run, a refilter and an uninterrupted run agree byte for byte).

The cut is global (a shard closes once it holds ``target_bytes``, counting from the first key),
so one worker must see every kept (key, size) pair. :class:`KeySizes` holds them compactly --
keys as fixed-width bytes and sizes as int64 in numpy arrays, ~30 bytes a sample instead of
~150 for a list of Python tuples -- and the plan is returned as the first key of each shard
(:func:`shard_starts`), a few thousand strings that every worker looks keys up in
(:func:`shard_of`), instead of a ``{key: shard}`` map of every sample that would then have to be
joined back onto the plan rows (``benchmarks/decide_scale.py --plan-only`` measures both).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

import numpy as np

TAR_OVERHEAD = 3 * 512  # two tar headers and padding per sample, about
JSON_ESTIMATE = 2048  # metadata per sample, about
_BUFFER = 65_536  # pairs buffered as Python objects before they are packed into arrays


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


class KeySizes:
    """A compact, mergeable multiset of (key, audio bytes) pairs (keys are ASCII tar keys)."""

    def __init__(self) -> None:
        self.chunks: list[tuple[np.ndarray, np.ndarray]] = []
        self.keys: list[str] = []
        self.sizes: list[int] = []

    def add(self, key: str, nbytes: int) -> None:
        self.keys.append(key)
        self.sizes.append(int(nbytes))
        if len(self.keys) >= _BUFFER:
            self.pack()

    def pack(self) -> KeySizes:
        if self.keys:
            self.chunks.append((np.array([k.encode("ascii") for k in self.keys]),
                                np.array(self.sizes, dtype=np.int64)))
            self.keys, self.sizes = [], []
        return self

    def merge(self, other: KeySizes) -> KeySizes:
        self.pack()
        self.chunks.extend(other.pack().chunks)
        return self

    def __len__(self) -> int:
        return len(self.keys) + sum(len(k) for k, _ in self.chunks)


def shard_starts(pairs: KeySizes, target_bytes: int) -> list[str]:
    """The first key of each shard, in order: the same cut as :func:`assign_shards`."""
    pairs.pack()
    if not pairs.chunks:
        return []
    width = max(k.dtype.itemsize for k, _ in pairs.chunks)
    keys = np.concatenate([k.astype(f"S{width}") for k, _ in pairs.chunks])
    sizes = np.concatenate([s for _, s in pairs.chunks])
    pairs.chunks = []
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    total = np.cumsum(sizes[order] + (TAR_OVERHEAD + JSON_ESTIMATE))
    del order, sizes
    starts, start, base = [], 0, 0
    while start < len(keys):
        starts.append(keys[start].decode("ascii"))
        end = int(np.searchsorted(total, base + target_bytes, side="left"))  # closes the shard
        if end >= len(keys):
            break
        base, start = int(total[end]), end + 1
    return starts


def shard_of(key: str, starts: list[str]) -> int:
    """The shard of a kept ``key`` under a plan given by :func:`shard_starts`."""
    return bisect_right(starts, key) - 1
