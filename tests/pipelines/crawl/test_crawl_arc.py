"""ARC files (the Internet Archive's format before WARC) read like WARC ones.

warcio reads ARC but cannot write it, so the fixture writes ARC v1 by hand: a ``filedesc://``
version block, then per record one header line ``URL IP-address Archive-date Content-type
Archive-length`` followed by the archived HTTP response and a newline; ``.arc.gz`` gzips each
record as its own member. The same records written as a WARC with warcio must give the same
catalog rows and rejects: media paired with captions by ``<track>`` and by file stem, offline.
"""

from __future__ import annotations

import gzip
import io

import numpy as np
import pytest
import soundfile as sf

from filters.web.warc import WarcError, iter_payloads
from pipelines.crawl.config import CrawlConfig, WarcSourceConfig
from pipelines.crawl.pipeline import _expand_warc_paths
from pipelines.crawl.warc_items import warc_items


def _wav(freq: float) -> bytes:
    t = np.arange(4000) / 8000.0
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * freq * t)).astype("float32"), 8000, format="WAV")
    return buf.getvalue()


WAV, FLAC_BODY = _wav(440), _wav(550)
VTT = b"WEBVTT\n\n00:00.000 --> 00:00.400\nhello archive\n"
SRT = b"1\n00:00:00,000 --> 00:00:00,400\nfrom the track\n"
PAGE = (b'<html><body><audio src="/talks/t1.wav"><track kind="captions" '
        b'src="/captions/t1-en.srt"></audio></body></html>')
# (url, HTTP status, content type, body, archive date)
RECORDS = [
    ("http://arc.example/media/ep.wav", "200 OK", "audio/wav", WAV, "20240101000001"),
    ("http://arc.example/media/ep.vtt", "200 OK", "text/vtt", VTT, "20240101000002"),
    ("http://arc.example/talks/page.html", "200 OK", "text/html", PAGE, "20240101000003"),
    ("http://arc.example/talks/t1.wav", "200 OK", "audio/wav", FLAC_BODY, "20240101000004"),
    ("http://arc.example/captions/t1-en.srt", "200 OK", "application/x-subrip", SRT,
     "20240101000005"),
    ("http://arc.example/media/bad.mp3", "200 OK", "audio/mpeg", b"<html>oops</html>",
     "20240101000006"),
    ("http://arc.example/media/gone.mp3", "404 Not Found", "text/html", b"<h1>404</h1>",
     "20240101000007"),
]


def _http(status: str, ctype: str, body: bytes) -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
            .encode() + body)


def _arc_record(url: str, date: str, ctype: str, content: bytes) -> bytes:
    return f"{url} 192.0.2.7 {date} {ctype} {len(content)}\n".encode() + content + b"\n"


def write_arc(path, gz: bool) -> None:
    version = b"1 0 speechcurate-test\nURL IP-address Archive-date Content-type Archive-length\n"
    recs = [_arc_record("filedesc://fixture.arc", "20240101000000", "text/plain", version),
            # a DNS lookup record, as Heritrix writes them: not a URL we can use
            _arc_record("dns:arc.example", "20240101000000", "text/dns", b"arc.example. 60 IN A "
                        b"192.0.2.7\n")]
    recs += [_arc_record(u, d, t, _http(s, t, b)) for u, s, t, b, d in RECORDS]
    with open(path, "wb") as fh:
        for rec in recs:
            fh.write(gzip.compress(rec) if gz else rec)


def write_warc(path) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, status, ctype, body, d in RECORDS:
            headers = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
            iso = f"{d[:4]}-{d[4:6]}-{d[6:8]}T{d[8:10]}:{d[10:12]}:{d[12:14]}Z"
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=headers,
                warc_headers_dict={"WARC-Date": iso}))


def _read(path, run):
    source = WarcSourceConfig(name="archive", path=str(path), licence="CC0", language="en")
    out = list(warc_items(str(path), source, CrawlConfig(), str(run)))
    items = {r["source_uri"]: r for kind, r in out if kind == "item"}
    rejects = {(r["source_uri"], r["reason"]) for kind, r in out if kind == "reject"}
    return items, rejects


@pytest.mark.parametrize("gz", [False, True], ids=["arc", "arc.gz"])
def test_arc_records_read_like_warc_records(tmp_path, gz):
    arc = tmp_path / ("a.arc.gz" if gz else "a.arc")
    write_arc(arc, gz)
    with open(arc, "rb") as fh:
        recs = list(iter_payloads(fh, max_bytes=1 << 20))
    # filedesc:// (version block) and dns: records are not payloads
    assert [(r.url, r.status, r.content_type) for r in recs] == [
        (u, int(s.split()[0]), t) for u, s, t, _, _ in RECORDS]
    assert recs[0].payload == WAV and recs[0].date == "2024-01-01T00:00:01Z"


@pytest.mark.parametrize("gz", [False, True], ids=["arc", "arc.gz"])
def test_arc_media_pairs_with_captions_like_warc(tmp_path, gz):
    arc = tmp_path / ("a.arc.gz" if gz else "a.arc")
    write_arc(arc, gz)
    warc = tmp_path / "a.warc.gz"
    write_warc(warc)
    items, rejects = _read(arc, tmp_path / "run")

    ep = items["http://arc.example/media/ep.wav"]  # paired by file stem
    assert (ep["transcript_url"], ep["transcript_format"]) == (
        "http://arc.example/media/ep.vtt", "vtt")
    assert ep["transcript_text"] == "hello archive" and len(ep["cues"]) == 1
    assert (ep["licence"], ep["declared_language"], ep["media_type"]) == ("CC0", "en", "audio/wav")
    assert ep["fetched_at"] == "2024-01-01T00:00:01Z"  # the ARC's archive date
    with open(ep["audio_uri"], "rb") as fh:
        assert fh.read() == WAV
    talk = items["http://arc.example/talks/t1.wav"]  # paired through the archived <track>
    assert talk["transcript_url"] == "http://arc.example/captions/t1-en.srt"
    assert talk["transcript_text"] == "from the track"
    assert talk["page_url"] == "http://arc.example/talks/page.html"
    assert set(items) == {"http://arc.example/media/ep.wav", "http://arc.example/talks/t1.wav"}
    assert rejects == {("http://arc.example/media/bad.mp3", "not_audio"),
                       ("http://arc.example/media/gone.mp3", "http_404")}

    w_items, w_rejects = _read(warc, tmp_path / "run")
    assert w_rejects == rejects
    # every column (blob URIs, archive dates) but the archive's own path, the page_url of an
    # item paired by stem (no page in the archive names it)
    assert ep["page_url"] == str(arc) and w_items[ep["source_uri"]]["page_url"] == str(warc)
    w_items[ep["source_uri"]]["page_url"] = str(arc)
    assert w_items == items


@pytest.mark.parametrize("kind", ["arc", "arc.gz", "warc.gz"])
def test_cut_off_archive_never_passes_half_a_payload(tmp_path, kind):
    """warcio reads a cut-off record without complaint; we flag it instead of storing half an
    audio file as if it were whole. Every cut point: whole payloads, flagged ones, or an error."""
    path = tmp_path / f"a.{kind}"
    if kind == "warc.gz":
        write_warc(path)
    else:
        write_arc(path, gz=kind == "arc.gz")
    data, bodies = path.read_bytes(), {u: b for u, _, _, b, _ in RECORDS}
    flagged = 0
    for cut in range(0, len(data), 1 if kind != "arc" else 7):
        try:
            for rec in iter_payloads(io.BytesIO(data[:cut]), max_bytes=1 << 20):
                flagged += rec.truncated
                assert rec.payload == (b"" if rec.truncated else bodies[rec.url]), (cut, rec.url)
        except WarcError:
            pass
    assert flagged


def test_cut_off_media_record_is_a_truncated_reject(tmp_path):
    arc = tmp_path / "cut.arc"
    write_arc(arc, gz=False)
    data = arc.read_bytes()
    arc.write_bytes(data[:data.index(WAV) + 1000])  # the archive ends inside ep.wav's body
    items, rejects = _read(arc, tmp_path / "run")
    assert items == {}
    assert rejects == {("http://arc.example/media/ep.wav", "truncated")}


def test_directory_source_finds_arc_files(tmp_path):
    (tmp_path / "sub").mkdir()
    write_arc(tmp_path / "a.arc", gz=False)
    write_arc(tmp_path / "sub" / "b.arc.gz", gz=True)
    (tmp_path / "notes.txt").write_text("not an archive")
    found = _expand_warc_paths(WarcSourceConfig(name="d", path=str(tmp_path)))
    assert sorted(p.rsplit("/", 1)[-1] for p in found) == ["a.arc", "b.arc.gz"]


def test_warc_truncated_record_is_a_truncated_reject(tmp_path):
    """Common Crawl keeps the first MiBs of a big file and marks the record WARC-Truncated."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    path = tmp_path / "cc.warc.gz"
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        headers = StatusAndHeaders("200 OK", [("Content-Type", "audio/wav")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(
            "http://cc.example/long.wav", "response", payload=io.BytesIO(WAV[:1000]),
            http_headers=headers, warc_headers_dict={"WARC-Truncated": "length"}))
    with open(path, "rb") as fh:
        (rec,) = iter_payloads(fh, max_bytes=1 << 20)
    assert rec.truncated and rec.payload == b""
    items, rejects = _read(path, tmp_path / "run")
    assert items == {} and rejects == {("http://cc.example/long.wav", "truncated")}


def test_media_record_with_an_unusable_url_is_a_bad_url_reject(tmp_path):
    """A record is never dropped unaccounted: no canonical URL means a reject naming the archive."""
    from warcio.warcwriter import WARCWriter

    path = tmp_path / "odd.warc.gz"
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for uri, ctype in (("http://[::1/broken.wav", "audio/wav"),
                           ("ftp://files.example/tone.wav", "audio/wav"),
                           ("ftp://files.example/logo.png", "image/png"),
                           ("http://ok.example/tone.wav", "audio/wav")):
            writer.write_record(writer.create_warc_record(
                uri, "resource", payload=io.BytesIO(WAV), warc_content_type=ctype))
    items, rejects = _read(path, tmp_path / "run")
    assert list(items) == ["http://ok.example/tone.wav"]
    assert rejects == {(f"{path}#http://[::1/broken.wav", "bad_url"),
                       (f"{path}#ftp://files.example/tone.wav", "bad_url")}
