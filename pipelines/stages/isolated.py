"""Run a decoder in a child process with a deadline.

FFmpeg can hang or crash on hostile input. A crash in the worker process would take the whole
bundle down and a hang would stall the job, so decoding happens in a single-process pool per
worker: a timeout or a dead child becomes a reject and the pool is replaced.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing

from filters.audio import AudioError, DecodedAudio, decode_audio
from schemas.reasons import Reason

log = logging.getLogger(__name__)


class IsolatedDecoder:
    def __init__(self, timeout_s: float):
        self.timeout_s = timeout_s
        self._pool: cf.ProcessPoolExecutor | None = None

    def _get_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def _reset(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.kill()
            pool.shutdown(wait=False, cancel_futures=True)

    def decode(self, data: bytes, max_duration_s: float, min_duration_s: float) -> DecodedAudio:
        future = self._get_pool().submit(decode_audio, data, max_duration_s, min_duration_s)
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
