"""The safe fetcher against a loopback server that misbehaves on purpose.

Each hostile case (HTTPS ones too) must end as a specific FetchError reason *and* return: every
fetch runs in a thread that the test joins with a generous bound, so a hang fails the test
instead of the suite.
"""

import gzip
import socket
import threading
import time

import pytest

from filters.web.fetcher import Fetcher, FetchError, FetchPolicy, parse_retry_after
from filters.web.policy import OptOut, parse_networks
from filters.web.sniff import is_audio, sniff_media_type
from pipelines.crawl.site_server import Page, self_signed_tls, serve

HANG_GUARD_S = 60


def _raw(status: int, headers: list[tuple[str, str]], body: bytes = b""):
    def handler(h):
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)
    return handler


def _drip(h):
    h.send_response(200)
    h.send_header("Content-Type", "audio/mpeg")
    h.send_header("Content-Length", "100000")
    h.end_headers()
    for _ in range(400):
        h.wfile.write(b"\xff")
        h.wfile.flush()
        time.sleep(0.05)


def _endless(h):
    h.send_response(200)
    h.send_header("Content-Type", "audio/mpeg")
    h.send_header("Connection", "close")
    h.end_headers()
    chunk = b"\0" * 65536
    for _ in range(100_000):
        h.wfile.write(chunk)


def _silent(h):
    time.sleep(8)


def _short_body(h):
    h.send_response(200)
    h.send_header("Content-Type", "audio/mpeg")
    h.send_header("Content-Length", "5000")
    h.end_headers()
    h.wfile.write(b"ID3" + b"\0" * 10)
    h.wfile.flush()
    h.close_connection = True


_attempts: dict[str, int] = {}


def _flaky(h):
    n = _attempts.get("flaky", 0)
    _attempts["flaky"] = n + 1
    if n == 0:
        _raw(429, [("Retry-After", "1"), ("Content-Length", "0")])(h)
    else:
        _raw(200, [("Content-Length", "7"), ("Content-Type", "text/plain")], b"welcome")(h)


BOMB = gzip.compress(b"\0" * (40 * 1024 * 1024))


@pytest.fixture(scope="module")
def site():
    routes = {
        "/ok.txt": Page(b"hello", "text/plain", etag='"v1"'),
        "/fr.xml": Page(b"<rss><channel/></rss>", "application/rss+xml",
                        headers=(("Content-Language", "fr-CA"),)),
        "/fake.mp3": Page(b"<!DOCTYPE html><html><body>Error 404</body></html>", "audio/mpeg"),
        "/loop-a": _raw(302, [("Location", "/loop-b"), ("Content-Length", "0")]),
        "/loop-b": _raw(302, [("Location", "/loop-a"), ("Content-Length", "0")]),
        "/to-metadata": _raw(302, [("Location", "http://169.254.169.254/latest/meta-data/"),
                                   ("Content-Length", "0")]),
        "/to-ok": _raw(301, [("Location", "/ok.txt"), ("Content-Length", "0")]),
        "/drip.mp3": _drip,
        "/endless.mp3": _endless,
        "/silent": _silent,
        "/short.mp3": _short_body,
        "/huge-declared.mp3": _raw(200, [("Content-Length", str(10**12))], b"x"),
        "/bomb": _raw(200, [("Content-Encoding", "gzip"), ("Content-Length", str(len(BOMB)))],
                      BOMB),
        "/brotli": _raw(200, [("Content-Encoding", "br"), ("Content-Length", "3")], b"abc"),
        "/flaky": _flaky,
        "/always-429": _raw(429, [("Retry-After", "3600"), ("Content-Length", "0")]),
        "/always-503": _raw(503, [("Content-Length", "0")]),
        "/missing": Page(b"no", "text/plain", 404),
        "/private/secret.txt": Page(b"secret", "text/plain"),
    }
    with serve(routes) as server:
        yield server


def _policy(**kw):
    base = dict(allow_networks=parse_networks(["127.0.0.0/8"]), deadline_s=2.0,
                read_timeout_s=1.0, connect_timeout_s=1.0, max_bytes=2 * 1024 * 1024,
                max_decompressed_bytes=4 * 1024 * 1024, retries=1, backoff_s=0.05)
    base.update(kw)
    return FetchPolicy(**base)


def _run(fn):
    """Run ``fn`` in a thread; fail (instead of hanging) if it does not return."""
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc
    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(HANG_GUARD_S)
    assert not t.is_alive(), "fetch did not return: it hangs"
    if "error" in box:
        raise box["error"]
    return box["value"]


def _reason(site, path, **kw):
    fetcher = Fetcher(_policy(**kw))
    with pytest.raises(FetchError) as exc:
        _run(lambda: fetcher.fetch(site.url(path)))
    return exc.value.reason


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/loop-a", "redirect_loop"),
        ("/to-metadata", "ssrf_blocked"),
        ("/drip.mp3", "timeout"),
        ("/endless.mp3", "too_large"),
        ("/silent", "timeout"),
        ("/short.mp3", "truncated"),
        ("/huge-declared.mp3", "too_large"),
        ("/bomb", "too_large"),
        ("/brotli", "unsupported_encoding"),
        ("/always-429", "http_429"),
        ("/always-503", "http_503"),
        ("/missing", "http_404"),
    ],
)
def test_hostile_routes_end_as_specific_rejects(site, path, reason):
    assert _reason(site, path) == reason


def test_loopback_is_refused_without_allow_networks(site):
    assert _reason(site, "/ok.txt", allow_networks=()) == "ssrf_blocked"


def test_opt_out_applies_before_any_request(site):
    before = len(site.log.paths())
    assert _reason(site, "/ok.txt", opt_out=OptOut((site.url("/"),))) == "opted_out"
    assert len(site.log.paths()) == before


def test_check_callback_refuses_redirect_hops(site):
    fetcher = Fetcher(_policy())
    refuse = lambda u: "robots_disallowed" if u.endswith("/ok.txt") else None  # noqa: E731
    with pytest.raises(FetchError) as exc:
        _run(lambda: fetcher.fetch(site.url("/to-ok"), check=refuse))
    assert exc.value.reason == "robots_disallowed"


def test_redirects_are_followed_and_etag_gives_304(site):
    fetcher = Fetcher(_policy())
    res = _run(lambda: fetcher.fetch(site.url("/to-ok")))
    assert res.status == 200 and res.body == b"hello"
    assert res.final_url == site.url("/ok.txt") and res.redirects == (site.url("/ok.txt"),)
    again = _run(lambda: fetcher.fetch(site.url("/ok.txt"), etag=res.etag))
    assert again.not_modified and again.body == b""


def test_content_language_header_is_kept_for_the_feed_parser(site):
    fetcher = Fetcher(_policy())
    assert _run(lambda: fetcher.fetch(site.url("/fr.xml"))).content_language == "fr-CA"
    assert _run(lambda: fetcher.fetch(site.url("/ok.txt"))).content_language == ""


def test_429_with_retry_after_is_retried_after_waiting(site):
    fetcher = Fetcher(_policy(deadline_s=10.0))
    t0 = time.monotonic()
    res = _run(lambda: fetcher.fetch(site.url("/flaky")))
    assert res.body == b"welcome"
    assert time.monotonic() - t0 >= 0.9  # Retry-After: 1 was honoured
    assert _attempts["flaky"] == 2


def test_lying_content_type_is_caught_by_sniffing(site):
    res = _run(lambda: Fetcher(_policy()).fetch(site.url("/fake.mp3")))
    assert res.content_type == "audio/mpeg"
    assert not is_audio(sniff_media_type(res.body))


def test_retry_after_parsing():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None


# ---------------------------------------------------------------- HTTPS


@pytest.fixture(scope="module")
def tls_site():
    """HTTPS on 127.0.0.1 with a self-signed certificate made here (no CA will vouch for it).

    ``hellos`` counts TLS ClientHellos, so a test can tell whether the fetcher retried."""
    pytest.importorskip("cryptography")
    ctx = self_signed_tls()
    hellos = []
    ctx.sni_callback = lambda sock, server_name, context: hellos.append(server_name)
    with serve({"/ep.mp3": Page(b"ID3" + b"\0" * 64, "audio/mpeg")}, tls=ctx) as server:
        server.hellos = hellos
        yield server


def test_unverifiable_certificate_is_tls_error_and_not_retried(tls_site):
    url = tls_site.url("/ep.mp3")
    assert url.startswith("https://")
    before, requests = len(tls_site.hellos), len(tls_site.log.paths())
    fetcher = Fetcher(_policy(retries=2, backoff_s=0.05, deadline_s=10.0))
    with pytest.raises(FetchError) as exc:
        _run(lambda: fetcher.fetch(url))
    assert exc.value.reason == "tls_error"
    assert "certificate verify failed" in exc.value.detail
    assert len(tls_site.hellos) - before == 1  # a bad certificate does not get better
    assert len(tls_site.log.paths()) == requests  # no HTTP request over the unverified channel


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_the_same_server_answers_when_verification_is_off(tls_site):
    # the control: the failure above is the certificate's, not the server's
    res = _run(lambda: Fetcher(_policy(verify_tls=False)).fetch(tls_site.url("/ep.mp3")))
    assert res.status == 200 and res.body.startswith(b"ID3")


def test_https_to_a_plain_http_server_is_tls_error(site):
    url = site.url("/ok.txt").replace("http://", "https://")
    with pytest.raises(FetchError) as exc:
        _run(lambda: Fetcher(_policy(retries=2)).fetch(url))
    assert exc.value.reason == "tls_error"


def test_tls_handshake_that_never_comes_is_a_timeout():
    """A server that accepts the connection and never answers the ClientHello."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        url = f"https://127.0.0.1:{listener.getsockname()[1]}/ep.mp3"
        with pytest.raises(FetchError) as exc:
            _run(lambda: Fetcher(_policy(retries=2)).fetch(url))
    assert exc.value.reason == "timeout"
