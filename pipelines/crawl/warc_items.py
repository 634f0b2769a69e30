"""Items from WARC/ARC files: media records paired with caption records, fully offline."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from filters.transcripts import TranscriptError
from filters.web.feeds import is_media
from filters.web.pages import PageError, parse_page
from filters.web.policy import OptOut
from filters.web.sniff import is_audio, sniff_media_type
from filters.web.transcript_formats import best_first, read_web_transcript, transcript_format_for
from filters.web.warc import WarcError, iter_payloads, stem_key
from pipelines.crawl.catalog import crawl_reject, store_blob
from pipelines.crawl.config import CrawlConfig
from pipelines.crawl.fetch_items import Result, catalog_row
from schemas.keys import recording_id_for
from schemas.records import SourceItem


def warc_items(path: str, source: Any, crawl: CrawlConfig, run: str) -> Iterator[Result]:
    """Read one archive: write media to RUN/raw, pair captions, yield items and rejects."""
    import fsspec

    opt_out = OptOut(tuple(crawl.opt_out) + tuple(source.opt_out))
    media: dict[str, dict[str, Any]] = {}  # url -> {sha, uri, type, date}
    captions: dict[str, tuple[bytes, str]] = {}  # url -> (bytes, format)
    page_tracks: dict[str, list[tuple[str, str]]] = {}
    page_of: dict[str, str] = {}

    def reject(url: str, reason: str, detail: str, page: str = "") -> Result:
        return ("reject", crawl_reject(url, reason, detail, source_name=source.name,
                                       page_url=page or path))

    try:
        with fsspec.open(path, "rb") as fh:
            for rec in iter_payloads(fh, crawl.max_bytes):
                if rec.bad_url:
                    # no canonical URL to key or trace it by: the archive stands in for it
                    if is_media(rec.url, rec.content_type):
                        yield reject(f"{path}#{rec.url}", "bad_url",
                                     f"archived media record: {rec.bad_url}")
                    continue
                if opt_out.blocks(rec.url):
                    if is_media(rec.url, rec.content_type):
                        yield reject(rec.url, "opted_out", "on the opt-out list")
                    continue
                fmt = transcript_format_for(rec.url, rec.content_type)
                looks_media = is_media(rec.url, rec.content_type)
                if rec.too_large:
                    if looks_media:
                        yield reject(rec.url, "too_large", f"record over {crawl.max_bytes} bytes")
                    continue
                if rec.truncated:
                    if looks_media or is_media(rec.url):
                        yield reject(rec.url, "truncated",
                                     "record cut short (WARC-Truncated, or the archive ends)")
                    continue
                if rec.status != 200:
                    # an error response carries the error page's type: the URL decides
                    if looks_media or is_media(rec.url):
                        yield reject(rec.url, f"http_{rec.status}", "archived error response")
                    continue
                sniffed = sniff_media_type(rec.payload)
                if is_audio(sniffed):
                    sha, uri = store_blob(run, rec.payload)
                    media[rec.url] = {"sha": sha, "uri": uri, "type": sniffed, "date": rec.date,
                                      "size": len(rec.payload)}
                elif looks_media:
                    yield reject(rec.url, "not_audio", f"bytes look like {sniffed or 'unknown'}")
                elif fmt == "html" or sniffed == "text/html":
                    try:
                        links = parse_page(rec.payload, rec.url)
                    except PageError:
                        continue
                    for it in links.media:
                        page_of.setdefault(it.media_url, rec.url)
                        page_tracks.setdefault(it.media_url, []).extend(
                            zip(it.transcript_urls, it.transcript_formats, strict=False))
                    if fmt == "html" and len(rec.payload) <= crawl.max_transcript_bytes:
                        captions[rec.url] = (rec.payload, "html")
                elif fmt and len(rec.payload) <= crawl.max_transcript_bytes:
                    captions[rec.url] = (rec.payload, fmt)
    except WarcError as exc:
        yield reject(path, "malformed_document", str(exc))
    except (OSError, ValueError) as exc:
        yield reject(path, "source_unreadable", f"{type(exc).__name__}: {exc}")

    by_stem: dict[str, list[tuple[str, str]]] = {}
    for url, (_, fmt) in captions.items():
        if fmt != "html":
            by_stem.setdefault(stem_key(url), []).append((url, fmt))
    for url, info in media.items():
        rid = recording_id_for(url)
        candidates = best_first(list(dict.fromkeys(
            [c for c in page_tracks.get(url, []) if c[0] in captions]
            + by_stem.get(stem_key(url), []))))
        transcript, t_url, markup = None, "", 0
        for c_url, fmt in candidates:
            try:
                transcript, markup = read_web_transcript(captions[c_url][0], fmt, what=c_url)
                t_url = c_url
                break
            except TranscriptError as exc:
                yield ("reject", crawl_reject(c_url, str(exc.reason), f"transcript: {exc.detail}",
                                              source_name=source.name, page_url=path,
                                              recording_id=rid))
        item = SourceItem(media_url=url, source_name=source.name,
                          page_url=page_of.get(url, path), licence=source.licence,
                          declared_language=source.language)
        yield ("item", catalog_row(item, sha=info["sha"], audio_uri=info["uri"],
                                   transcript=transcript, transcript_url=t_url,
                                   fetched_at=info["date"], http_status=200,
                                   content_length=info["size"], media_type=info["type"],
                                   markup_labels=markup))
