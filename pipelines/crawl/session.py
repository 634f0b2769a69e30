"""Per-worker crawl state: one fetcher per source, robots.txt cache, per-host throttles.

A :class:`WebSession` lives in a DoFn (created in ``setup()``), so connections, robots.txt
answers and politeness slots are shared by every element that worker processes. Every key is
built from the canonical URL (:func:`filters.web.urls.canonicalize_url`), so ``127.1``,
``0x7f000001`` and ``127.0.0.1`` share one robots.txt, one throttle and one opt-out verdict.

robots.txt fails closed: only a real 4xx answer means "no rules"; every other failure to read it
(5xx, 429, timeout, refused or TLS-failing redirect target, undecodable encoding ...) disallows
the whole host. When the failure is the host's own (robots.txt itself, not a redirect target,
refused by the address policy, TLS or DNS), its fetches are rejected with that reason, which is
what fetching them would have met first; otherwise with ``robots_disallowed``.
"""

from __future__ import annotations

import threading
from typing import Any

from filters.web.fetcher import Fetcher, FetchError, FetchPolicy, FetchResult
from filters.web.policy import OptOut, parse_networks, parse_ports
from filters.web.robots import MAX_ROBOTS_BYTES, RobotsPolicy, robots_url
from filters.web.throttle import HostThrottle
from filters.web.urls import BadUrl, canonicalize_url, host_of
from pipelines.crawl.config import CrawlConfig

# robots.txt failures of the host itself that every fetch from it would meet first: its fetches
# are rejected with that reason rather than robots_disallowed (both fetch nothing).
_HOST_FAILURES = frozenset({"ssrf_blocked", "tls_error", "dns_failed"})


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
                ports = parse_ports(getattr(src, "allow_ports", ()) or ())
                opt = OptOut(tuple(c.opt_out) + tuple(getattr(src, "opt_out", ()) or ()))
                policy = FetchPolicy(
                    user_agent=c.user_agent, connect_timeout_s=c.connect_timeout_s,
                    read_timeout_s=c.read_timeout_s, deadline_s=c.deadline_s,
                    max_bytes=c.max_bytes, max_decompressed_bytes=c.max_decompressed_bytes,
                    max_redirects=c.max_redirects, retries=c.retries, backoff_s=c.backoff_s,
                    max_retry_after_s=c.max_retry_after_s, allow_networks=nets,
                    allow_ports=ports, opt_out=opt,
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
                res = self.fetcher(source_name).fetch(  # at least 500 KiB, whatever the cap
                    key, max_bytes=max(self.crawl.max_page_bytes, MAX_ROBOTS_BYTES),
                    accept="text/plain", head_bytes=MAX_ROBOTS_BYTES)
                policy = RobotsPolicy.from_response(res.status, res.body, cut=res.partial)
            except FetchError as exc:
                if exc.caller_deadline:  # the enclosing fetch ran out of time: no verdict to keep
                    return RobotsPolicy.unreachable(exc.reason, exc.detail)
                if exc.reason == f"http_{exc.status}":  # a real HTTP answer: 4xx or 5xx/429
                    policy = RobotsPolicy.from_response(exc.status)
                else:  # anything else: unreachable, so complete disallow (never allow-all)
                    policy = RobotsPolicy.unreachable(exc.reason, exc.detail,
                                                      on_host=(exc.url or key) == key)
            delay = policy.crawl_delay(self.crawl.robots_token)
            if delay is not None:
                t = self.throttle(host_of(url))
                t.set_interval(max(self.crawl.delay_s, min(delay, self.crawl.max_crawl_delay_s)))
            with self._lock:
                self._robots[key] = policy
            return policy

    def allowed(self, url: str, source_name: str) -> bool:
        return self.refusal(url, source_name) is None

    def refusal(self, url: str, source_name: str) -> tuple[str, str] | None:
        """Why robots.txt refuses ``url`` (reason, detail), or None when it may be fetched."""
        c = self.crawl
        tokens = tuple(c.ai_optout_tokens) if c.respect_ai_optout else ()
        policy = self.robots(url, source_name)
        if policy.allows(url, c.robots_token, tokens):
            return None
        if policy.cause in _HOST_FAILURES and policy.cause_on_host:
            return policy.cause, f"{url}: robots.txt of its host failed: {policy.cause_detail}"
        if policy.cause:
            detail = f": {policy.cause_detail}" if policy.cause_detail else ""
            return ("robots_disallowed", f"{url}: robots.txt unreachable ({policy.cause}"
                    f"{detail}); RFC 9309: complete disallow")
        return "robots_disallowed", f"robots.txt disallows {url}"

    def get(self, url: str, source_name: str, *, max_bytes: int | None = None,
            etag: str = "", last_modified: str = "", accept: str = "*/*") -> FetchResult:
        """Fetch ``url`` politely: robots.txt for every hop, the host's throttle first."""
        try:
            url = canonicalize_url(url)
        except BadUrl as exc:
            raise FetchError("bad_url", str(exc), url) from exc

        def check(hop: str) -> tuple[str, str] | None:
            return self.refusal(hop, source_name)

        if not self.fetcher(source_name).policy.opt_out.blocks(url):
            refused = check(url)
            if refused:
                raise FetchError(refused[0], refused[1], url)
        self.throttle(host_of(url)).wait()
        return self.fetcher(source_name).fetch(url, check=check, max_bytes=max_bytes, etag=etag,
                                               last_modified=last_modified, accept=accept)
