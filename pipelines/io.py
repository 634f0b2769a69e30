"""Filesystem access through fsspec, so RUN_DIR and inputs may be local paths or URLs
(gs://, s3://, memory://). Writes are atomic where the filesystem allows: write a temporary
name, then move it into place, so a retried bundle never leaves a half-written file."""

from __future__ import annotations

import posixpath
import uuid
from typing import Any

import fsspec


class InputTooLarge(IOError):
    """Raised when a file is larger than the cap its reader set."""


def fs_and_path(uri: str) -> tuple[Any, str]:
    fs, path = fsspec.core.url_to_fs(uri)
    return fs, path


def join(base: str, *parts: str) -> str:
    """Join path components onto a local path or URL without touching the scheme."""
    if "://" in base:
        scheme, rest = base.split("://", 1)
        return f"{scheme}://{posixpath.join(rest, *parts)}"
    return posixpath.join(base, *parts)


def exists(uri: str) -> bool:
    fs, path = fs_and_path(uri)
    return fs.exists(path)


def makedirs(uri: str) -> None:
    fs, path = fs_and_path(uri)
    fs.makedirs(path, exist_ok=True)


def read_bytes(uri: str, max_bytes: int | None = None) -> bytes:
    """Read a whole file, refusing (before reading) anything larger than ``max_bytes``."""
    fs, path = fs_and_path(uri)
    if max_bytes is not None:
        size = fs.size(path)
        if size is not None and size > max_bytes:
            raise InputTooLarge(f"{uri} is {size} bytes, over the cap of {max_bytes}")
    with fs.open(path, "rb") as fh:
        data = fh.read(max_bytes + 1 if max_bytes is not None else -1)
    if max_bytes is not None and len(data) > max_bytes:
        raise InputTooLarge(f"{uri} is over the cap of {max_bytes} bytes")
    return data


def write_bytes_atomic(uri: str, data: bytes) -> None:
    """Write ``data`` to a temporary sibling and move it onto ``uri``."""
    fs, path = fs_and_path(uri)
    parent = posixpath.dirname(path)
    if parent:
        fs.makedirs(parent, exist_ok=True)
    tmp = posixpath.join(parent, f".tmp-{uuid.uuid4().hex}-{posixpath.basename(path)}")
    with fs.open(tmp, "wb") as fh:
        fh.write(data)
    fs.mv(tmp, path)


def write_text_atomic(uri: str, text: str) -> None:
    write_bytes_atomic(uri, text.encode("utf-8"))


def glob(pattern: str) -> list[str]:
    """Sorted matches of a glob, returned as URIs in the pattern's own scheme."""
    fs, path = fs_and_path(pattern)
    matches = sorted(fs.glob(path))
    if "://" in pattern:
        scheme = pattern.split("://", 1)[0]
        return [f"{scheme}://{m}" if "://" not in m else m for m in matches]
    return matches
