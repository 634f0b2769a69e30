"""HTML pages: media elements paired with their caption tracks, and links to follow.

``<audio>``/``<video>`` (with ``src`` or ``<source>`` children) pair with their own
``<track kind="captions|subtitles">`` elements; plain links to audio files pair with links to
transcript files of the same stem. Links to feeds, sitemaps and further pages are returned for
the crawler to follow within its depth and domain limits.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import urlsplit

from filters.web.feeds import MEDIA_EXTENSIONS, data_media_type, is_media, language_tag
from filters.web.transcript_formats import best_first, transcript_format_for
from filters.web.urls import BadLink, BadUrl, canonicalize_url, is_web_link, url_extension
from filters.web.xml import TruncatedDocument, html_document
from schemas.records import SourceItem

TRANSCRIPT_EXTENSIONS = frozenset({"vtt", "srt", "txt"})
TIMED_TRANSCRIPT_FORMATS = frozenset({"vtt", "srt"})  # an <a> to one of these is a caption file
FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/feed+json",
                        "application/xml", "text/xml"})


class PageError(ValueError):
    """The bytes are not a parsable HTML page (reason malformed_document)."""


@dataclass(frozen=True)
class PageLinks:
    media: tuple[SourceItem, ...] = ()
    pages: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    title: str = ""
    # media, transcript (<track>, <a> to .vtt/.srt), feed, sitemap and page links that are not
    # usable URLs (BadUrl), as written; links that are not documents at all (mailto:,
    # javascript:, tel: ... to a "page") are not listed
    bad_links: tuple[BadLink, ...] = ()


def _stem(url: str) -> str:
    """File name without extension: within one page, ``ep1.mp3`` pairs with ``ep1.srt`` even when
    media and transcripts live in different folders."""
    return posixpath.splitext(posixpath.basename(urlsplit(url).path))[0]


def parse_page(data: bytes, page_url: str, discovered_at: str = "") -> PageLinks:
    """Extract media items and links from an HTML page; raises :class:`PageError` (also for a
    page libxml2 could not read to the end, e.g. nested deeper than it allows)."""
    from lxml.etree import LxmlError, ParserError

    try:
        doc = html_document(data)
    except TruncatedDocument as exc:
        raise PageError(f"page not read to the end: {exc}") from exc
    except (ParserError, LxmlError, ValueError) as exc:
        raise PageError(f"invalid HTML: {exc}") from exc
    base = page_url
    for b in doc.xpath("//base[@href]"):
        try:
            base = canonicalize_url(b.get("href"), page_url)
        except BadUrl:
            pass
        break

    errors: dict[str, str] = {}  # raw link -> why it is unusable

    def canon(href: str | None) -> str:
        if not href:
            return ""
        try:
            return canonicalize_url(href, base)
        except BadUrl as exc:
            errors[href] = str(exc)
            return ""

    bad: dict[str, BadLink] = {}

    def unusable(href: str | None, kind: str, media_url: str = "") -> None:
        """Record a link that ``canon`` refused, when it was meant as one we would use."""
        if kind and href and href in errors and (kind != "page" or is_web_link(href, base)):
            bad.setdefault(href, BadLink(href, kind, errors[href], media_url))

    title = " ".join((doc.findtext(".//title") or "").split())
    page_lang = language_tag(doc.get("lang", ""))
    licence = ""
    for el in doc.xpath("//link[@rel='license'][@href] | //a[@rel='license'][@href]"):
        licence = canon(el.get("href")) or el.get("href")
        break

    media: dict[str, SourceItem] = {}

    def add(url: str, tracks: list[tuple[str, str]], lang: str, item_title: str) -> None:
        if not url or url in media:
            return
        pairs = best_first(tracks)
        media[url] = SourceItem(
            media_url=url, source_name="", page_url=page_url,
            transcript_urls=tuple(u for u, _ in pairs),
            transcript_formats=tuple(f for _, f in pairs),
            licence=licence, declared_language=lang or page_lang,
            title=item_title or title, discovered_at=discovered_at,
        )

    for el in doc.xpath("//audio | //video"):
        tracks, lang, lost_tracks = [], "", []
        for tr in el.xpath(".//track[@src]"):
            if (tr.get("kind") or "subtitles").lower() not in ("captions", "subtitles"):
                continue
            url = canon(tr.get("src"))
            fmt = transcript_format_for(url, tr.get("type") or "") or "vtt"  # <track> is WebVTT
            if url:
                tracks.append((url, fmt))
                lang = lang or language_tag(tr.get("srclang") or "")
            else:
                lost_tracks.append(tr.get("src"))
        srcs = [el.get("src")] + [s.get("src") for s in el.xpath(".//source")]
        media_url = ""
        for src in srcs:
            media_url = canon(src)
            if media_url:
                add(media_url, tracks, lang, el.get("title") or "")
                break  # the <source> alternatives are one recording in several encodings
        else:  # no usable source: the element's recording is lost, say which link failed
            unusable(next((s for s in srcs if s and s in errors), None), "media")
        for src in lost_tracks:  # captions of this recording that cannot be fetched
            unusable(src, "transcript", media_url)

    anchors = [(a.get("href"), (a.get("type") or "").lower()) for a in doc.xpath("//a[@href]")]
    links = [(canon(href), mime) for href, mime in anchors]
    for href, mime in anchors:
        if href and href in errors:
            unusable(href, _link_kind(href, mime))
    transcript_links = {}
    for url, mime in links:
        if url and url_extension(url) in TRANSCRIPT_EXTENSIONS:
            transcript_links.setdefault(_stem(url), []).append(
                (url, transcript_format_for(url, mime)))
    pages, feeds, sitemaps = [], [], []
    for url, mime in links:
        if not url:
            continue
        ext = url_extension(url)
        if is_media(url, mime) and (mime or ext in MEDIA_EXTENSIONS):
            add(url, transcript_links.get(_stem(url), []), "", "")
        elif mime in FEED_TYPES or ext in ("rss", "atom"):
            feeds.append(url)
        elif "sitemap" in url.rsplit("/", 1)[-1].lower() and ext in ("xml", "gz"):
            sitemaps.append(url)
        elif ext in ("", "html", "htm", "php", "asp", "aspx") and url not in pages:
            pages.append(url)
    for el in doc.xpath("//link[@rel='alternate'][@href]"):
        if (el.get("type") or "").lower() not in FEED_TYPES:
            continue
        url = canon(el.get("href"))
        if url:
            feeds.append(url)
        else:
            unusable(el.get("href"), "feed")
    for el in doc.xpath("//link[@rel='sitemap'][@href]"):
        url = canon(el.get("href"))
        if url:
            sitemaps.append(url)
        else:
            unusable(el.get("href"), "sitemap")
    return PageLinks(media=tuple(media.values()), pages=tuple(pages),
                     feeds=tuple(dict.fromkeys(feeds)), sitemaps=tuple(dict.fromkeys(sitemaps)),
                     title=title, bad_links=tuple(bad.values()))


def _link_kind(href: str, mime: str) -> str:
    """What an ``<a href>`` would have been, judged from the raw link as the loop above judges a
    canonical one: ``media``, ``transcript`` (a caption file: .vtt, .srt or their types),
    ``feed``, ``sitemap``, ``page``, or '' (plain-text files, images ...). A ``data:`` URL is
    judged by the type it declares."""
    mime = mime or data_media_type(href)
    ext = url_extension(href)
    if is_media(href, mime) and (mime or ext in MEDIA_EXTENSIONS):
        return "media"
    if transcript_format_for(href, mime) in TIMED_TRANSCRIPT_FORMATS:
        return "transcript"
    if mime in FEED_TYPES or ext in ("rss", "atom"):
        return "feed"
    if ext in ("xml", "gz") and "sitemap" in href.rsplit("/", 1)[-1].lower():
        return "sitemap"
    if ext in ("", "html", "htm", "php", "asp", "aspx"):
        return "page"
    return ""
