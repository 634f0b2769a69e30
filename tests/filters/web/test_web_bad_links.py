"""Parsers keep the links they cannot use (``bad_links``) so the crawl can report them as
``bad_url`` rejects; links that were never meant to be fetched (mailto:, images ...) stay out."""

import gzip

import pytest

from filters.web.feeds import parse_feed
from filters.web.pages import parse_page
from filters.web.sitemaps import parse_sitemap
from filters.web.urls import BadLink, BadUrl, canonicalize_url, is_web_link, url_extension


@pytest.mark.parametrize("bad", ["http://[::1/ep.mp3", "http://[x"])
def test_unclosed_ipv6_bracket_is_a_bad_url_with_a_base_too(bad):
    for base in (None, "http://h.example/feed.xml"):
        with pytest.raises(BadUrl):
            canonicalize_url(bad, base)
    assert url_extension(bad) == ("mp3" if bad.endswith(".mp3") else "")


@pytest.mark.parametrize(("raw", "base", "web"), [
    ("http://exa mple.com/", "", True), ("http://[::1/x", "", True),
    ("../x.html", "http://h/", True),
    ("mailto:a@b.c", "http://h/", False), ("javascript:void(0)", "http://h/", False),
    ("tel:+123", "http://h/", False), ("data:audio/mp3;base64,AA", "http://h/", False),
])
def test_is_web_link(raw, base, web):
    assert is_web_link(raw, base) is web


def _feed(enclosures, links=""):
    items = "".join(f'<item><title>e{i}</title><enclosure url="{u}" type="{t}" length="1"/>'
                    "</item>" for i, (u, t) in enumerate(enclosures))
    return (f'<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
            f"<channel><title>t</title>{links}{items}</channel></rss>").encode()


def test_feed_reports_unusable_enclosures_and_next_links():
    data = _feed([("http://h.example/ok.mp3", "audio/mpeg"),
                  ("http://[::1/v6.mp3", "audio/mpeg"),
                  ("ftp://h.example/ftp.mp3", ""),  # no type: the extension says media
                  ("ftp://h.example/cover.jpg", "image/jpeg"),  # not media: not reported
                  ("ftp://h.example/ftp.mp3", "audio/mpeg")],  # reported once
                 links='<atom:link rel="next" href="http://[::1/page2.xml"/>'
                       '<itunes:new-feed-url xmlns:itunes="http://www.itunes.com/dtds/'
                       'podcast-1.0.dtd">gopher://h.example/moved.xml</itunes:new-feed-url>')
    page = parse_feed(data, "http://h.example/feed.xml")
    assert [it.media_url for it in page.items] == ["http://h.example/ok.mp3"]
    assert page.next_page == "" and page.new_feed_url == ""
    assert [(b.url, b.kind) for b in page.bad_links] == [
        ("http://[::1/v6.mp3", "media"), ("ftp://h.example/ftp.mp3", "media"),
        ("http://[::1/page2.xml", "feed"), ("gopher://h.example/moved.xml", "feed")]
    assert all(isinstance(b, BadLink) and b.detail for b in page.bad_links)


def test_feed_with_usable_links_has_no_bad_links():
    page = parse_feed(_feed([("http://h.example/a.mp3", "audio/mpeg")],
                            '<atom:link rel="next" href="/p2.xml"/>'), "http://h.example/f.xml")
    assert page.next_page == "http://h.example/p2.xml" and page.bad_links == ()


def test_page_reports_unusable_media_and_document_links():
    html = b"""<html><head>
    <link rel="alternate" type="application/rss+xml" href="http://[x/f.rss">
    <link rel="alternate" type="text/html" href="http://[x/es.html">
    <link rel="sitemap" href="ftp://h.example/sitemap.xml"></head><body>
    <audio src="blob:http://h.example/1"></audio>
    <video><source src="http://[::1/v.mp4"><source src="/v.webm"></video>
    <a href="ftp://h.example/dl.mp3">dl</a> <a href="http://exa mple.com/more.html">more</a>
    <a href="http://[x/sitemap.xml">map</a> <a href="http://[x/pic.png">pic</a>
    <a href="ftp://h.example/t.srt">subs</a> <a href="mailto:a@b.c">mail</a>
    <a href="javascript:go()">js</a> <track src="http://[x/t.vtt">
    </body></html>"""
    links = parse_page(html, "http://h.example/index.html")
    assert [m.media_url for m in links.media] == ["http://h.example/v.webm"]
    assert sorted((b.url, b.kind) for b in links.bad_links) == sorted([
        ("blob:http://h.example/1", "media"), ("ftp://h.example/dl.mp3", "media"),
        ("http://exa mple.com/more.html", "page"), ("http://[x/sitemap.xml", "sitemap"),
        ("http://[x/f.rss", "feed"), ("ftp://h.example/sitemap.xml", "sitemap"),
        ("ftp://h.example/t.srt", "transcript")])  # a caption file link (a stray <track>: not)


def test_sitemap_reports_unusable_locations():
    urlset = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
      xmlns:video="http://www.google.com/schemas/sitemap-video/1.1"
      xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
      <url><loc>http://s.example/p1.html</loc></url>
      <url><loc>http://[::1/p2.html</loc><video:video>
        <video:content_loc>ftp://s.example/v2.mp4</video:content_loc></video:video>
        <image:image><image:loc>ftp://s.example/i.png</image:loc></image:image></url>
      <url><loc>http://s.example:99999/raw.mp3</loc></url></urlset>"""
    sm = parse_sitemap(gzip.compress(urlset), "http://s.example/a.xml.gz")
    assert sm.pages == ("http://s.example/p1.html",) and sm.media == ()
    assert [(b.url, b.kind) for b in sm.bad_links] == [
        ("http://[::1/p2.html", "page"), ("ftp://s.example/v2.mp4", "media"),
        ("http://s.example:99999/raw.mp3", "media")]
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>http://[::1/a.xml</loc></sitemap></sitemapindex>"""
    assert [(b.url, b.kind) for b in parse_sitemap(index, "http://s/x.xml").bad_links] == [
        ("http://[::1/a.xml", "sitemap")]
    text = b"http://s.example/ok.html\nhttp://[::1/x.mp3\nhttps://s.example:0x/p.html\n"
    assert [(b.url, b.kind) for b in parse_sitemap(text, "http://s/x.txt").bad_links] == [
        ("http://[::1/x.mp3", "media"), ("https://s.example:0x/p.html", "page")]
