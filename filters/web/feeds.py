"""Podcast RSS / Atom feeds: enclosures become media items paired with their transcripts.

feedparser does the feed parsing (every RSS/Atom dialect, relative URLs, dates, bozo recovery).
It keeps only the last ``<podcast:transcript>`` of an item, so those links (an episode often
offers VTT, SRT, JSON and HTML at once) are read with a hardened lxml pass and matched to the
episode by its enclosure URL.
"""

from __future__ import annotations

from dataclasses import dataclass

from filters.web.sniff import AUDIO_TYPES
from filters.web.transcript_formats import best_first, transcript_format_for
from filters.web.urls import BadLink, BadUrl, canonicalize_url, url_extension
from filters.web.xml import local_name, safe_xml_parser
from schemas.records import SourceItem

MEDIA_EXTENSIONS = frozenset({"mp3", "m4a", "mp4", "aac", "ogg", "oga", "opus", "flac", "wav",
                              "webm", "mka", "mkv", "m4b", "mov"})
# Types that say nothing about the content: the URL's extension decides, as with no type at all
# (some hosts declare every enclosure as a download). The fetched bytes are sniffed either way.
GENERIC_TYPES = frozenset({"application/octet-stream", "binary/octet-stream",
                           "application/download", "application/x-download",
                           "application/force-download"})


class FeedError(ValueError):
    """The bytes are not a usable feed (reason malformed_document)."""


@dataclass(frozen=True)
class FeedPage:
    items: tuple[SourceItem, ...]
    title: str = ""
    next_page: str = ""  # RFC 5005 paged feed: the next page's URL
    new_feed_url: str = ""  # <itunes:new-feed-url>: the feed moved
    language: str = ""
    licence: str = ""
    # media enclosures and next/moved-feed links that are not usable URLs (BadUrl), as written
    bad_links: tuple[BadLink, ...] = ()


def language_tag(value: str) -> str:
    """Primary language subtag, lower case: ``en-US`` -> ``en`` ('' when absent or odd)."""
    primary = (value or "").strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else ""


def is_media(url: str, mime: str = "") -> bool:
    """Whether a link is worth fetching as media: a declared audio/video type, or (no type, or a
    generic one) a media file extension. Images, PDFs, HTML pages are not media items."""
    mime = (mime or "").split(";", 1)[0].strip().lower()
    if mime.startswith(("audio/", "video/")) or mime in AUDIO_TYPES:
        return True
    return (not mime or mime in GENERIC_TYPES) and url_extension(url) in MEDIA_EXTENSIONS


def _licence(d: dict) -> str:
    """Podcasting 2.0 ``<podcast:license>``, else a licence URL (``<cc:license>``,
    ``<creativeCommons:license>``, Atom ``<link rel="license">``), else the rights statement."""
    for key in ("podcast_license", "license", "rights"):
        value = d.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _transcripts_by_enclosure(data: bytes, base: str) -> dict[str, list[tuple[str, str]]]:
    """enclosure URL -> [(transcript URL, format)] from <podcast:transcript> elements."""
    from lxml import etree

    try:
        root = etree.fromstring(data, safe_xml_parser(recover=True))
    except (etree.XMLSyntaxError, ValueError):
        return {}
    if root is None:
        return {}
    out: dict[str, list[tuple[str, str]]] = {}
    for item in root.iter():
        if local_name(item.tag) not in ("item", "entry"):
            continue
        enclosures, transcripts = [], []
        for child in item:
            name = local_name(child.tag)
            if name == "enclosure" and child.get("url"):
                enclosures.append(child.get("url"))
            elif name == "link" and child.get("rel") == "enclosure" and child.get("href"):
                enclosures.append(child.get("href"))
            elif name == "transcript" and "podcast" in (etree.QName(child).namespace or ""):
                if child.get("url"):
                    transcripts.append((child.get("url"), child.get("type") or ""))
        for enc in enclosures:
            try:
                key = canonicalize_url(enc, base)
            except BadUrl:
                continue
            for t_url, t_type in transcripts:
                try:
                    canon = canonicalize_url(t_url, base)
                except BadUrl:
                    continue
                fmt = transcript_format_for(canon, t_type)
                if fmt:
                    out.setdefault(key, []).append((canon, fmt))
    return out


def parse_feed(data: bytes, feed_url: str, discovered_at: str = "",
               content_language: str = "") -> FeedPage:
    """Parse one feed page into media items; raises :class:`FeedError` when unusable.

    ``content_language`` is the HTTP header's: the language of a feed that declares none (its own
    ``<language>`` or ``xml:lang`` wins). The charset is left to feedparser's detection, which
    decoded koi8-r and cp1252 feeds correctly without the header."""
    import feedparser

    headers = {"content-location": feed_url, "content-type": "application/xml"}
    if content_language:
        headers["content-language"] = content_language
    parsed = feedparser.parse(data, response_headers=headers)
    feed = parsed.get("feed", {})
    entries = parsed.get("entries", [])
    useful = [e for e in entries if e.get("title") or e.get("enclosures") or e.get("link")]
    if parsed.get("bozo") and not useful and not feed.get("title"):
        raise FeedError(f"not a feed: {parsed.get('bozo_exception')}")
    if not feed and not entries:
        raise FeedError("document has no feed elements")
    channel_lang = language_tag(feed.get("language", ""))
    channel_licence = _licence(feed)
    transcripts = _transcripts_by_enclosure(data, feed_url)
    items: list[SourceItem] = []
    bad: dict[str, BadLink] = {}
    for entry in entries:
        media = [(e.get("href"), e.get("type", "")) for e in entry.get("enclosures", [])]
        media += [(m.get("url"), m.get("type", "")) for m in entry.get("media_content", [])]
        lang = language_tag(entry.get("language", "")) or channel_lang
        licence = _licence(entry) or channel_licence
        seen = set()
        for href, mime in media:
            if not href or not is_media(href, mime):
                continue
            try:
                canon = canonicalize_url(href, feed_url)
            except BadUrl as exc:
                bad.setdefault(href, BadLink(href, "media", str(exc)))
                continue
            if canon in seen:
                continue
            seen.add(canon)
            pairs = best_first(transcripts.get(canon, []))
            items.append(SourceItem(
                media_url=canon, source_name="", page_url=feed_url,
                transcript_urls=tuple(u for u, _ in pairs),
                transcript_formats=tuple(f for _, f in pairs),
                licence=licence, declared_language=lang,
                title=(entry.get("title") or "").strip(), discovered_at=discovered_at,
            ))
    next_page, blanked = "", False
    for link in feed.get("links", []):
        if link.get("rel") == "next" and link.get("href"):
            next_page = link["href"]
        elif link.get("rel") == "next":  # feedparser blanks a link it cannot resolve
            blanked = True
    for raw in _raw_next_links(data) if blanked else ():
        _canon_or_bad(raw, feed_url, bad)  # the usable ones pass, the blanked one is reported
    new_feed = feed.get("itunes_new-feed-url", "") or ""
    return FeedPage(
        items=tuple(items), title=(feed.get("title") or "").strip(),
        next_page=_canon_or_bad(next_page, feed_url, bad),
        new_feed_url=_canon_or_bad(new_feed.strip(), feed_url, bad),
        language=channel_lang, licence=channel_licence, bad_links=tuple(bad.values()),
    )


def _raw_next_links(data: bytes) -> list[str]:
    """The channel's ``rel="next"`` hrefs as written (rarely needed: only for reporting)."""
    from lxml import etree

    try:
        root = etree.fromstring(data, safe_xml_parser(recover=True))
    except (etree.XMLSyntaxError, ValueError):
        return []
    if root is None:
        return []
    out = []
    for el in root.iter():
        if (local_name(el.tag) == "link" and el.get("rel") == "next" and el.get("href")
                and not any(local_name(a.tag) in ("item", "entry") for a in el.iterancestors())):
            out.append(el.get("href"))
    return out


def _canon_or_bad(url: str, base: str, bad: dict[str, BadLink]) -> str:
    """The canonical URL of a feed link, or '' (an unusable one is added to ``bad``)."""
    if not url:
        return ""
    try:
        return canonicalize_url(url, base)
    except BadUrl as exc:
        bad.setdefault(url, BadLink(url, "feed", str(exc)))
        return ""
