"""A fetcher that cannot be turned against its host: every hop checked, every read bounded.

Guarantees, per fetch:
- each redirect hop is canonicalised, checked against the opt-out list and the caller's rules
  (robots.txt), resolved, and the resolved addresses checked against the address policy; the
  connection then goes to the checked IP (no second DNS lookup, so no DNS rebinding);
- a total deadline covers connecting, redirects, retries and the body; no socket wait exceeds it;
- the body is read in chunks up to a byte cap, a declared Content-Length over the cap is refused
  before reading, and compressed bodies are decompressed under their own cap (gzip bombs);
- 429 and 5xx are retried with exponential backoff, honouring ``Retry-After`` up to a ceiling;
- conditional GET: an ETag / Last-Modified from a previous fetch turns an unchanged resource
  into a 304 without a body;
- HTTPS certificates are verified against certifi's CA bundle for the URL's host name; a failed
  handshake (self-signed, expired, wrong host, not TLS) is ``tls_error`` and is not retried.

Every failure raises :class:`FetchError` whose ``reason`` is a reject reason code.
"""

from __future__ import annotations

import email.utils
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from filters.web.compression import CappedDecompressor, CorruptEncoding, TooLarge
from filters.web.policy import AddressBlocked, IPNetwork, OptOut, ResolveFailed, resolve_checked
from filters.web.urls import BadUrl, canonicalize_url

REDIRECT_STATUSES = (301, 302, 303, 307, 308)
RETRY_STATUSES = (429, 500, 502, 503, 504)
CHUNK = 64 * 1024


class FetchError(Exception):
    """A fetch that produced no usable body; ``reason`` is a reject reason code."""

    def __init__(self, reason: str, detail: str, url: str = "", status: int | None = None):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.url = url
        self.status = status


@dataclass(frozen=True)
class FetchPolicy:
    """Limits and identity for one source's fetches."""

    user_agent: str = "speechcurate/0.1 (+https://example.invalid/speechcurate)"
    connect_timeout_s: float = 5.0  # per connection attempt
    read_timeout_s: float = 15.0  # longest silence tolerated between two reads
    deadline_s: float = 60.0  # total wall time for one fetch: redirects, retries, body
    max_bytes: int = 512 * 1024**2  # cap on bytes received (compressed) per fetch
    max_decompressed_bytes: int = 512 * 1024**2  # cap on bytes after Content-Encoding
    max_redirects: int = 5  # redirect hops followed before giving up
    retries: int = 2  # extra attempts after a 429 / 5xx / connection failure
    backoff_s: float = 0.5  # first backoff; doubles each retry
    max_retry_after_s: float = 30.0  # a Retry-After longer than this fails the fetch instead
    allow_networks: tuple[IPNetwork, ...] = ()  # non-public networks this source may reach
    opt_out: OptOut = field(default_factory=OptOut)  # domains / prefixes never fetched
    verify_tls: bool = True  # verify certificates (always, except in tests with self-signed)


@dataclass(frozen=True)
class FetchResult:
    url: str  # the canonical URL asked for
    final_url: str  # the URL after redirects
    status: int
    body: bytes = b""
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    content_length: int | None = None  # as declared by the server
    redirects: tuple[str, ...] = ()
    fetched_at: str = ""
    content_language: str = ""  # the Content-Language header (a feed's language when it has none)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now_dt = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
    return max(0.0, (when - now_dt).total_seconds())


def utc_now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Fetcher:
    """Fetches URLs under a :class:`FetchPolicy`; reuses connections per (host, address)."""

    def __init__(self, policy: FetchPolicy, pool_size: int = 2):
        self.policy = policy
        self.pool_size = pool_size
        self._pools: dict[tuple[str, str, int, str], object] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()  # type: ignore[attr-defined]
            self._pools.clear()

    # ------------------------------------------------------------------ connection

    def _pool(self, scheme: str, ip: str, port: int, host: str):  # noqa: ANN202
        import urllib3

        key = (scheme, ip, port, host)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                if scheme == "https":
                    import certifi

                    pool = urllib3.HTTPSConnectionPool(
                        ip, port, maxsize=self.pool_size, retries=False,
                        server_hostname=host, assert_hostname=host,
                        cert_reqs="CERT_REQUIRED" if self.policy.verify_tls else "CERT_NONE",
                        ca_certs=certifi.where() if self.policy.verify_tls else None,
                    )
                else:
                    pool = urllib3.HTTPConnectionPool(
                        ip, port, maxsize=self.pool_size, retries=False
                    )
                self._pools[key] = pool
            return pool

    def _open(self, url: str, headers: dict[str, str], deadline: float, p: FetchPolicy):  # noqa: ANN202
        import urllib3

        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addrs = resolve_checked(host, port, p.allow_networks)
        except AddressBlocked as exc:
            raise FetchError("ssrf_blocked", str(exc), url) from exc
        except ResolveFailed as exc:
            raise FetchError("dns_failed", str(exc), url) from exc
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("timeout", "deadline passed before connecting", url)
        timeout = urllib3.Timeout(
            connect=min(p.connect_timeout_s, remaining),
            read=min(p.read_timeout_s, remaining),
        )
        path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        pool = self._pool(parts.scheme, str(addrs[0]), port, host)
        try:
            return pool.urlopen(  # type: ignore[attr-defined]
                "GET", path, headers={**headers, "Host": parts.netloc}, redirect=False,
                retries=False, preload_content=False, decode_content=False, timeout=timeout,
                assert_same_host=False,
            )
        except (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.ReadTimeoutError) as e:
            raise FetchError("timeout", f"no response: {e}", url) from e
        except (urllib3.exceptions.SSLError, ssl.SSLError) as exc:
            # certificate not verifiable, wrong host, expired, not TLS at all: never retried
            raise FetchError("tls_error", f"TLS handshake with {host} failed: {exc}", url) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise FetchError("fetch_failed", f"{type(exc).__name__}: {exc}", url) from exc
        except OSError as exc:
            raise FetchError("fetch_failed", f"{type(exc).__name__}: {exc}", url) from exc

    # ------------------------------------------------------------------ body

    def _read_body(self, resp, url: str, deadline: float, p: FetchPolicy) -> bytes:  # noqa: ANN001
        import urllib3

        encoding = (resp.headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding in ("identity", ""):
            decomp = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            decomp = CappedDecompressor(p.max_decompressed_bytes)
        else:
            raise FetchError("unsupported_encoding", f"Content-Encoding {encoding!r}", url)
        out = bytearray()
        received = 0
        try:
            while True:
                if time.monotonic() > deadline:
                    raise FetchError("timeout", f"body not complete after {p.deadline_s:g}s "
                                     f"({received} bytes received)", url)
                chunk = resp.read1(CHUNK)
                if not chunk:
                    break
                received += len(chunk)
                if received > p.max_bytes:
                    raise FetchError("too_large", f"body exceeds {p.max_bytes} bytes", url)
                out += decomp.feed(chunk) if decomp else chunk
            if decomp:
                decomp.finish()
        except TooLarge as exc:
            raise FetchError("too_large", str(exc), url) from exc
        except CorruptEncoding as exc:
            raise FetchError("corrupt_encoding", str(exc), url) from exc
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise FetchError("timeout", f"read stalled: {exc}", url) from exc
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.IncompleteRead) as exc:
            raise FetchError("truncated", f"body ended early: {exc}", url) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise FetchError("fetch_failed", f"{type(exc).__name__}: {exc}", url) from exc
        return bytes(out)

    # ------------------------------------------------------------------ fetch

    def fetch(
        self,
        url: str,
        *,
        etag: str = "",
        last_modified: str = "",
        accept: str = "*/*",
        check: Callable[[str], str | None] | None = None,
        max_bytes: int | None = None,
    ) -> FetchResult:
        """GET ``url`` under the policy. ``check(url)`` returns a reject reason to refuse a hop
        (robots.txt); ``max_bytes`` lowers the byte cap for this fetch."""
        p = self.policy
        if max_bytes is not None and max_bytes < p.max_bytes:
            p = replace(p, max_bytes=max_bytes,
                        max_decompressed_bytes=min(max_bytes * 4, p.max_decompressed_bytes))
        deadline = time.monotonic() + p.deadline_s
        try:
            current = canonicalize_url(url)
        except BadUrl as exc:
            raise FetchError("bad_url", str(exc), url) from exc
        headers = {"User-Agent": p.user_agent, "Accept": accept,
                   "Accept-Encoding": "gzip, deflate"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        seen = [current]
        attempt = 0
        while True:
            if p.opt_out.blocks(current):
                raise FetchError("opted_out", f"{current} is on the opt-out list", current)
            if check is not None:
                refused = check(current)
                if refused:
                    raise FetchError(refused, f"{current} refused by policy", current)
            try:
                resp = self._open(current, headers, deadline, p)
            except FetchError as exc:
                if exc.reason in ("fetch_failed",) and attempt < p.retries:
                    attempt += 1
                    self._sleep_backoff(p.backoff_s * 2 ** (attempt - 1), deadline, exc)
                    continue
                raise
            status = resp.status
            if status in REDIRECT_STATUSES:
                location = resp.headers.get("Location")
                _discard(resp)
                if not location:
                    raise FetchError("bad_redirect", f"{status} without Location", current, status)
                try:
                    nxt = canonicalize_url(location, base=current)
                except BadUrl as exc:
                    raise FetchError("bad_redirect", str(exc), current, status) from exc
                if nxt in seen:
                    raise FetchError("redirect_loop", " -> ".join([*seen, nxt]), url, status)
                if len(seen) > p.max_redirects:
                    raise FetchError("too_many_redirects",
                                     f"more than {p.max_redirects} redirects", url, status)
                seen.append(nxt)
                current = nxt
                continue
            if status in RETRY_STATUSES:
                wait = parse_retry_after(resp.headers.get("Retry-After"))
                _discard(resp)
                err = FetchError(f"http_{status}", f"HTTP {status} from {current}", current,
                                 status)
                if attempt >= p.retries:
                    raise err
                if wait is None:
                    wait = p.backoff_s * 2**attempt
                elif wait > p.max_retry_after_s:
                    raise FetchError(f"http_{status}", f"Retry-After {wait:g}s exceeds "
                                     f"{p.max_retry_after_s:g}s", current, status)
                attempt += 1
                self._sleep_backoff(wait, deadline, err)
                continue
            break
        content_length = resp.headers.get("Content-Length")
        try:
            declared = int(content_length) if content_length is not None else None
        except ValueError:
            declared = None
        common = dict(
            url=seen[0], final_url=current, status=status,
            content_type=(resp.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower(),
            etag=resp.headers.get("ETag") or "", last_modified=resp.headers.get("Last-Modified")
            or "", content_length=declared, redirects=tuple(seen[1:]), fetched_at=utc_now_iso(),
            content_language=(resp.headers.get("Content-Language") or "").strip(),
        )
        if status == 304:
            _discard(resp)
            return FetchResult(**common)
        if status >= 400 or status < 200:
            _discard(resp)
            raise FetchError(f"http_{status}", f"HTTP {status} from {current}", current, status)
        if declared is not None and declared > p.max_bytes:
            _discard(resp)
            raise FetchError("too_large", f"Content-Length {declared} exceeds {p.max_bytes}",
                             current, status)
        try:
            body = self._read_body(resp, current, deadline, p)
        except FetchError:
            _discard(resp)  # never hand a half-read connection back to the pool
            raise
        resp.release_conn()
        return FetchResult(body=body, **common)

    @staticmethod
    def _sleep_backoff(wait: float, deadline: float, err: FetchError) -> None:
        if time.monotonic() + wait > deadline:
            raise err
        time.sleep(wait)


def _discard(resp) -> None:  # noqa: ANN001
    """Close a response whose body we will not read and return its (closed) connection."""
    try:
        resp.close()
        resp.release_conn()
    except Exception:  # noqa: BLE001 - closing must never fail a fetch
        pass
