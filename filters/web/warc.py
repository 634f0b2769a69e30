"""WARC / ARC archives (Common Crawl style) as offline input, read with warcio.

Media records are paired with caption records without any network access: first through the
``<track>`` elements of archived HTML pages, then by a shared file stem
(``ep1.mp3`` + ``ep1.vtt``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

from filters.web.urls import BadUrl, canonicalize_url


@dataclass(frozen=True)
class WarcPayload:
    url: str  # canonical target URI
    status: int  # HTTP status (200 for resource records)
    content_type: str
    payload: bytes  # empty when ``too_large``
    date: str = ""
    too_large: bool = False


class WarcError(ValueError):
    """The archive cannot be read any further (reason malformed_document)."""


def iter_payloads(stream: BinaryIO, max_bytes: int) -> Iterator[WarcPayload]:
    """Yield response/resource records in order; payloads over ``max_bytes`` are flagged."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    try:
        for rec in ArchiveIterator(stream, arc2warc=True):
            if rec.rec_type not in ("response", "resource"):
                continue
            raw_url = rec.rec_headers.get_header("WARC-Target-URI") or ""
            try:
                url = canonicalize_url(raw_url)
            except BadUrl:
                continue
            status = 200
            ctype = rec.rec_headers.get_header("Content-Type") or ""
            if rec.http_headers is not None and rec.rec_type == "response":
                try:
                    status = int(rec.http_headers.get_statuscode() or 0)
                except ValueError:
                    status = 0
                ctype = rec.http_headers.get_header("Content-Type") or ""
            data = rec.content_stream().read(max_bytes + 1)
            too_large = len(data) > max_bytes
            yield WarcPayload(
                url=url, status=status, content_type=ctype.split(";", 1)[0].strip().lower(),
                payload=b"" if too_large else data,
                date=rec.rec_headers.get_header("WARC-Date") or "", too_large=too_large,
            )
    except ArchiveLoadFailed as exc:
        raise WarcError(f"unreadable archive: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - warcio raises anything on hostile archives
        raise WarcError(f"archive is corrupt or truncated: {type(exc).__name__}: {exc}") from exc


def stem_key(url: str) -> str:
    """``scheme://host/dir/name`` without the extension: pairs media with same-named captions."""
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}{posixpath.splitext(p.path)[0]}"
