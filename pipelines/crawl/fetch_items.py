"""Fetching one discovered media item: bytes to RUN/raw, transcript parsed, a catalog row out.

Plain Python over a :class:`WebSession`; the Beam wrapper groups items by host first so one
worker owns each host's politeness budget.
"""

from __future__ import annotations

from typing import Any

from filters.transcripts import Transcript, TranscriptError
from filters.web.fetcher import FetchError
from filters.web.sniff import is_audio, sniff_media_type
from filters.web.transcript_formats import read_web_transcript
from pipelines.crawl.catalog import crawl_reject, store_blob
from pipelines.crawl.session import WebSession
from schemas.arrow import recording_row
from schemas.keys import recording_id_for
from schemas.records import Recording, SourceItem

Result = tuple[str, dict[str, Any]]  # ("item" | "reject", row)


def catalog_row(item: SourceItem, *, sha: str, audio_uri: str, transcript: Transcript | None,
                transcript_url: str, fetched_at: str, http_status: int, etag: str = "",
                last_modified: str = "", content_length: int | None = None,
                media_type: str = "", final_url: str = "",
                markup_labels: int = 0) -> dict[str, Any]:
    """One catalog row: every RECORDING_SCHEMA column plus the crawl's own columns
    (``markup_labels``: transcript labels that held markup, removed)."""
    rec = Recording(
        recording_id=recording_id_for(item.media_url), source_uri=item.media_url,
        audio_uri=audio_uri, source_name=item.source_name, page_url=item.page_url, sha256=sha,
        transcript_text=transcript.text if transcript else None,
        transcript_format=transcript.format if transcript else "",
        cues=transcript.cues if transcript else (), declared_language=item.declared_language,
        licence=item.licence, title=item.title, fetched_at=fetched_at,
    )
    row = recording_row(rec)
    row.update(http_status=http_status, etag=etag, last_modified=last_modified,
               content_length=content_length, media_type=media_type,
               transcript_url=transcript_url if transcript else "",
               final_url=final_url or item.media_url,
               transcript_markup_labels=markup_labels if transcript else 0)
    return row


def fetch_transcript(session: WebSession, item: SourceItem,
                     rid: str) -> tuple[Transcript | None, str, list[Result], int]:
    """The best transcript that fetches and parses, in preference order (timed first), its URL,
    the rejects of those before it, and how many of its labels held markup."""
    rejects: list[Result] = []
    for url, fmt in zip(item.transcript_urls, item.transcript_formats, strict=False):
        try:
            res = session.get(url, item.source_name,
                              max_bytes=session.crawl.max_transcript_bytes)
            transcript, markup = read_web_transcript(res.body, fmt, what=url)
            return transcript, url, rejects, markup
        except FetchError as exc:
            reason, detail = exc.reason, exc.detail
        except TranscriptError as exc:
            reason, detail = str(exc.reason), exc.detail
        rejects.append(("reject", crawl_reject(url, reason, f"transcript: {detail}",
                                               source_name=item.source_name,
                                               page_url=item.page_url, recording_id=rid)))
    return None, "", rejects, 0


def fetch_item(session: WebSession, run: str, item: SourceItem,
               previous: dict[str, Any] | None = None) -> list[Result]:
    """Fetch one media item (conditionally, when ``previous`` holds its last catalog row)."""
    rid = recording_id_for(item.media_url)
    try:
        res = session.get(
            item.media_url, item.source_name,
            etag=(previous or {}).get("etag") or "",
            last_modified=(previous or {}).get("last_modified") or "",
        )
    except FetchError as exc:
        return [("reject", crawl_reject(item.media_url, exc.reason, exc.detail,
                                        source_name=item.source_name, page_url=item.page_url))]
    if res.not_modified and previous is not None:
        row = dict(previous)
        row.update(fetched_at=res.fetched_at, http_status=304)
        return [("item", row)]
    sniffed = sniff_media_type(res.body)
    if not is_audio(sniffed):
        return [("reject", crawl_reject(
            item.media_url, "not_audio",
            f"bytes look like {sniffed or 'unknown data'} (Content-Type {res.content_type!r})",
            source_name=item.source_name, page_url=item.page_url))]
    sha, uri = store_blob(run, res.body)
    transcript, t_url, results, markup = fetch_transcript(session, item, rid)
    results.append(("item", catalog_row(
        item, sha=sha, audio_uri=uri, transcript=transcript, transcript_url=t_url,
        fetched_at=res.fetched_at, http_status=res.status, etag=res.etag,
        last_modified=res.last_modified, content_length=len(res.body), media_type=sniffed,
        final_url=res.final_url, markup_labels=markup)))
    return results
