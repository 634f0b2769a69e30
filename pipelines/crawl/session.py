"""Per-worker crawl state: one fetcher per source, robots.txt cache, per-host throttles.

A :class:`WebSession` lives in a DoFn (created in ``setup()``), so connections, robots.txt
answers and politeness slots are shared by every element that worker processes.
"""

from __future__ import annotations

import threading
from typing import Any

from filters.web.fetcher import Fetcher, FetchError, FetchPolicy, FetchResult
from filters.web.policy import OptOut, parse_networks
from filters.web.robots import RobotsPolicy, robots_url
from filters.web.throttle import HostThrottle
from filters.web.urls import host_of
from pipelines.crawl.config import CrawlConfig

# Robots fetch failures that mean "the server is unreachable": RFC 9309 says disallow all.
_UNREACHABLE = {"timeout", "fetch_failed", "dns_failed", "truncated", "too_large",
                "redirect_loop", "too_many_redirects", "corrupt_encoding"}


class WebSession:
    def __init__(self, crawl: CrawlConfig, sources: dict[str, Any]):
        self.crawl = crawl
        self.sources = sources
        self._fetchers: dict[str, Fetcher] = {}
        self._robots: dict[str, RobotsPolicy] = {}
        self._throttles: dict[str, HostThrottle] = {}
        self._lock = threading.Lock()
        self._robots_locks: dict[str, threading.Lock] = {}

    def close(self) -> None:
        for f in self._fetchers.values():
            f.close()

    def fetcher(self, source_name: str) -> Fetcher:
        with self._lock:
            f = self._fetchers.get(source_name)
            if f is None:
                c = self.crawl
                src = self.sources.get(source_name)
                nets = parse_networks(getattr(src, "allow_networks", ()) or ())
                opt = OptOut(tuple(c.opt_out) + tuple(getattr(src, "opt_out", ()) or ()))
                policy = FetchPolicy(
                    user_agent=c.user_agent, connect_timeout_s=c.connect_timeout_s,
                    read_timeout_s=c.read_timeout_s, deadline_s=c.deadline_s,
                    max_bytes=c.max_bytes, max_decompressed_bytes=c.max_decompressed_bytes,
                    max_redirects=c.max_redirects, retries=c.retries, backoff_s=c.backoff_s,
                    max_retry_after_s=c.max_retry_after_s, allow_networks=nets, opt_out=opt,
                )
                f = Fetcher(policy, pool_size=max(2, c.per_host_concurrency))
                self._fetchers[source_name] = f
            return f

    def throttle(self, host: str) -> HostThrottle:
        with self._lock:
            t = self._throttles.get(host)
            if t is None:
                t = HostThrottle(self.crawl.delay_s)
                self._throttles[host] = t
            return t

    def robots(self, url: str, source_name: str) -> RobotsPolicy:
        """The robots.txt policy for ``url``'s host, fetched once per worker."""
        key = robots_url(url)
        with self._lock:
            cached = self._robots.get(key)
            lock = self._robots_locks.setdefault(key, threading.Lock())
        if cached is not None:
            return cached
        with lock:
            if key in self._robots:
                return self._robots[key]
            self.throttle(host_of(url)).wait()
            try:
                res = self.fetcher(source_name).fetch(key, max_bytes=self.crawl.max_page_bytes,
                                                      accept="text/plain")
                policy = RobotsPolicy.from_response(res.status, res.body)
            except FetchError as exc:
                if exc.status is not None:
                    policy = RobotsPolicy.from_response(exc.status)
                elif exc.reason in _UNREACHABLE:
                    policy = RobotsPolicy.from_response(None)
                else:  # ssrf_blocked / opted_out / tls_error: the real fetch fails for that reason
                    policy = RobotsPolicy(mode="allow_all")
            delay = policy.crawl_delay(self.crawl.robots_token)
            if delay is not None:
                t = self.throttle(host_of(url))
                t.set_interval(max(self.crawl.delay_s, min(delay, self.crawl.max_crawl_delay_s)))
            with self._lock:
                self._robots[key] = policy
            return policy

    def allowed(self, url: str, source_name: str) -> bool:
        c = self.crawl
        tokens = tuple(c.ai_optout_tokens) if c.respect_ai_optout else ()
        return self.robots(url, source_name).allows(url, c.robots_token, tokens)

    def get(self, url: str, source_name: str, *, max_bytes: int | None = None,
            etag: str = "", last_modified: str = "", accept: str = "*/*") -> FetchResult:
        """Fetch ``url`` politely: robots.txt for every hop, the host's throttle first."""

        def check(hop: str) -> str | None:
            return None if self.allowed(hop, source_name) else "robots_disallowed"

        if not self.fetcher(source_name).policy.opt_out.blocks(url):
            if check(url):
                raise FetchError("robots_disallowed", f"robots.txt disallows {url}", url)
        self.throttle(host_of(url)).wait()
        return self.fetcher(source_name).fetch(url, check=check, max_bytes=max_bytes, etag=etag,
                                               last_modified=last_modified, accept=accept)
