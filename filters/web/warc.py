"""WARC / ARC archives (Common Crawl style) as offline input, read with warcio.

Media records are paired with caption records without any network access: first through the
``<track>`` elements of archived HTML pages, then by a shared file stem
(``ep1.mp3`` + ``ep1.vtt``). ARC files are read through warcio's ARC-to-WARC conversion. A record
cut short (``WARC-Truncated`` by the crawler, or an archive that ends inside it) is flagged,
never passed on as a whole payload.
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
    payload: bytes  # empty when ``too_large`` or ``truncated``
    date: str = ""
    too_large: bool = False
    truncated: bool = False  # cut short: by the crawler (WARC-Truncated) or a cut-off archive
    bad_url: str = ""  # why the target URI is unusable ("" when fine); ``url`` is then raw


CRAWLER_METADATA = ("dns:", "filedesc:")  # lookup/version records of the crawler, not content


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
            if raw_url.startswith(CRAWLER_METADATA):
                continue
            bad_url = ""
            try:
                url = canonicalize_url(raw_url)
            except BadUrl as exc:
                url, bad_url = raw_url, str(exc) or "unusable target URI"
            status = 200
            ctype = rec.rec_headers.get_header("Content-Type") or ""
            if rec.http_headers is not None and rec.rec_type == "response":
                try:
                    status = int(rec.http_headers.get_statuscode() or 0)
                except ValueError:
                    status = 0
                ctype = rec.http_headers.get_header("Content-Type") or ""
            data = _read_capped(rec.content_stream(), max_bytes + 1)
            too_large = len(data) > max_bytes
            # the crawler kept only part of the payload (Common Crawl cuts at 1 MiB / 5 MiB)
            truncated = not too_large and (bool(rec.rec_headers.get_header("WARC-Truncated"))
                                           or _ends_short(rec))
            yield WarcPayload(
                url=url, status=status, content_type=ctype.split(";", 1)[0].strip().lower(),
                payload=b"" if too_large or truncated or bad_url else data,
                date=rec.rec_headers.get_header("WARC-Date") or "", too_large=too_large,
                truncated=truncated, bad_url=bad_url,
            )
    except ArchiveLoadFailed as exc:
        raise WarcError(f"unreadable archive: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - warcio raises anything on hostile archives
        raise WarcError(f"archive is corrupt or truncated: {type(exc).__name__}: {exc}") from exc


def _read_capped(stream: BinaryIO, limit: int) -> bytes:
    out = bytearray()
    while len(out) < limit:
        chunk = stream.read(min(1 << 20, limit - len(out)))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def _ends_short(rec) -> bool:  # noqa: ANN001 - a warcio ArcWarcRecord
    """Whether a record ended before its declared length (a cut-off archive: warcio reads what
    is there without complaint, and half an audio file must not pass as a whole one)."""
    while rec.raw_stream.read(1 << 16):
        pass
    try:
        declared = int(rec.rec_headers.get_header("Content-Length") or -1)
    except ValueError:
        declared = -1
    # warcio limits the block to what it could parse: a cut header block gives length 0 and a
    # response without its HTTP status line
    no_status = rec.rec_type == "response" and not (rec.http_headers and
                                                    rec.http_headers.statusline)
    return getattr(rec.raw_stream, "limit", 0) > 0 or declared > (rec.length or 0) or no_status


def stem_key(url: str) -> str:
    """``scheme://host/dir/name`` without the extension: pairs media with same-named captions."""
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}{posixpath.splitext(p.path)[0]}"
