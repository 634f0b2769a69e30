"""Robots.txt over HTTP (5xx, 4xx, AI tokens, Crawl-delay), discovery of broken documents, and a
site whose HTTPS certificate does not verify."""

import pytest

from filters.web.fetcher import FetchError
from pipelines.crawl.config import CrawlConfig, HtmlSourceConfig, RssSourceConfig
from pipelines.crawl.discover import discover
from pipelines.crawl.session import WebSession
from pipelines.crawl.site_server import Page, self_signed_tls, serve

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\0" * 40


def _session(base, **crawl):
    src = RssSourceConfig(name="s", url=f"{base}/feed.xml", allow_networks=("127.0.0.0/8",))
    return WebSession(CrawlConfig(delay_s=0, deadline_s=5, retries=0, **crawl), {"s": src}), src


@pytest.mark.parametrize(("robots", "fetched"), [
    (Page(b"oops", "text/plain", 503), False),  # 5xx: complete disallow (RFC 9309)
    (Page(b"gone", "text/plain", 404), True),  # 4xx: no rules
    (Page(b"User-agent: *\nDisallow: /a.wav\n", "text/plain"), False),
    (Page(b"User-agent: GPTBot\nDisallow: /\n", "text/plain"), False),  # AI opt-out honoured
])
def test_robots_over_http(robots, fetched):
    with serve({"/robots.txt": robots, "/a.wav": Page(WAV, "audio/wav")}) as site:
        session, _ = _session(site.base)
        if fetched:
            assert session.get(site.url("/a.wav"), "s").body == WAV
        else:
            with pytest.raises(FetchError) as exc:
                session.get(site.url("/a.wav"), "s")
            assert exc.value.reason == "robots_disallowed"
            assert "/a.wav" not in site.log.paths()


def test_ai_optout_can_be_switched_off_and_crawl_delay_is_read():
    robots = Page(b"User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nCrawl-delay: 0.2\n",
                  "text/plain")
    with serve({"/robots.txt": robots, "/a.wav": Page(WAV, "audio/wav")}) as site:
        session, _ = _session(site.base, respect_ai_optout=False)
        assert session.get(site.url("/a.wav"), "s").status == 200
        assert session.throttle(site.base.split("//")[1]).interval_s == pytest.approx(0.2)


def test_discovery_turns_broken_documents_into_rejects():
    routes = {
        "/robots.txt": Page(b"", "text/plain", 404),
        "/feed.xml": Page(b"<rss><channel><item><enclosure url=", "application/rss+xml"),
        "/index.html": Page(b"\xff\xfe\x00garbage\x00", "text/html"),
    }
    with serve(routes) as site:
        session, src = _session(site.base)
        out = list(discover(session, src))
        assert [(r["source_uri"], r["reason"]) for r in out] == [
            (site.url("/feed.xml"), "malformed_document")]
        html = HtmlSourceConfig(name="s", url=site.url("/missing.html"),
                                allow_networks=("127.0.0.0/8",))
        out = list(discover(session, html))
        assert [(r["source_uri"], r["reason"]) for r in out] == [
            (site.url("/missing.html"), "http_404")]


def test_unverifiable_https_site_is_a_tls_error_reject():
    """robots.txt fails the same way (no verdict from it); the feed is then a tls_error reject."""
    pytest.importorskip("cryptography")
    routes = {"/robots.txt": Page(b"", "text/plain", 404),
              "/feed.xml": Page(b"<rss><channel><title>t</title></channel></rss>",
                                "application/rss+xml"),
              "/a.wav": Page(WAV, "audio/wav")}
    with serve(routes, tls=self_signed_tls()) as site:
        session, src = _session(site.base)
        assert src.url.startswith("https://")
        out = list(discover(session, src))
        assert [(r["source_uri"], r["reason"]) for r in out] == [
            (site.url("/feed.xml"), "tls_error")]
        with pytest.raises(FetchError) as exc:
            session.get(site.url("/a.wav"), "s")
        assert exc.value.reason == "tls_error"
        assert site.log.paths() == []
