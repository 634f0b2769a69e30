"""A fetcher that cannot be turned against its host: every hop checked, every read bounded.

Guarantees, per fetch:
- each redirect hop is canonicalised, checked against the opt-out list and the caller's rules
  (robots.txt), resolved, and the resolved addresses checked against the address policy; the
  connection then goes to the checked IP (no second DNS lookup, so no DNS rebinding);
- a total deadline (``deadline_s``) covers DNS, connecting, the TLS handshake, redirects, retries,
  response headers and the body: every socket wait is shortened to the time left, and a watchdog
  shuts the fetch's sockets down when the deadline passes, so a server that drips its headers
  one byte a second, or sends ``100 Continue`` forever, is cut off on time (reason ``timeout``);
- the body is read in chunks up to a byte cap, a declared Content-Length over the cap is refused
  before reading, and compressed bodies are decompressed under their own cap (gzip bombs);
- a body that ends before its declared Content-Length is ``truncated`` (a body without a
  Content-Length that ends early cannot be told from a complete one: see the README);
- 429 and 5xx are retried with exponential backoff, honouring ``Retry-After`` up to a ceiling;
- conditional GET: an ETag / Last-Modified from a previous fetch turns an unchanged resource
  into a 304 without a body;
- HTTPS certificates are verified against certifi's CA bundle for the URL's host name; a failed
  handshake (self-signed, expired, wrong host, not TLS) is ``tls_error`` and is not retried.

Every failure raises :class:`FetchError` whose ``reason`` is a reject reason code.
"""

from __future__ import annotations

import email.utils
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from filters.web.compression import CappedDecompressor, CorruptEncoding, TooLarge
from filters.web.policy import (
    AddressBlocked,
    IPNetwork,
    OptOut,
    ResolveFailed,
    ResolveTimeout,
    resolve_checked,
)
from filters.web.urls import BadUrl, canonicalize_url

REDIRECT_STATUSES = (301, 302, 303, 307, 308)
RETRY_STATUSES = (429, 500, 502, 503, 504)
CHUNK = 64 * 1024
DECODED_RATIO = 4  # a lowered byte cap allows this many times as many bytes after decoding
# Failures of the transport: after the deadline has passed they are reported as ``timeout``.
TRANSPORT_REASONS = frozenset({"fetch_failed", "truncated", "tls_error", "timeout",
                               "corrupt_encoding", "dns_failed"})
DEFAULT_USER_AGENT = "speechcurate/0.1 (+https://github.com/speechcurate)"  # = CrawlConfig's


def decoded_cap(max_bytes: int, max_decompressed_bytes: int) -> int:
    """Bytes a document fetched under ``max_bytes`` may grow to once decompressed, whether by
    Content-Encoding or as a ``.gz`` file (sitemaps): one rule for both."""
    return min(max_bytes * DECODED_RATIO, max_decompressed_bytes)


class FetchError(Exception):
    """A fetch that produced no usable body; ``reason`` is a reject reason code."""

    def __init__(self, reason: str, detail: str, url: str = "", status: int | None = None):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.url = url
        self.status = status
        # a timeout that came from the deadline of an enclosing fetch (a robots.txt read for a
        # redirect hop), not from this resource: not a verdict about it
        self.caller_deadline = False


@dataclass(frozen=True)
class FetchPolicy:
    """Limits and identity for one source's fetches."""

    user_agent: str = DEFAULT_USER_AGENT
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
    allow_ports: tuple[int, ...] = ()  # ports those networks may be reached on (empty: any)
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
    partial: bool = False  # the body was cut at ``head_bytes`` (only when asked for)

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


class _Deadline:
    """The wall-clock budget of one fetch.

    ``left()`` shortens every socket timeout to what remains; the watchdog timer shuts down every
    socket the fetch used (it holds duplicates of them, so a TLS handshake in progress is cut too)
    when the deadline passes, which unblocks a read that per-read timeouts never end: headers
    dripped one byte at a time, an endless stream of ``100 Continue``."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.phase = "connecting"
        self.fired = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        return self.at - time.monotonic()

    def expired(self) -> bool:
        return self.fired or time.monotonic() >= self.at

    def watch(self, sock: socket.socket | None) -> None:
        """Shut ``sock`` down at the deadline (now, if it has passed)."""
        if sock is None:
            return
        try:  # socket.dup() is refused by SSLSocket: duplicate the descriptor itself
            dup = socket.socket(sock.family, sock.type, sock.proto, fileno=os.dup(sock.fileno()))
        except (OSError, ValueError):
            return
        with self._lock:
            self._socks.append(dup)
            fired = self.fired
        if fired:
            _shutdown(dup)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            socks = list(self._socks)
        for sock in socks:
            _shutdown(sock)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            socks, self._socks = self._socks, []
        for sock in socks:
            try:
                sock.close()
            except OSError:
                pass


def _shutdown(sock: socket.socket) -> None:
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


_active = threading.local()  # the _Deadline of the fetch running in this thread


def _watch_current(sock: socket.socket | None) -> None:
    deadline = getattr(_active, "deadline", None)
    if deadline is not None:
        deadline.watch(sock)


def _pool_classes() -> tuple[type, type]:
    """urllib3 pools whose connections register their sockets with the running fetch's
    :class:`_Deadline` (new ones when connecting, pooled ones when handed out)."""
    global _POOLS
    if _POOLS is None:
        import urllib3
        from urllib3.connection import HTTPConnection, HTTPSConnection

        class _Conn(HTTPConnection):
            def _new_conn(self):  # noqa: ANN202
                sock = super()._new_conn()
                _watch_current(sock)
                return sock

        class _TlsConn(HTTPSConnection):
            def _new_conn(self):  # noqa: ANN202
                sock = super()._new_conn()
                _watch_current(sock)
                return sock

        def _get_conn(pool_cls: type):  # noqa: ANN202
            def get(self, timeout: float | None = None):  # noqa: ANN001, ANN202
                conn = pool_cls._get_conn(self, timeout)
                _watch_current(getattr(conn, "sock", None))
                return conn
            return get

        http = type("_Pool", (urllib3.HTTPConnectionPool,),
                    {"ConnectionCls": _Conn,
                     "_get_conn": _get_conn(urllib3.HTTPConnectionPool)})
        https = type("_TlsPool", (urllib3.HTTPSConnectionPool,),
                     {"ConnectionCls": _TlsConn,
                      "_get_conn": _get_conn(urllib3.HTTPSConnectionPool)})
        _POOLS = (http, https)
    return _POOLS


_POOLS: tuple[type, type] | None = None


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
        http_pool, https_pool = _pool_classes()
        key = (scheme, ip, port, host)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                if scheme == "https":
                    import certifi

                    pool = https_pool(
                        ip, port, maxsize=self.pool_size, retries=False,
                        server_hostname=host, assert_hostname=host,
                        cert_reqs="CERT_REQUIRED" if self.policy.verify_tls else "CERT_NONE",
                        ca_certs=certifi.where() if self.policy.verify_tls else None,
                    )
                else:
                    pool = http_pool(ip, port, maxsize=self.pool_size, retries=False)
                self._pools[key] = pool
            return pool

    def _open(self, url: str, headers: dict[str, str], clock: _Deadline, p: FetchPolicy):  # noqa: ANN202
        import urllib3

        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        clock.phase = f"resolving {host}"
        try:
            addrs = resolve_checked(host, port, p.allow_networks, p.allow_ports,
                                    timeout=max(0.0, clock.left()))
        except AddressBlocked as exc:
            raise FetchError("ssrf_blocked", str(exc), url) from exc
        except ResolveTimeout as exc:
            raise FetchError("timeout", str(exc), url) from exc
        except ResolveFailed as exc:
            raise FetchError("dns_failed", str(exc), url) from exc
        remaining = clock.left()
        if remaining <= 0:
            raise FetchError("timeout", "deadline passed before connecting", url)
        timeout = urllib3.Timeout(
            connect=min(p.connect_timeout_s, remaining),
            read=min(p.read_timeout_s, remaining),
        )
        path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        pool = self._pool(parts.scheme, str(addrs[0]), port, host)
        clock.phase = f"waiting for the response headers of {url}"
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

    @staticmethod
    def _shrink_read_timeout(resp, clock: _Deadline, p: FetchPolicy) -> None:  # noqa: ANN001
        """The next read waits at most the read timeout and never past the deadline."""
        conn = getattr(resp, "connection", None)
        sock = getattr(conn, "sock", None)
        if sock is not None:
            try:
                sock.settimeout(max(0.001, min(p.read_timeout_s, clock.left())))
            except OSError:
                pass

    def _read_body(self, resp, url: str, clock: _Deadline, p: FetchPolicy,  # noqa: ANN001
                   declared: int | None, head_bytes: int | None) -> tuple[bytes, bool]:
        """The body (decoded) and whether it was cut at ``head_bytes``."""
        import urllib3

        encoding = (resp.headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding in ("identity", ""):
            decomp = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            decomp = CappedDecompressor(p.max_decompressed_bytes)
        else:
            raise FetchError("unsupported_encoding", f"Content-Encoding {encoding!r}", url)
        clock.phase = f"reading the body of {url}"
        out = bytearray()
        received = 0
        try:
            while True:
                if clock.expired():
                    raise FetchError("timeout", f"body not complete after {p.deadline_s:g}s "
                                     f"({received} bytes received)", url)
                if head_bytes is not None and len(out) >= head_bytes:
                    return bytes(out[:head_bytes]), True
                self._shrink_read_timeout(resp, clock, p)
                chunk = resp.read1(CHUNK)
                if not chunk:
                    break
                received += len(chunk)
                if received > p.max_bytes:
                    if head_bytes is not None:  # enough of it: keep the head, drop the rest
                        chunk = chunk[:len(chunk) - (received - p.max_bytes)]
                        out += decomp.feed(chunk) if decomp else chunk
                        return bytes(out[:head_bytes]), True
                    raise FetchError("too_large", f"body exceeds {p.max_bytes} bytes", url)
                out += decomp.feed(chunk) if decomp else chunk
            if clock.expired():  # the watchdog cut the connection: what we have is not all
                raise FetchError("timeout", f"body not complete after {p.deadline_s:g}s "
                                 f"({received} bytes received)", url)
            if declared is not None and received < declared:
                raise FetchError("truncated", f"body ended after {received} of {declared} "
                                 "bytes (Content-Length)", url)
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
        if head_bytes is not None and len(out) > head_bytes:
            return bytes(out[:head_bytes]), True
        return bytes(out), False

    # ------------------------------------------------------------------ fetch

    def fetch(
        self,
        url: str,
        *,
        etag: str = "",
        last_modified: str = "",
        accept: str = "*/*",
        check: Callable[[str], str | tuple[str, str] | None] | None = None,
        max_bytes: int | None = None,
        head_bytes: int | None = None,
    ) -> FetchResult:
        """GET ``url`` under the policy, within ``deadline_s`` from now, whatever the server does.

        ``check(url)`` returns a reject reason (or ``(reason, detail)``) to refuse a hop
        (robots.txt); ``max_bytes`` lowers the byte cap for this fetch; ``head_bytes`` keeps only
        the first bytes of the (decoded) body and cuts the rest instead of refusing a body over
        the cap (``partial`` says it was cut: robots.txt, RFC 9309 section 2.5)."""
        p = self.policy
        if max_bytes is not None and max_bytes < p.max_bytes:
            p = replace(p, max_bytes=max_bytes,
                        max_decompressed_bytes=decoded_cap(max_bytes, p.max_decompressed_bytes))
        # A fetch inside another one's hop check (robots.txt of a redirect target) spends the
        # enclosing fetch's time: it ends by the enclosing deadline too.
        outer = getattr(_active, "deadline", None)
        budget = p.deadline_s if outer is None else max(0.0, min(p.deadline_s, outer.left()))
        clock = _Deadline(budget)
        _active.deadline = clock
        try:
            return self._fetch(url, clock, p, etag=etag, last_modified=last_modified,
                               accept=accept, check=check, head_bytes=head_bytes)
        except FetchError as exc:
            err = exc
            if exc.reason in TRANSPORT_REASONS and clock.expired():
                err = FetchError("timeout", f"deadline_s={budget:g} passed while "
                                 f"{clock.phase} ({exc.reason}: {exc.detail})",
                                 exc.url or url, exc.status)
            if err.reason == "timeout" and budget < p.deadline_s:
                err.caller_deadline = True
            if err is exc:
                raise
            raise err from exc
        finally:
            _active.deadline = outer
            clock.close()

    def _fetch(self, url: str, clock: _Deadline, p: FetchPolicy, *, etag: str,
               last_modified: str, accept: str,
               check: Callable[[str], str | tuple[str, str] | None] | None,
               head_bytes: int | None) -> FetchResult:
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
                if clock.expired():  # the check fetched robots.txt and used up the time
                    raise FetchError("timeout", f"deadline passed while checking {current} "
                                     "against robots.txt", current)
                if refused:
                    reason, detail = (refused if isinstance(refused, tuple)
                                      else (refused, f"{current} refused by policy"))
                    raise FetchError(reason, detail, current)
            try:
                resp = self._open(current, headers, clock, p)
            except FetchError as exc:
                if exc.reason in ("fetch_failed",) and attempt < p.retries and not clock.expired():
                    attempt += 1
                    self._sleep_backoff(p.backoff_s * 2 ** (attempt - 1), clock, exc)
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
                self._sleep_backoff(wait, clock, err)
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
        if declared is not None and declared > p.max_bytes and head_bytes is None:
            _discard(resp)
            raise FetchError("too_large", f"Content-Length {declared} exceeds {p.max_bytes}",
                             current, status)
        try:
            body, partial = self._read_body(resp, current, clock, p, declared, head_bytes)
        except FetchError:
            _discard(resp)  # never hand a half-read connection back to the pool
            raise
        if partial:
            _discard(resp)  # the rest of the body is still on the wire
        else:
            resp.release_conn()
        return FetchResult(body=body, partial=partial, **common)

    @staticmethod
    def _sleep_backoff(wait: float, clock: _Deadline, err: FetchError) -> None:
        if wait > clock.left():
            raise err
        time.sleep(wait)


def _discard(resp) -> None:  # noqa: ANN001
    """Close a response whose body we will not read and return its (closed) connection."""
    try:
        resp.close()
        resp.release_conn()
    except Exception:  # noqa: BLE001 - closing must never fail a fetch
        pass
