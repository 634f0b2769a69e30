"""Feed, page, sitemap, WARC and web-transcript parsers on real-world-shaped documents.

The feeds here are written in the shapes real podcast hosts publish (RSS 2.0 + iTunes +
Podcasting 2.0, Atom, paged feeds); feedparser's own test corpus runs through the same parser in
test_feedparser_corpus.py.
"""

import gzip
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filters.transcripts import TranscriptError, parse_srt, parse_vtt
from filters.web.feeds import FeedError, parse_feed
from filters.web.pages import parse_page
from filters.web.sitemaps import SitemapError, parse_sitemap
from filters.web.transcript_formats import (
    parse_html_transcript,
    parse_podcast_json,
    parse_web_transcript,
    transcript_format_for,
)
from filters.web.warc import WarcError, iter_payloads, stem_key

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:podcast="https://podcastindex.org/namespace/1.0"
     xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
  <title>Tiny Talks</title>
  <link>https://pod.example.org/</link>
  <language>de-DE</language>
  <copyright>2024 Tiny Talks</copyright>
  <podcast:license>cc-by-4.0</podcast:license>
  <itunes:author>Someone</itunes:author>
  <itunes:new-feed-url>https://feeds.example.org/tiny.xml</itunes:new-feed-url>
  <atom:link rel="next" href="/feed.xml?page=2"/>
  <item>
    <title>Episode 1</title>
    <guid isPermaLink="false">ep-1</guid>
    <enclosure url="https://cdn.example.org/ep1.mp3?utm_source=rss" length="123" type="audio/mpeg"/>
    <podcast:transcript url="https://pod.example.org/ep1.txt" type="text/plain"/>
    <podcast:transcript url="https://pod.example.org/ep1.srt" type="application/x-subrip"/>
    <podcast:transcript url="https://pod.example.org/ep1.vtt" type="text/vtt" language="de"/>
  </item>
  <item>
    <title>Episode 2 (no audio)</title>
    <link>https://pod.example.org/ep2</link>
  </item>
  <item>
    <title>Episode 3</title>
    <enclosure url="ep3.m4a" length="9" type="audio/x-m4a"/>
    <podcast:transcript url="ep3.json" type="application/json"/>
  </item>
</channel>
</rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr">
  <title>Balado</title>
  <id>urn:uuid:1</id>
  <updated>2024-01-01T00:00:00Z</updated>
  <rights>CC BY-SA 4.0</rights>
  <entry>
    <title>Premier</title>
    <id>urn:uuid:2</id>
    <updated>2024-01-01T00:00:00Z</updated>
    <link rel="enclosure" type="audio/ogg" href="http://a.example.fr/1.ogg" length="5"/>
    <link rel="alternate" href="http://a.example.fr/1.html"/>
  </entry>
</feed>"""


def test_rss_podcast_feed_items_enclosures_and_transcripts():
    page = parse_feed(RSS, "https://pod.example.org/feed.xml")
    assert page.title == "Tiny Talks"
    assert [i.title for i in page.items] == ["Episode 1", "Episode 3"]
    ep1, ep3 = page.items
    assert ep1.media_url == "https://cdn.example.org/ep1.mp3"  # tracking parameter removed
    assert ep1.transcript_formats == ("vtt", "srt", "txt")  # timed formats first
    assert ep1.transcript_urls[0] == "https://pod.example.org/ep1.vtt"
    assert ep1.licence == "cc-by-4.0"
    assert ep1.declared_language == "de"
    assert ep1.page_url == "https://pod.example.org/feed.xml"
    assert ep3.media_url == "https://pod.example.org/ep3.m4a"  # relative enclosure resolved
    assert ep3.transcript_formats == ("json",)
    assert page.next_page == "https://pod.example.org/feed.xml?page=2"
    assert page.new_feed_url == "https://feeds.example.org/tiny.xml"


def test_atom_feed_enclosure_links():
    page = parse_feed(ATOM, "http://a.example.fr/atom.xml")
    assert [i.media_url for i in page.items] == ["http://a.example.fr/1.ogg"]
    assert page.items[0].declared_language == "fr"
    assert page.items[0].licence == "CC BY-SA 4.0"


LICENSED = b"""<rss version="2.0" xmlns:cc="http://web.resource.org/cc/"
     xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
     xmlns:creativeCommons="http://backend.userland.com/creativeCommonsRssModule">
<channel><title>Licensed</title><copyright>2024 Someone</copyright>
  <item><title>cc</title><cc:license rdf:resource="http://creativecommons.org/licenses/by/4.0/"/>
    <enclosure url="http://h.example/a.mp3" type="audio/mpeg" length="1"/></item>
  <item><title>creativeCommons</title>
    <creativeCommons:license>http://creativecommons.org/licenses/by-sa/4.0/</creativeCommons:license>
    <enclosure url="http://h.example/b.mp3" type="application/octet-stream" length="1"/></item>
  <item><title>channel only</title>
    <enclosure url="http://h.example/c.mp3" length="1"/>
    <enclosure url="http://h.example/cover.jpg" type="application/octet-stream" length="1"/></item>
</channel></rss>"""


def test_licence_urls_and_generic_enclosure_types():
    page = parse_feed(LICENSED, "http://h.example/feed.xml")
    assert [(i.media_url, i.licence) for i in page.items] == [
        ("http://h.example/a.mp3", "http://creativecommons.org/licenses/by/4.0/"),
        ("http://h.example/b.mp3", "http://creativecommons.org/licenses/by-sa/4.0/"),
        ("http://h.example/c.mp3", "2024 Someone"),  # octet-stream .jpg: not media
    ]
    licence = b'<link rel="license" href="https://creativecommons.org/licenses/by/4.0/"/>'
    atom = ATOM.replace(b'<link rel="alternate"', licence + b'<link rel="alternate"')
    assert parse_feed(atom, "http://a.example.fr/atom.xml").items[0].licence == (
        "https://creativecommons.org/licenses/by/4.0/")


@pytest.mark.parametrize("junk", [b"", b"<html><body>hello</body></html>", b"\x00\x01\x02garbage",
                                  b"<rss><channel><item><title>x</titl"])
def test_malformed_feeds_raise_feed_error_or_give_no_items(junk):
    try:
        page = parse_feed(junk, "http://h.example/feed")
    except FeedError:
        return
    assert page.items == ()


def test_page_pairs_media_with_tracks_and_finds_links():
    html = b"""<!doctype html><html lang="es"><head><title>Charla</title>
    <link rel="alternate" type="application/rss+xml" href="/feed.xml">
    <link rel="license" href="https://creativecommons.org/licenses/by/4.0/"></head><body>
    <audio controls><source src="a/one.opus" type="audio/ogg">
      <track kind="captions" src="a/one.vtt" srclang="es"></audio>
    <video src="/v/two.webm"><track kind="chapters" src="/v/two-ch.vtt">
      <track kind="subtitles" src="/v/two.srt"></video>
    <a href="/files/three.mp3">download</a> <a href="/files/three.srt">subs</a>
    <a href="/more.html">more</a> <a href="/sitemap.xml">map</a> <a href="mailto:x@y">m</a>
    </body></html>"""
    links = parse_page(html, "http://site.example/talks/index.html")
    media = {m.media_url: m for m in links.media}
    one = media["http://site.example/talks/a/one.opus"]
    assert one.transcript_urls == ("http://site.example/talks/a/one.vtt",)
    assert one.declared_language == "es"
    assert one.licence == "https://creativecommons.org/licenses/by/4.0/"
    two = media["http://site.example/v/two.webm"]
    assert two.transcript_urls == ("http://site.example/v/two.srt",)  # chapters are not captions
    assert two.transcript_formats == ("srt",)
    three = media["http://site.example/files/three.mp3"]
    assert three.transcript_urls == ("http://site.example/files/three.srt",)
    assert links.feeds == ("http://site.example/feed.xml",)
    assert links.sitemaps == ("http://site.example/sitemap.xml",)
    assert "http://site.example/more.html" in links.pages
    assert links.title == "Charla"


def test_sitemap_index_urlset_and_gzip():
    index = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>http://s.example/a.xml.gz</loc></sitemap></sitemapindex>"""
    assert parse_sitemap(index, "http://s.example/sm.xml").sitemaps == ("http://s.example/a.xml.gz",)
    urlset = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
      xmlns:video="http://www.google.com/schemas/sitemap-video/1.1">
      <url><loc>http://s.example/p1.html</loc></url>
      <url><loc>http://s.example/p2.html</loc><video:video>
        <video:content_loc>http://s.example/v2.mp4</video:content_loc></video:video></url>
      <url><loc>http://s.example/raw.mp3</loc></url></urlset>"""
    sm = parse_sitemap(gzip.compress(urlset), "http://s.example/a.xml.gz")
    assert sm.pages == ("http://s.example/p1.html", "http://s.example/p2.html")
    assert sm.media == ("http://s.example/v2.mp4", "http://s.example/raw.mp3")


def test_sitemap_hostile_inputs():
    bomb = gzip.compress(b"<" * (20 * 1024 * 1024))
    with pytest.raises(SitemapError) as exc:
        parse_sitemap(bomb, "http://s/x.xml.gz", max_bytes=1024 * 1024)
    assert exc.value.reason == "too_large"
    with pytest.raises(SitemapError) as exc:
        parse_sitemap(b"<urlset><url><loc>http://a/</loc></url", "http://s/x.xml")
    assert exc.value.reason == "malformed_document"
    billion = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
               b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><urlset><url><loc>http://s/&b;'
               b"</loc></url></urlset>")
    sm = parse_sitemap(billion, "http://s/x.xml")  # entities are not expanded
    assert all("aaaaaaaaaa" not in u for u in sm.pages)


def test_warc_records_are_read_offline():
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    for url, ctype, body in [("http://w.example/ep.mp3", "audio/mpeg", b"ID3" + b"\0" * 50),
                             ("http://w.example/ep.vtt", "text/vtt", b"WEBVTT\n\n")]:
        headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.0")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                      http_headers=headers))
    buf.seek(0)
    recs = list(iter_payloads(buf, max_bytes=1024))
    assert [(r.url, r.status, r.content_type) for r in recs] == [
        ("http://w.example/ep.mp3", 200, "audio/mpeg"),
        ("http://w.example/ep.vtt", 200, "text/vtt"),
    ]
    assert stem_key(recs[0].url) == stem_key(recs[1].url)
    buf.seek(0)
    assert list(iter_payloads(buf, max_bytes=10))[0].too_large
    for junk in (b"garbage\n", b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 100\r\n\r\nab"):
        with pytest.raises(WarcError):
            list(iter_payloads(io.BytesIO(junk), 1024))


def test_web_transcript_formats():
    assert transcript_format_for("http://a/x", "text/vtt; charset=utf-8") == "vtt"
    assert transcript_format_for("http://a/x.srt") == "srt"
    assert transcript_format_for("http://a/x.bin") == ""
    t = parse_podcast_json('{"version": "1.0.0", "segments": ['
                           '{"speaker": "A", "startTime": 1.5, "endTime": 2.0, "body": "world"},'
                           '{"startTime": 0, "endTime": 1.5, "body": "hello"}]}')
    assert t.text == "hello world" and t.cues[0].start == 0 and t.format == "json"
    assert parse_html_transcript("<p>Hi <i>there</i></p><script>bad()</script>").text == "Hi there"
    for bad in ['{"segments": 3}', "[1,2]", '{"segments": [{"startTime": "x", "endTime": 1}]}',
                '{"segments": [{"startTime": NaN, "endTime": 1, "body": "a"}]}']:
        with pytest.raises(TranscriptError):
            parse_podcast_json(bad)
    with pytest.raises(TranscriptError) as exc:
        parse_web_transcript("caf\xe9".encode("latin-1"), "txt")
    assert exc.value.reason == "transcript_not_utf8"


# ---------------------------------------------------------------- properties of VTT / SRT parsing

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüéñ", min_size=1, max_size=8)
_cues = st.lists(
    st.tuples(st.integers(0, 3_000_000), st.integers(1, 60_000),
              st.lists(_word, min_size=1, max_size=6).map(" ".join)),
    min_size=1, max_size=8,
)


def _ts(ms: int, sep: str) -> str:
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


@settings(max_examples=60)
@given(_cues)
def test_vtt_and_srt_round_trip_cue_times_and_text(cues):
    vtt = "WEBVTT\n\n" + "\n".join(
        f"{_ts(s, '.')} --> {_ts(s + d, '.')}\n{t}\n" for s, d, t in cues)
    srt = "\n".join(
        f"{i + 1}\n{_ts(s, ',')} --> {_ts(s + d, ',')}\n{t}\n" for i, (s, d, t) in enumerate(cues))
    expected = sorted(((s / 1000, (s + d) / 1000, t) for s, d, t in cues), key=lambda c: c[:2])
    for parsed in (parse_vtt(vtt), parse_srt(srt)):
        got = [(c.start, c.end, c.text) for c in parsed.cues]
        flat = [x for a, b, _ in got for x in (a, b)]
        assert flat == pytest.approx([x for a, b, _ in expected for x in (a, b)])
        assert sorted(t for *_, t in got) == sorted(t for *_, t in expected)


@settings(max_examples=80)
@given(st.binary(max_size=400))
def test_vtt_srt_parsers_never_crash_on_garbage(data):
    for fmt in ("vtt", "srt", "json", "html", "txt"):
        try:
            parse_web_transcript(data, fmt)
        except TranscriptError:
            pass
