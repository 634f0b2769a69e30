"""End to end: the Beam crawl over a loopback fixture site (rss + html + sitemap) and a WARC file.

Checks the contract with curate (raw blobs by sha256, catalog rows with every RECORDING_SCHEMA
column, rejects with specific reasons), resume and conditional recrawl.
"""

import gzip
import hashlib
import io

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from pipelines.config import parse_config
from pipelines.crawl import has_web_sources, run_crawl
from pipelines.crawl.catalog import CATALOG_SCHEMA, read_rows
from pipelines.crawl.site_server import Page, serve
from schemas.arrow import RECORDING_SCHEMA, REJECT_SCHEMA, recording_from_row
from schemas.keys import recording_id_for


def _audio(fmt: str, freq: float) -> bytes:
    t = np.arange(8000) / 8000.0
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * freq * t)).astype("float32"), 8000, format=fmt)
    return buf.getvalue()


WAV1, FLAC2, OGG6, WAV9, WAVP, FLACS = (
    _audio("WAV", 220), _audio("FLAC", 330), _audio("OGG", 440), _audio("WAV", 550),
    _audio("WAV", 660), _audio("FLAC", 770))
VTT = b"WEBVTT\n\n00:00.000 --> 00:00.500\nhello there\n\n00:00.500 --> 00:01.000\ngeneral\n"
SRT = b"1\n00:00:00,000 --> 00:00:01,000\nzwei drei\n"


def _redirect(location):
    def handler(h):
        h.send_response(302)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()
    return handler


def _rss(base, items, next_page=""):
    nxt = f'<atom:link rel="next" href="{next_page}"/>' if next_page else ""
    body = "".join(
        f"<item><title>{t}</title><enclosure url=\"{base}{m}\" type=\"audio/mpeg\" length=\"1\"/>"
        + "".join(f'<podcast:transcript url="{base}{u}" type="{ty}"/>' for u, ty in tr)
        + "</item>" for t, m, tr in items)
    return (
        '<?xml version="1.0"?><rss version="2.0" '
        'xmlns:podcast="https://podcastindex.org/namespace/1.0" '
        'xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>Fixture</title>'
        f"<language>en</language><copyright>CC-BY-4.0</copyright>{nxt}{body}"
        "</channel></rss>").encode()


@pytest.fixture()
def site():
    routes = {}
    with serve(routes) as server:
        b = server.base
        routes.update({
            "/robots.txt": Page(b"User-agent: *\nDisallow: /private/\n", "text/plain"),
            "/feed.xml": Page(_rss(b, [
                ("One", "/media/ep1.wav?utm_source=feed",
                 [("/media/ep1.txt", "text/plain"), ("/media/ep1.vtt", "text/vtt")]),
                ("Two", "/media/ep2.flac", [("/media/ep2.srt", "application/x-subrip")]),
                ("Private", "/private/ep3.wav", []),
                ("Fake", "/media/fake.mp3", []),
                ("Gone", "/media/gone.mp3", []),
                ("Latin", "/media/ep6.ogg", [("/media/ep6.txt", "text/plain")]),
                ("Copy", "/media/copy-of-ep1.wav", []),
                ("Meta", "/media/meta.mp3", []),
            ], next_page="/feed2.xml"), "application/rss+xml"),
            "/feed2.xml": Page(_rss(b, [("Nine", "/media/ep9.wav", [])]), "application/rss+xml"),
            "/media/ep1.wav": Page(WAV1, "audio/wav", etag='"e1"'),
            "/media/copy-of-ep1.wav": Page(WAV1, "audio/wav"),
            "/media/ep1.vtt": Page(VTT, "text/vtt"),
            "/media/ep1.txt": Page(b"hello there general", "text/plain"),
            "/media/ep2.flac": Page(FLAC2, "audio/flac", etag='"e2"'),
            "/media/ep2.srt": Page(SRT, "application/x-subrip"),
            "/private/ep3.wav": Page(WAV1, "audio/wav"),
            "/media/fake.mp3": Page(b"<!DOCTYPE html><html><body>oops</body></html>",
                                    "audio/mpeg"),
            "/media/ep6.ogg": Page(OGG6, "audio/ogg"),
            "/media/ep6.txt": Page("caf\xe9 cr\xe8me".encode("latin-1"), "text/plain"),
            "/media/meta.mp3": _redirect("http://169.254.169.254/latest/meta-data/"),
            "/media/ep9.wav": Page(WAV9, "audio/wav"),
            "/index.html": Page(
                b'<html lang="en"><head><title>Talks</title>'
                b'<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head>'
                b'<body><audio src="/media/page.wav"><track kind="captions" src="/media/page.vtt">'
                b'</audio><a href="/talks/more.html">more</a>'
                b'<a href="http://elsewhere.invalid/x.html">off site</a></body></html>',
                "text/html"),
            "/talks/more.html": Page(b"<html><body><p>nothing here</p>"
                                     b'<a href="/talks/deeper.html">deeper</a></body></html>',
                                     "text/html"),
            "/media/page.wav": Page(WAVP, "audio/wav"),
            "/media/page.vtt": Page(b"not a vtt file", "text/vtt"),
            "/sitemap.xml": Page(
                f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/'
                f'sitemap/0.9"><sitemap><loc>{b}/sm-a.xml.gz</loc></sitemap></sitemapindex>'
                .encode(), "application/xml"),
            "/sm-a.xml.gz": Page(gzip.compress(
                f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<url><loc>{b}/s/page.html</loc></url></urlset>".encode()), "application/gzip"),
            "/s/page.html": Page(b'<html><body><video><source src="/media/s.flac">'
                                 b'<track kind="subtitles" src="/media/s.srt"></video>'
                                 b"</body></html>", "text/html"),
            "/media/s.flac": Page(FLACS, "audio/flac"),
            "/media/s.srt": Page(SRT, "application/x-subrip"),
        })
        yield server


def _warc(path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, ctype, body in [
            ("http://archive.example/ep.wav", "audio/wav", _audio("WAV", 880)),
            ("http://archive.example/ep.vtt", "text/vtt", VTT),
            ("http://archive.example/bad.mp3", "audio/mpeg", b"<html>error</html>"),
        ]:
            headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=headers))


def _config(site, warc_path):
    return parse_config({
        "sources": [
            {"type": "rss", "name": "feed", "url": site.url("/feed.xml"),
             "allow_networks": ["127.0.0.0/8"]},
            {"type": "html", "name": "pages", "url": site.url("/index.html"), "depth": 1,
             "allow_networks": ["127.0.0.0/8"]},
            {"type": "sitemap", "name": "map", "url": site.url("/sitemap.xml"),
             "allow_networks": ["127.0.0.0/8"], "licence": "CC0"},
            {"type": "warc", "name": "archive", "path": str(warc_path), "language": "en"},
        ],
        "crawl": {"delay_s": 0, "deadline_s": 10, "read_timeout_s": 5, "retries": 0},
    })


def _by_uri(rows):
    return {r["source_uri"]: r for r in rows}


def test_crawl_end_to_end_resume_and_recrawl(site, tmp_path):
    warc = tmp_path / "a.warc.gz"
    _warc(warc)
    config = _config(site, warc)
    assert has_web_sources(config)
    run = str(tmp_path / "run")
    run_crawl(config, run, ["--runner", "DirectRunner"])

    items = _by_uri(read_rows(run, "items"))
    u = site.url
    assert set(items) == {u("/media/ep1.wav"), u("/media/ep2.flac"), u("/media/ep6.ogg"),
                          u("/media/ep9.wav"), u("/media/page.wav"), u("/media/s.flac"),
                          "http://archive.example/ep.wav"}
    ep1 = items[u("/media/ep1.wav")]
    assert ep1["recording_id"] == recording_id_for(u("/media/ep1.wav"))
    assert ep1["transcript_format"] == "vtt" and len(ep1["cues"]) == 2  # timed format preferred
    assert ep1["transcript_url"] == u("/media/ep1.vtt")
    assert ep1["page_url"] == u("/feed.xml") and ep1["source_name"] in ("feed", "pages")
    assert ep1["licence"] == "CC-BY-4.0" and ep1["declared_language"] == "en"
    assert ep1["sha256"] == hashlib.sha256(WAV1).hexdigest()
    with open(ep1["audio_uri"], "rb") as fh:
        assert fh.read() == WAV1
    assert ep1["audio_uri"].endswith(f"raw/{ep1['sha256'][:2]}/{ep1['sha256']}")
    assert items[u("/media/ep2.flac")]["transcript_text"] == "zwei drei"
    assert items[u("/media/ep6.ogg")]["transcript_text"] is None  # latin-1 transcript refused
    assert items[u("/media/page.wav")]["transcript_text"] is None  # malformed VTT refused
    assert items[u("/media/s.flac")]["licence"] == "CC0"
    assert items[u("/media/s.flac")]["page_url"] == u("/s/page.html")
    arch = items["http://archive.example/ep.wav"]
    assert arch["transcript_format"] == "vtt" and arch["declared_language"] == "en"
    rec = recording_from_row(ep1)  # exactly what curate does
    assert rec.has_timed_transcript and rec.source_uri == u("/media/ep1.wav")

    rejects = {(r["source_uri"], r["reason"]) for r in read_rows(run, "rejects")}
    assert {
        (u("/private/ep3.wav"), "robots_disallowed"),
        (u("/media/fake.mp3"), "not_audio"),
        (u("/media/gone.mp3"), "http_404"),
        (u("/media/ep6.txt"), "transcript_not_utf8"),
        (u("/media/page.vtt"), "transcript_malformed"),
        (u("/media/copy-of-ep1.wav"), "duplicate"),
        (u("/media/meta.mp3"), "ssrf_blocked"),
        ("http://archive.example/bad.mp3", "not_audio"),
    } <= rejects
    assert all(r["stage"] == "crawl" for r in read_rows(run, "rejects"))
    assert not any(p.startswith("/private/") for p in site.log.paths())  # robots honoured
    assert not any("deeper" in p for p in site.log.paths())  # depth limit honoured

    for f in (tmp_path / "run" / "catalog").glob("items-*.parquet"):
        assert set(RECORDING_SCHEMA.names) <= set(pq.read_schema(f).names)
        assert pq.read_schema(f).equals(CATALOG_SCHEMA)
    for f in (tmp_path / "run" / "catalog").glob("rejects-*.parquet"):
        assert pq.read_schema(f).equals(REJECT_SCHEMA)
    assert (tmp_path / "run" / "catalog" / "_SUCCESS").exists()

    # finished crawl: a rerun does nothing
    n = len(site.log.paths())
    run_crawl(config, run, [])
    assert len(site.log.paths()) == n

    # crashed crawl (no _SUCCESS): resume fetches no media that is already in the catalog
    (tmp_path / "run" / "catalog" / "_SUCCESS").unlink()
    run_crawl(config, run, [])
    again = site.log.paths()[n:]
    assert not any(p.startswith(("/media/ep1.wav", "/media/ep2.flac")) for p in again)
    assert len(read_rows(run, "items")) == len(items)
    assert {(r["source_uri"], r["reason"]) for r in read_rows(run, "rejects")} == rejects

    # forced recrawl: conditional GET; unchanged items answer 304 and keep their rows
    run_crawl(config, run, [], force=True)
    after = _by_uri(read_rows(run, "items"))
    assert set(after) == set(items)
    assert after[u("/media/ep1.wav")]["http_status"] == 304
    assert after[u("/media/ep1.wav")]["sha256"] == ep1["sha256"]
    assert after[u("/media/ep9.wav")]["http_status"] == 200
