"""Deterministic WebDataset tar writing (no Beam).

Samples are written as ``KEY.flac`` + ``KEY.json`` in sorted key order with fixed metadata
(mtime, owner, mode), so the same segments always give byte-identical shards. The md5 and size
are computed while writing, so nobody has to read a shard back to index it.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from schemas.keys import validate_key

FIXED_MTIME = 946_684_800  # 2000-01-01T00:00:00Z


class HashingWriter(io.RawIOBase):
    """A write-only stream that forwards to ``target`` and keeps an md5 and a byte count."""

    def __init__(self, target: BinaryIO):
        self.target = target
        self.md5 = hashlib.md5()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.target.write(view)
        self.md5.update(view)
        self.size += len(view)
        return len(view)


@dataclass(frozen=True)
class ShardInfo:
    nsamples: int
    filesize: int
    md5sum: str
    # key -> (offset, size) of its FLAC payload in the tar, for byte-range reads
    offsets: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False)


def add_member(tar: tarfile.TarFile, name: str, payload: bytes) -> int:
    """Append one member; returns the offset of its payload in the tar stream."""
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    info.mtime = FIXED_MTIME
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    header = len(info.tobuf(tarfile.USTAR_FORMAT, tar.encoding, tar.errors))
    start = tar.offset + header
    tar.addfile(info, io.BytesIO(payload))
    return start


def write_tar(fileobj: BinaryIO,
              samples: Iterable[tuple[str, bytes, dict[str, Any] | None]]) -> ShardInfo:
    """Write (key, flac bytes, metadata) samples, in the order given, as one tar stream.

    ``metadata=None`` writes the audio alone (analysis packs keep their metadata in Parquet)."""
    sink = HashingWriter(fileobj)
    n = 0
    offsets: dict[str, tuple[int, int]] = {}
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.USTAR_FORMAT) as tar:
        for key, flac, meta in samples:
            validate_key(key)
            if key in offsets:  # readers (webdataset) stop on a repeated member name
                raise ValueError(f"repeated key {key!r}: a shard never holds a key twice")
            offsets[key] = (add_member(tar, f"{key}.flac", flac), len(flac))
            if meta is not None:
                add_member(tar, f"{key}.json", json.dumps(meta, sort_keys=True, ensure_ascii=False,
                                                    default=_json_default).encode("utf-8"))
            n += 1
    return ShardInfo(n, sink.size, sink.md5.hexdigest(), offsets)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
