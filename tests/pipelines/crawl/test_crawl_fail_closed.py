"""The crawler fails closed against a loopback site (issue 16): robots.txt that cannot be read is
a complete disallow, opt-outs and robots.txt hold for every spelling of a host, deadlines hold for
robots.txt too, HTML nested past libxml2's limit is a reject, documents decompress under the
document cap, and limits and unusable links leave counted rows."""

import gzip
import socket
import time

import pytest

from filters.web.fetcher import DEFAULT_USER_AGENT, FetchError
from pipelines.crawl.config import (
    CrawlConfig,
    HtmlSourceConfig,
    RssSourceConfig,
    SitemapSourceConfig,
)
from pipelines.crawl.discover import discover
from pipelines.crawl.session import WebSession
from pipelines.crawl.site_server import Page, self_signed_tls, serve
from schemas.keys import recording_id_for

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\0" * 40
NO_ROBOTS = Page(b"", "text/plain", 404)
DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"


def _session(base, source=None, **crawl):
    src = source or RssSourceConfig(name="s", url=f"{base}/feed.xml",
                                    allow_networks=("127.0.0.0/8",))
    settings = dict(delay_s=0, deadline_s=5, retries=0)
    settings.update(crawl)
    return WebSession(CrawlConfig(**settings), {src.name: src}), src


def _refused(session, url):
    with pytest.raises(FetchError) as exc:
        session.get(url, "s")
    return exc.value


def _raw(status, headers, body=b""):
    def handler(h):
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)
    return handler


# ---------------------------------------------------------------- robots.txt fails closed


def test_oversized_robots_with_content_length_is_read_in_part_and_obeyed():
    """Larger than the page cap *and* sent with a Content-Length: it used to be refused as
    too_large with status 200, parsed as empty rules, and everything was fetched."""
    big = DISALLOW_ALL + b"# padding\n" * 200_000  # 2 MB
    with serve({"/robots.txt": Page(big, "text/plain"), "/a.wav": Page(WAV, "audio/wav")}) as site:
        session, _ = _session(site.base, max_page_bytes=64 * 1024)
        exc = _refused(session, site.url("/a.wav"))
        assert exc.reason == "robots_disallowed"
        assert "/a.wav" not in site.log.paths()


def test_robots_rule_deep_in_the_first_500_kib_is_obeyed():
    """The page cap (64 KiB here) does not shorten robots.txt below RFC 9309's 500 KiB."""
    body = b"User-agent: *\n" + b"# padding\n" * 40_000 + b"Disallow: /a.wav\n"  # at ~400 KB
    with serve({"/robots.txt": Page(body, "text/plain"), "/a.wav": Page(WAV, "audio/wav"),
                "/b.wav": Page(WAV, "audio/wav")}) as site:
        session, _ = _session(site.base, max_page_bytes=64 * 1024)
        assert _refused(session, site.url("/a.wav")).reason == "robots_disallowed"
        assert session.get(site.url("/b.wav"), "s").body == WAV


def _hang_up(h):
    """Close the connection without an answer."""
    h.connection.shutdown(socket.SHUT_RDWR)
    h.close_connection = True


def _robots_cases(site):
    """robots.txt answers that cannot be read, each on its own path prefix of one site."""
    return {
        "brotli": _raw(200, [("Content-Encoding", "br"), ("Content-Length", "12")],
                       b"\x1b\x0b\x00\xf8\x25\x14\x82\x82\x58\x68\x44\x00"),
        "to-metadata": _raw(302, [("Location", "http://169.254.169.254/robots.txt"),
                                  ("Content-Length", "0")]),
        "to-private": _raw(302, [("Location", "http://10.1.2.3/robots.txt"),
                                 ("Content-Length", "0")]),
        "to-bad-tls": _raw(302, [("Location", site.url("/robots.txt").replace("http:", "https:")),
                                 ("Content-Length", "0")]),
        "reset": _hang_up,
        "garbage-gzip": _raw(200, [("Content-Encoding", "gzip"), ("Content-Length", "9")],
                             b"not gzip!"),
    }


@pytest.mark.parametrize("case", ["brotli", "to-metadata", "to-private", "to-bad-tls", "reset",
                                  "garbage-gzip"])
def test_robots_that_cannot_be_read_disallows_everything(case):
    with serve({"/a.wav": Page(WAV, "audio/wav")}) as site:
        site.routes["/robots.txt"] = _robots_cases(site)[case]
        session, _ = _session(site.base)
        exc = _refused(session, site.url("/a.wav"))
        assert exc.reason == "robots_disallowed", exc
        assert "robots.txt unreachable" in exc.detail and "RFC 9309" in exc.detail
        assert "/a.wav" not in site.log.paths()


def test_robots_that_drips_is_cut_at_the_deadline_and_disallows():
    def drip(h):
        h.send_response(200)
        h.send_header("Content-Type", "text/plain")
        h.end_headers()
        for _ in range(200):
            h.wfile.write(b"#")
            h.wfile.flush()
            time.sleep(0.1)

    with serve({"/robots.txt": drip, "/a.wav": Page(WAV, "audio/wav")}) as site:
        session, _ = _session(site.base, deadline_s=1.5, read_timeout_s=10)
        t0 = time.monotonic()
        exc = _refused(session, site.url("/a.wav"))
        assert time.monotonic() - t0 < 3.5
        assert exc.reason == "robots_disallowed" and "timeout" in exc.detail
        assert "/a.wav" not in site.log.paths()


def test_robots_of_a_host_refused_outright_gives_that_reason():
    """robots.txt on the host itself refused by TLS: its fetches are tls_error (what they would
    meet first), and nothing is requested; a 4xx still means no rules."""
    pytest.importorskip("cryptography")
    with serve({"/robots.txt": NO_ROBOTS, "/a.wav": Page(WAV, "audio/wav")},
               tls=self_signed_tls()) as site:
        session, _ = _session(site.base)
        assert _refused(session, site.url("/a.wav")).reason == "tls_error"
        assert site.log.paths() == []
    with serve({"/robots.txt": NO_ROBOTS, "/a.wav": Page(WAV, "audio/wav")}) as site:
        session, _ = _session(site.base)
        assert session.get(site.url("/a.wav"), "s").body == WAV


# ---------------------------------------------------------------- one host, one spelling


def _spellings(port):
    return [f"http://{h}:{port}" for h in
            ("0x7f000001", "2130706433", "127.1", "0177.0.0.1", "127.0.0.1.", "[::ffff:7f00:1]")]


def test_opt_out_cannot_be_bypassed_by_ipv4_spellings():
    with serve({"/robots.txt": NO_ROBOTS, "/optout/b.wav": Page(WAV, "audio/wav"),
                "/open/b.wav": Page(WAV, "audio/wav")}) as site:
        port = site.base.rsplit(":", 1)[1]
        src = RssSourceConfig(name="s", url=site.url("/feed.xml"), allow_networks=("127.0.0.0/8",),
                              opt_out=(f"http://127.0.0.1:{port}/optout/",))
        session, _ = _session(site.base, src)
        for base in _spellings(port):
            assert _refused(session, f"{base}/optout/b.wav").reason == "opted_out"
        assert not any("/optout/" in p for p in site.log.paths())
        assert session.get(f"http://127.1:{port}/open/b.wav", "s").body == WAV
    with serve({"/robots.txt": NO_ROBOTS, "/a.wav": Page(WAV, "audio/wav")}) as site:
        port = site.base.rsplit(":", 1)[1]
        session, _ = _session(site.base, opt_out=("127.0.0.1",))  # a domain entry: every port
        for base in _spellings(port):
            assert _refused(session, f"{base}/a.wav").reason == "opted_out"
        assert site.log.paths() == []


def test_robots_and_politeness_are_keyed_by_the_canonical_host():
    with serve({"/robots.txt": Page(b"User-agent: *\nDisallow: /private/\n", "text/plain"),
                "/private/a.wav": Page(WAV, "audio/wav"),
                "/a.wav": Page(WAV, "audio/wav")}) as site:
        port = site.base.rsplit(":", 1)[1]
        session, _ = _session(site.base)
        for base in _spellings(port):
            assert _refused(session, f"{base}/private/a.wav").reason == "robots_disallowed"
            assert session.get(f"{base}/a.wav", "s").body == WAV
        assert site.log.paths().count("/robots.txt") == 1  # one host, one robots.txt
        assert "/private/a.wav" not in site.log.paths()
        assert list(session._throttles) == [f"127.0.0.1:{port}"]  # and one politeness slot
        assert {ua for *_, ua in site.log.entries} == {DEFAULT_USER_AGENT}


def test_allow_ports_limits_the_allowed_networks_to_those_ports():
    with serve({"/robots.txt": NO_ROBOTS, "/a.wav": Page(WAV, "audio/wav")}) as site:
        port = int(site.base.rsplit(":", 1)[1])
        for ports, ok in (((port,), True), ((port + 1,), False), ((), True)):
            src = RssSourceConfig(name="s", url=site.url("/feed.xml"),
                                  allow_networks=("127.0.0.0/8",), allow_ports=ports)
            session, _ = _session(site.base, src)
            if ok:
                assert session.get(site.url("/a.wav"), "s").body == WAV
            else:
                exc = _refused(session, site.url("/a.wav"))
                assert exc.reason == "ssrf_blocked" and f"port {port}" in exc.detail


# ---------------------------------------------------------------- documents


def _discover(source, **crawl):
    session, _ = _session("", source, **crawl)
    try:
        out = list(discover(session, source))
    finally:
        session.close()
    return ([o for o in out if not isinstance(o, dict)], [o for o in out if isinstance(o, dict)])


def _nested_page(depth):
    return Page(b"<html><body>" + b"<font>" * depth + b'<audio src="/late.wav"></audio>'
                b"</body></html>", "text/html")


def test_deeply_nested_pages_are_read_whole_or_rejected():
    with serve({"/robots.txt": NO_ROBOTS, "/legacy.html": _nested_page(300),
                "/abyss.html": _nested_page(5000)}) as site:
        for path, items, reasons in (("/legacy.html", [site.url("/late.wav")], []),
                                     ("/abyss.html", [], ["malformed_document"])):
            src = HtmlSourceConfig(name="s", url=site.url(path), allow_networks=("127.0.0.0/8",))
            got, rejects = _discover(src)
            assert [it.media_url for it in got] == items
            assert [r["reason"] for r in rejects] == reasons
            assert all("not read to the end" in r["detail"] for r in rejects)


def test_raw_gz_sitemap_decompresses_under_the_document_cap():
    bomb = gzip.compress(b"<" + b" " * (4 * 1024**2))  # 4 KB that inflate to 4 MB
    with serve({"/robots.txt": NO_ROBOTS,
                "/sitemap.xml.gz": Page(bomb, "application/gzip")}) as site:
        src = SitemapSourceConfig(name="s", url=site.url("/sitemap.xml.gz"),
                                  allow_networks=("127.0.0.0/8",))
        _, rejects = _discover(src, max_page_bytes=64 * 1024)  # cap: 4 x 64 KiB
        assert [(r["reason"], r["source_uri"]) for r in rejects] == [
            ("too_large", site.url("/sitemap.xml.gz"))]
        assert "262144" in rejects[0]["detail"]


def test_sitemap_pages_past_max_pages_are_one_counted_row():
    n, max_pages = 400, 5
    with serve({"/robots.txt": NO_ROBOTS}) as site:
        locs = "".join(f"<url><loc>{site.url(f'/p/{i}.html')}</loc></url>" for i in range(n))
        site.routes["/sitemap.xml"] = Page(
            ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             f"{locs}</urlset>").encode(), "application/xml")
        for i in range(n):
            site.routes[f"/p/{i}.html"] = Page(b"<html><body>nothing</body></html>", "text/html")
        src = SitemapSourceConfig(name="s", url=site.url("/sitemap.xml"),
                                  allow_networks=("127.0.0.0/8",))
        _, rejects = _discover(src, max_pages=max_pages)
        fetched = [p for p in site.log.paths() if p.startswith("/p/")]
        base = site.base
    u = base.__add__  # absolute URLs, still usable after the server stopped
    assert len(fetched) == max_pages - 1  # the sitemap itself was the first document
    assert [(r["reason"], r["source_uri"], r["page_url"]) for r in rejects] == [
        ("crawl_limit", u(f"/p/{max_pages - 1}.html"), u("/sitemap.xml"))]
    skipped = n - (max_pages - 1)
    assert rejects[0]["detail"] == (f"max_pages={max_pages} reached; {skipped} documents not "
                                    "fetched (this one first)")


def test_script_data_and_file_links_in_a_feed_are_bad_url_rows():
    items = (
        '<item><title>a</title><enclosure url="javascript:alert(1)" type="audio/mpeg"/></item>'
        '<item><title>b</title><enclosure url="data:audio/wav;base64,UklGRg==" length="1"/>'
        '</item><item><title>c</title><enclosure url="file:///etc/passwd.mp3"/></item>'
        '<item><title>d</title><enclosure url="/ok.wav" type="audio/wav"/>'
        '<podcast:transcript url="javascript:steal()" type="text/vtt"/>'
        '<podcast:transcript url="data:text/vtt,WEBVTT" type="text/vtt"/></item>')
    feed = ('<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/'
            f'namespace/1.0"><channel><title>T</title>{items}</channel></rss>').encode()
    with serve({"/robots.txt": NO_ROBOTS, "/feed.xml": Page(feed, "application/rss+xml")}) as site:
        got, rejects = _discover(RssSourceConfig(name="s", url=site.url("/feed.xml"),
                                                 allow_networks=("127.0.0.0/8",)))
        ok = site.url("/ok.wav")
        assert [(it.media_url, it.transcript_urls) for it in got] == [(ok, ())]
        rows = sorted((r["reason"], r["source_uri"], r["recording_id"], r["detail"].split(":")[0])
                      for r in rejects)
        media = ["javascript:alert(1)", "data:audio/wav;base64,UklGRg==", "file:///etc/passwd.mp3"]
        assert rows == sorted(
            [("bad_url", m, recording_id_for(m), "media link") for m in media]
            + [("bad_url", t, recording_id_for(ok), "transcript link")
               for t in ("javascript:steal()", "data:text/vtt,WEBVTT")])
        assert {r["page_url"] for r in rejects} == {site.url("/feed.xml")}


def test_a_redirect_hop_and_its_robots_txt_share_the_fetch_deadline():
    """A redirect to a host whose robots.txt drips: robots.txt for the hop is read within what is
    left of the fetch's deadline, and that cut-short read is not cached as the host's verdict."""
    def drip(h):
        h.send_response(200)
        h.send_header("Content-Type", "text/plain")
        h.end_headers()
        for _ in range(200):
            h.wfile.write(b"#")
            h.wfile.flush()
            time.sleep(0.1)

    with serve({"/robots.txt": drip, "/a.wav": Page(WAV, "audio/wav")}) as other, \
            serve({"/robots.txt": NO_ROBOTS}) as site:
        site.routes["/r"] = _raw(302, [("Location", other.url("/a.wav")),
                                       ("Content-Length", "0")])
        session, _ = _session(site.base, deadline_s=1.5, read_timeout_s=10)
        session.robots(site.url("/"), "s")  # the first host's robots.txt is already known
        t0 = time.monotonic()
        exc = _refused(session, site.url("/r"))
        assert time.monotonic() - t0 < 3.0
        assert exc.reason == "timeout" and "robots.txt" in exc.detail
        assert "/a.wav" not in other.log.paths()
        assert set(session._robots) == {site.url("/robots.txt")}  # no verdict kept for `other`


def test_labels_are_plain_text_and_markup_is_counted_in_the_catalog_row(tmp_path):
    from pipelines.crawl.fetch_items import fetch_item
    from schemas.records import SourceItem

    vtt = (b"WEBVTT\n\n00:00.000 --> 00:01.000\n&lt;script&gt;fetch('//x')&lt;/script&gt;Hello\n\n"
           b"00:01.000 --> 00:02.000\n&lt;b&gt;world&lt;/b&gt; &amp; more\n")
    with serve({"/robots.txt": NO_ROBOTS, "/a.wav": Page(WAV, "audio/wav"),
                "/a.vtt": Page(vtt, "text/vtt")}) as site:
        session, _ = _session(site.base)
        item = SourceItem(media_url=site.url("/a.wav"), source_name="s", page_url=site.url("/"),
                          transcript_urls=(site.url("/a.vtt"),), transcript_formats=("vtt",))
        [(kind, row)] = fetch_item(session, str(tmp_path), item)
    assert kind == "item"
    assert row["transcript_text"] == "Hello world & more"
    assert [c["text"] if isinstance(c, dict) else c.text for c in row["cues"]] == [
        "Hello", "world & more"]
    assert row["transcript_markup_labels"] == 2
