"""Per-host politeness: a minimum interval between request starts, shared by a host's threads."""

from __future__ import annotations

import threading
import time


class HostThrottle:
    """Hands out request slots at least ``interval_s`` apart (thread-safe).

    Each caller reserves the next free slot under a lock and sleeps outside it, so several
    threads of one host keep the spacing without serialising their downloads.
    """

    def __init__(self, interval_s: float):
        self.interval_s = max(0.0, float(interval_s))
        self._lock = threading.Lock()
        self._next = 0.0

    def set_interval(self, interval_s: float) -> None:
        with self._lock:
            self.interval_s = max(0.0, float(interval_s))

    def wait(self) -> float:
        """Block until this caller may start a request; return the seconds waited."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval_s
        delay = slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return max(0.0, delay)
