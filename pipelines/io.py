"""Filesystem access through fsspec, so RUN_DIR and inputs may be local paths or URLs
(gs://, s3://, memory://). Writes are atomic where the filesystem allows: write a temporary
name, then move it into place, so a retried bundle never leaves a half-written file.

Reads of inputs fail closed: a local path that is not a regular file once symlinks are resolved
(a FIFO, a device such as ``/dev/zero``, a socket, a directory) is refused before it is opened,
so nothing blocks in ``open()``; a size cap is checked before reading and again while reading in
chunks (a file whose size lies stops at cap + 1 bytes); and a capped read has a deadline.
"""

from __future__ import annotations

import os
import posixpath
import stat
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

import fsspec
from fsspec.implementations.local import LocalFileSystem

READ_CHUNK = 8 * 1024 * 1024
READ_TIMEOUT_S = 600.0  # default deadline of a capped read (an input), from open to last byte


class InputTooLarge(IOError):
    """Raised when a file is larger than the cap its reader set."""


class NotAFile(IOError):
    """Raised for a path that exists but is not a regular file (FIFO, device, socket, dir)."""


class ReadTimeout(TimeoutError):
    """Raised when reading a file takes longer than its deadline (TimeoutError is an OSError)."""


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


def is_local(fs: Any) -> bool:
    return isinstance(fs, LocalFileSystem)


def file_kind(uri: str) -> str:
    """``file`` (a regular file after resolving symlinks), ``missing`` (absent, a dangling link
    or a symlink loop: reading it fails with a clear error), or what else it is (``fifo``,
    ``character device``, ``block device``, ``socket``, ``directory``). Remote filesystems have
    only files and directories."""
    fs, path = fs_and_path(uri)
    if not is_local(fs):
        try:
            return "file" if fs.isfile(path) else ("directory" if fs.isdir(path) else "missing")
        except OSError:
            return "missing"
    try:
        mode = os.stat(path).st_mode  # follows symlinks
    except OSError:
        return "missing"
    return _mode_kind(mode)


def _mode_kind(mode: int) -> str:
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "directory"),
                       (stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


def read_bytes(uri: str, max_bytes: int | None = None, timeout_s: float | None = None) -> bytes:
    """Read a whole file, refusing anything larger than ``max_bytes`` before reading (by its
    size) and while reading (in chunks, stopping at ``max_bytes + 1``).

    A local path must be a regular file (after resolving symlinks), else :class:`NotAFile` is
    raised without opening it. ``timeout_s`` bounds the whole read (:class:`ReadTimeout`); a
    capped read (an input) defaults to ``READ_TIMEOUT_S``, an uncapped one (run files) to none.
    """
    fs, path = fs_and_path(uri)
    if timeout_s is None and max_bytes is not None:
        timeout_s = READ_TIMEOUT_S
    deadline = time.monotonic() + timeout_s if timeout_s is not None else None
    if is_local(fs):
        return _read_local(path, uri, max_bytes, deadline)
    if max_bytes is not None:
        size = fs.size(path)
        if size is not None and size > max_bytes:
            raise InputTooLarge(f"{uri} is {size} bytes, over the cap of {max_bytes}")
    with fs.open(path, "rb") as fh:
        return read_capped(fh, uri, max_bytes, deadline)


def _read_local(path: str, uri: str, max_bytes: int | None, deadline: float | None) -> bytes:
    kind = _mode_kind(os.stat(path).st_mode)  # before open(): a FIFO would block there
    if kind != "file":
        raise NotAFile(f"{uri} is a {kind}, not a regular file")
    # O_NONBLOCK: should the path be swapped for a FIFO after the check, open() still returns.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb", buffering=0) as fh:
        info = os.fstat(fd)
        kind = _mode_kind(info.st_mode)
        if kind != "file":
            raise NotAFile(f"{uri} is a {kind}, not a regular file")
        if max_bytes is not None and info.st_size > max_bytes:
            raise InputTooLarge(f"{uri} is {info.st_size} bytes, over the cap of {max_bytes}")
        return read_capped(fh, uri, max_bytes, deadline)


def read_capped(fh: BinaryIO, uri: str, max_bytes: int | None,
                deadline: float | None = None) -> bytes:
    """Read ``fh`` to its end in chunks: :class:`InputTooLarge` as soon as more than
    ``max_bytes`` arrived (at most ``max_bytes + 1`` are read), :class:`ReadTimeout` once
    ``deadline`` (a ``time.monotonic()`` value) has passed."""
    parts: list[bytes] = []
    total = 0
    while True:
        want = READ_CHUNK if max_bytes is None else min(READ_CHUNK, max_bytes + 1 - total)
        chunk = fh.read(want)
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
        if max_bytes is not None and total > max_bytes:
            raise InputTooLarge(f"{uri} is over the cap of {max_bytes} bytes")
        if deadline is not None and time.monotonic() > deadline:
            raise ReadTimeout(f"reading {uri} did not finish in time ({total} bytes read)")
    return parts[0] if len(parts) == 1 else b"".join(parts)


@contextmanager
def open_atomic(uri: str) -> Iterator[BinaryIO]:
    """A binary file handle on a temporary sibling of ``uri``, moved onto ``uri`` when the
    block ends without an error (and removed when it fails), so a large file can be streamed
    into place without being held in memory."""
    fs, path = fs_and_path(uri)
    parent = posixpath.dirname(path)
    if parent:
        fs.makedirs(parent, exist_ok=True)
    tmp = posixpath.join(parent, f".tmp-{uuid.uuid4().hex}-{posixpath.basename(path)}")
    try:
        with fs.open(tmp, "wb") as fh:
            yield fh
    except BaseException:
        if fs.exists(tmp):
            fs.rm(tmp)
        raise
    fs.mv(tmp, path)


def write_bytes_atomic(uri: str, data: bytes) -> None:
    """Write ``data`` to a temporary sibling and move it onto ``uri``."""
    with open_atomic(uri) as fh:
        fh.write(data)


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
