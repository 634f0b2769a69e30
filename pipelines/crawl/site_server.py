"""A tiny threaded HTTP server on 127.0.0.1 serving an in-memory site.

Used by the demo (a real crawl of a local website), by tests (a fixture site with hostile
routes) and by the crawl benchmark (it logs every request with its arrival time, which is how
politeness delays are measured). Routes are static :class:`Page`s or callables that write the
response themselves, so a test can misbehave on purpose (drip bytes, lie about lengths ...).
Given an ``ssl.SSLContext`` it serves HTTPS (tests use a self-signed certificate).
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str = "application/octet-stream"
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    etag: str = ""  # answer If-None-Match with 304 when it matches


Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class RequestLog:
    entries: list[tuple[float, str, str]] = field(default_factory=list)  # (time, path, UA)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: str, agent: str) -> None:
        with self.lock:
            self.entries.append((time.monotonic(), path, agent))

    def paths(self) -> list[str]:
        with self.lock:
            return [p for _, p, _ in self.entries]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that hang up mid-response (the crawler enforcing a cap) are expected."""


class SiteServer:
    """The running server: ``url(path)`` builds absolute URLs, ``log`` lists requests."""

    def __init__(self, routes: dict[str, Page | Handler], tls: ssl.SSLContext | None = None,
                 port: int = 0):
        self.routes = routes
        self.tls = tls
        self.port = port  # 0: any free port; another one is tried first, then any free one
        self.log = RequestLog()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = urlsplit(self.path).path
                server.log.add(self.path, self.headers.get("User-Agent", ""))
                route = server.routes.get(path)
                try:
                    if route is None:
                        self._send(Page(b"<html><body>not found</body></html>", "text/html", 404))
                    elif isinstance(route, Page):
                        self._send(route)
                    else:
                        route(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, page: Page) -> None:
                if page.etag and self.headers.get("If-None-Match") == page.etag:
                    self.send_response(304)
                    self.send_header("ETag", page.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(page.body)))
                if page.etag:
                    self.send_header("ETag", page.etag)
                for k, v in page.headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(page.body)

        return _Handler

    def start(self) -> SiteServer:
        try:
            self._httpd = _QuietServer(("127.0.0.1", self.port), self._handler_class())
        except OSError:  # the preferred port is taken: any free one serves as well
            if not self.port:
                raise
            self._httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        if self.tls is not None:  # the handshake runs in the request's thread, not in accept()
            self._httpd.socket = self.tls.wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False)
        threading.Thread(target=self._httpd.serve_forever, daemon=True,
                         kwargs={"poll_interval": 0.05}).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


def self_signed_tls(ip: str = "127.0.0.1") -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for ``ip`` (no CA vouches for
    it: a verifying client must refuse it). Needs ``cryptography`` (installed with Beam)."""
    import datetime
    import ipaddress
    import tempfile
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ip)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
            .sign(key, hashes.SHA256()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as d:  # load_cert_chain reads files, once
        (Path(d) / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (Path(d) / "key.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        ctx.load_cert_chain(Path(d) / "cert.pem", Path(d) / "key.pem")
    return ctx


@contextmanager
def serve(routes: dict[str, Page | Handler], tls: ssl.SSLContext | None = None,
          port: int = 0) -> Iterator[SiteServer]:
    """Serve ``routes`` on 127.0.0.1 for the duration of the ``with`` block: on ``port`` when it
    is free, else on any free port."""
    server = SiteServer(routes, tls, port).start()
    try:
        yield server
    finally:
        server.stop()
