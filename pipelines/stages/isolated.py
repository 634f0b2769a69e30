"""Run a decoder in a child process with a deadline.

FFmpeg can hang or crash on hostile input. A crash in the worker process would take the whole
bundle down and a hang would stall the job, so decoding happens in a single-process pool per
worker: a timeout or a dead child becomes a reject and the pool is replaced.

The child dies with its parent: a run killed with SIGKILL leaves no decoder (and so no
multiprocessing resource tracker, which exits once the last process holding its pipe is gone)
behind. On Linux the child asks the kernel for SIGKILL when its parent dies
(``prctl(PR_SET_PDEATHSIG)``); elsewhere a watchdog thread in the child polls its parent. The
kernel ties that signal to the parent *thread* that started the child, so children are started
from one daemon thread that lives as long as the process, never from a short-lived worker
thread (Beam's threads come and go).

Children outlive DoFns: Beam's DaskRunner sets a DoFn up and tears it down for every partition
(every recording), and starting a child (a fresh interpreter importing numpy and the decoders)
for each one cost more than decoding many recordings. A DoFn borrows a decoder from the process's
idle ones (:func:`borrow_decoder`) for one decode and gives it back; a decoder is used by one
thread at a time, so one thread's deadline never includes another's decode, and the reset after a
timeout or a crash kills only the child whose input caused it (the decoder goes back without a
child and starts a new one when next used). Idle children are at most as many as threads that
decoded at once; :func:`close_idle` ends them (``pipelines.runners.pipeline`` calls it at the end
of each phase, in the launcher and on every Dask worker).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from filters.audio import AudioError, DecodedAudio, decode_audio
from schemas.reasons import Reason

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCHDOG_INTERVAL_S = 0.5


def _die_with_parent(parent_pid: int) -> None:
    """Child initializer: be killed when the parent process dies (never raises)."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watchdog",
                         daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(WATCHDOG_INTERVAL_S)
    os._exit(1)


_spawner: tuple[int, queue.SimpleQueue] | None = None  # (pid that owns it, its work queue)
_spawner_lock = threading.Lock()


def _spawner_loop(work: queue.SimpleQueue) -> None:
    while True:
        future, fn, args = work.get()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            future.set_exception(exc)


def in_spawner_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn(*args)`` on this process's long-lived spawner thread and return its result."""
    global _spawner
    with _spawner_lock:
        if _spawner is None or _spawner[0] != os.getpid():  # none yet, or inherited by a fork
            work: queue.SimpleQueue = queue.SimpleQueue()
            threading.Thread(target=_spawner_loop, args=(work,), name="decoder-spawner",
                             daemon=True).start()
            _spawner = (os.getpid(), work)
        work = _spawner[1]
    future: cf.Future = cf.Future()
    work.put((future, fn, args))
    return future.result()


class IsolatedDecoder:
    def __init__(self, timeout_s: float):
        self.timeout_s = timeout_s
        self._pool: cf.ProcessPoolExecutor | None = None

    def _get_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            pool = cf.ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                initializer=_die_with_parent, initargs=(os.getpid(),))
            # The first submit starts the child: do it from the spawner thread (see the module
            # docstring). The no-op's result is not awaited, so the decode deadline still
            # covers the child's start-up.
            in_spawner_thread(pool.submit, os.getpid)
            self._pool = pool
        return self._pool

    @property
    def child_pid(self) -> int | None:
        """The decoder child's pid (None before the first decode or after a reset)."""
        pool = self._pool
        pids = list(getattr(pool, "_processes", None) or {}) if pool is not None else []
        return pids[0] if pids else None

    def _reset(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.kill()
            pool.shutdown(wait=False, cancel_futures=True)

    def _submit(self, data: bytes, max_duration_s: float, min_duration_s: float) -> cf.Future:
        try:
            return self._get_pool().submit(decode_audio, data, max_duration_s, min_duration_s)
        except cf.process.BrokenProcessPool:  # the idle child died (OOM killer, a signal)
            self._reset()
            return self._get_pool().submit(decode_audio, data, max_duration_s, min_duration_s)

    def decode(self, data: bytes, max_duration_s: float, min_duration_s: float) -> DecodedAudio:
        future = self._submit(data, max_duration_s, min_duration_s)
        try:
            return future.result(timeout=self.timeout_s)
        except cf.TimeoutError as exc:
            self._reset()
            detail = f"decoding took longer than decode.timeout_s={self.timeout_s}"
            raise AudioError(Reason.DECODE_TIMEOUT, detail) from exc
        except cf.process.BrokenProcessPool as exc:
            self._reset()
            raise AudioError(Reason.CORRUPT_AUDIO, "the decoder process crashed") from exc

    def close(self) -> None:
        self._reset()


_idle: list[IsolatedDecoder] = []  # this process's decoders that no thread is using
_idle_lock = threading.Lock()
_idle_pid = os.getpid()


@contextlib.contextmanager
def borrow_decoder(timeout_s: float) -> Iterator[IsolatedDecoder]:
    """An idle decoder of this process (or a new one) for this thread's use only, with the
    deadline ``timeout_s``; it goes back to the idle ones when the block ends, also after a
    timeout or a crash (it has reset itself then)."""
    global _idle, _idle_pid
    with _idle_lock:
        if _idle_pid != os.getpid():  # a forked child: the parent's decoders are not ours
            _idle, _idle_pid = [], os.getpid()
        decoder = _idle.pop() if _idle else IsolatedDecoder(timeout_s)
    decoder.timeout_s = timeout_s
    try:
        yield decoder
    finally:
        with _idle_lock:
            if _idle_pid == os.getpid():
                _idle.append(decoder)


def close_idle() -> int:
    """End every idle decoder child of this process; returns how many decoders were idle.
    Decoders borrowed at the time are not touched."""
    with _idle_lock:
        idle = _idle[:] if _idle_pid == os.getpid() else []
        _idle.clear()
    for decoder in idle:
        decoder.close()
    return len(idle)
