"""One loaded model per worker process and key, shared by every DoFn and task that needs it.

Why: Beam 2.77's DaskRunner builds a stage's DoFns and calls ``setup()``/``teardown()`` once per
Dask partition (``pipelines/runners.py``, point 4), and every recording (analyse), pack (decide)
and shard (publish) is a partition of its own, while Dask's worker processes live for the whole
command. A model loaded in ``setup()`` was therefore loaded once per recording. Here the DoFn asks
:func:`shared` for it instead: the first task of a process loads it, later tasks (and other
threads, and other DoFn instances with the same settings) get the same object.

Why not ``apache_beam.utils.shared.Shared`` (what RunInference uses): its key is a uuid made
when the handle is constructed, so two transforms that load the same model hold two copies; and
its map keeps only the most recently acquired object alive (Beam documents "each stage can only
use exactly one Shared token"): analyse's fused stage holds fastText, Whisper and DNSMOS, each
acquire would drop the others' keep-alive reference, and they would be collected at the end of
every partition once the DoFns let go of them. A dict with a lock per key keeps every model and
names it by what changes it.

The rules:

* The key holds everything that changes the loaded object (model name or path, device,
  compute type, thread counts...); two keys never share an object.
* One lock per key: two threads asking for the same key load it once (the second waits); other
  keys load in parallel.
* A failed load is not cached: the exception reaches the caller and the next call tries again.
* A process started by ``fork`` does not inherit the parent's objects (native models such as
  CTranslate2's are not fork-safe): the cache is emptied when the pid changes.
* The objects stay until :func:`clear`, which ``pipelines.runners.pipeline`` calls at the end of
  each phase in the launcher and on every Dask worker, so a phase's models do not sit in memory
  through the next phase. A DoFn that still holds an object keeps it alive; clearing only drops
  the cache's reference.

Shared objects are used from several threads at once (a Dask worker may run several tasks): the
models cached here are used read-only (CTranslate2, onnxruntime sessions and fastText predict
are thread-safe).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class _Entry:
    __slots__ = ("loaded", "lock", "value")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loaded = False
        self.value: Any = None


_lock = threading.Lock()  # guards _entries and _pid, never held while loading
_entries: dict[Hashable, _Entry] = {}
_pid = os.getpid()


def _entry(key: Hashable) -> _Entry:
    global _entries, _pid
    with _lock:
        if _pid != os.getpid():  # a forked child: nothing of the parent's is reused
            _entries, _pid = {}, os.getpid()
        entry = _entries.get(key)
        if entry is None:
            entry = _entries[key] = _Entry()
        return entry


def shared(key: Hashable, loader: Callable[[], T]) -> T:
    """The object ``loader()`` returns, loaded once per process for ``key``."""
    entry = _entry(key)
    with entry.lock:
        if not entry.loaded:
            log.debug("model cache: loading %r in process %d", key, os.getpid())
            entry.value = loader()  # raises: nothing is stored, the next call loads again
            entry.loaded = True
        return entry.value


def cached(key: Hashable) -> bool:
    """Whether ``key`` is loaded in this process."""
    with _lock:
        entry = _entries.get(key) if _pid == os.getpid() else None
    return entry is not None and entry.loaded


def clear() -> int:
    """Drop every cached object of this process; returns how many were loaded."""
    global _entries
    with _lock:
        old, _entries = _entries, {}
    return sum(e.loaded for e in old.values())
