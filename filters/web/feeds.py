"""Podcast RSS / Atom feeds: enclosures become media items paired with their transcripts.

feedparser does the feed parsing (every RSS/Atom dialect, relative URLs, dates, bozo recovery).
It keeps only the last ``<podcast:transcript>`` of an item, so those links (an episode often
offers VTT, SRT, JSON and HTML at once) are read with a hardened, streaming lxml pass and matched
to the episode by its enclosure URL. The same pass sees the links as written, so enclosures and
transcript links that feedparser blanks (``javascript:``, ``data:``) are still reported.

A feed with more entries than the caller can still take (``max_items``) is not handed whole to
feedparser, which costs seconds and hundreds of MB on a 100,000-item feed: feedparser parses the
channel with the entries up to the limit, and the entries past it come from the light pass
(media URL, title, transcripts, channel language and licence) so the crawl can still account for
each one.
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection
from dataclasses import dataclass, field

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
    # media enclosures, transcript links and next/moved-feed links that are not usable URLs
    # (BadUrl), as written
    bad_links: tuple[BadLink, ...] = ()
    entries: int = 0  # entries in the document
    light_entries: int = 0  # entries past ``max_items``, read by the light pass only


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


_MRSS = "search.yahoo.com/mrss"


@dataclass
class _RawEntry:
    """One ``<item>``/``<entry>`` as written: media links, transcript links, title."""

    media: list[tuple[str, str]] = field(default_factory=list)  # (href, type)
    transcripts: list[tuple[str, str]] = field(default_factory=list)  # (url, type)
    title: str = ""


def _raw_entries(data: bytes) -> list[_RawEntry]:
    """Every entry's links as written, in document order (streaming: entries are freed as they
    are read). Raises :class:`FeedError` when libxml2 had to stop early (nesting too deep)."""
    from lxml import etree

    out: list[_RawEntry] = []
    try:
        context = etree.iterparse(
            io.BytesIO(data), events=("end",), tag=("{*}item", "{*}entry"),
            recover=True, resolve_entities=False, no_network=True, load_dtd=False,
            huge_tree=False, remove_comments=True)
        for _event, el in context:
            raw = _RawEntry()
            for child in el:
                tag = child.tag
                if not isinstance(tag, str):
                    continue
                ns, _, name = tag.rpartition("}")
                if name == "enclosure" and child.get("url"):
                    raw.media.append((child.get("url"), child.get("type") or ""))
                elif name == "link" and child.get("rel") == "enclosure" and child.get("href"):
                    raw.media.append((child.get("href"), child.get("type") or ""))
                elif name == "transcript" and "podcast" in ns and child.get("url"):
                    raw.transcripts.append((child.get("url"), child.get("type") or ""))
                elif name == "title" and not raw.title:
                    raw.title = " ".join((child.text or "").split())
            for mc in el.iter("{*}content"):
                if _MRSS in mc.tag and mc.get("url"):
                    raw.media.append((mc.get("url"), mc.get("type") or ""))
            out.append(raw)
            el.clear(keep_tail=True)
            parent = el.getparent()
            while parent is not None and el.getprevious() is not None:
                del parent[0]
        log = context.error_log
    except (etree.XMLSyntaxError, ValueError):
        return out
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in log):
        raise FeedError("feed is nested too deep to be read whole (libxml2 depth limit); "
                        "refused rather than read in part")
    return out


# An entry's end tag, skipping CDATA, comments and processing instructions that may hold one.
_ENTRY_END = re.compile(rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->|<\?.*?\?>"
                        rb"|</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>", re.DOTALL)


def _entry_ends(data: bytes) -> list[int]:
    """Byte offsets just past each entry's end tag (empty for non-ASCII-compatible encodings)."""
    return [m.end() for m in _ENTRY_END.finditer(data) if m.group().startswith(b"</")]


def data_media_type(url: str) -> str:
    """The media type a ``data:`` URL declares ('' for other URLs)."""
    if not url[:5].lower() == "data:":
        return ""
    return url[5:].split(",", 1)[0].split(";", 1)[0].strip().lower()


def is_media_link(href: str, mime: str = "") -> bool:
    """:func:`is_media` for a link as written: a ``data:`` URL counts by the type it declares."""
    return is_media(href, mime or data_media_type(href))


def _resolve_media(raw: _RawEntry, base: str, bad: dict[str, BadLink]
                   ) -> tuple[list[str], list[str]]:
    """An entry's canonical enclosure URLs and those that are media; unusable media links go to
    ``bad``."""
    links: list[str] = []
    media: list[str] = []
    for href, mime in raw.media:
        try:
            canon = canonicalize_url(href, base)
        except BadUrl as exc:
            if is_media_link(href, mime):
                bad.setdefault(href, BadLink(href, "media", str(exc)))
            continue
        links.append(canon)
        if is_media(canon, mime) and canon not in media:
            media.append(canon)
    return links, media


def _resolve_transcripts(raw: _RawEntry, base: str, media: list[str],
                         bad: dict[str, BadLink]) -> list[tuple[str, str]]:
    """An entry's canonical (transcript URL, format) pairs; unusable links go to ``bad``."""
    pairs: list[tuple[str, str]] = []
    for t_url, t_type in raw.transcripts:
        try:
            canon = canonicalize_url(t_url, base)
        except BadUrl as exc:
            bad.setdefault(t_url, BadLink(t_url, "transcript", str(exc),
                                          media[0] if media else ""))
            continue
        fmt = transcript_format_for(canon, t_type)
        if fmt:
            pairs.append((canon, fmt))
    return pairs


def _cut(data: bytes, media: list[list[str]], max_items: int,
         known: Collection[str]) -> tuple[bytes, int]:
    """The document with only the entries that hold its first ``max_items`` distinct media
    URLs not in ``known``, and how many entries it keeps (all when no cut is needed or
    possible)."""
    seen: set[str] = set()
    keep = len(media)
    for i, urls in enumerate(media):
        seen.update(u for u in urls if u not in known)
        if len(seen) >= max_items:
            keep = i + 1
            break
    if keep >= len(media):
        return data, len(media)
    ends = _entry_ends(data)
    if len(ends) != len(media):  # the two readings disagree: parse it all, to be safe
        return data, len(media)
    return data[:ends[keep - 1]] + data[ends[-1]:], keep


def parse_feed(data: bytes, feed_url: str, discovered_at: str = "",
               content_language: str = "", max_items: int = 0,
               known: Collection[str] = ()) -> FeedPage:
    """Parse one feed page into media items; raises :class:`FeedError` when unusable.

    ``content_language`` is the HTTP header's: the language of a feed that declares none (its own
    ``<language>`` or ``xml:lang`` wins). The charset is left to feedparser's detection, which
    decoded koi8-r and cp1252 feeds correctly without the header. With ``max_items``, feedparser
    reads only the entries holding the first ``max_items`` distinct media URLs that are not in
    ``known`` (the items the caller already took); the items of the entries past them come from
    the light pass, without transcripts: the caller cannot take them as new items anyway."""
    import feedparser

    bad: dict[str, BadLink] = {}
    raw_entries = _raw_entries(data)
    light_bad: dict[str, BadLink] = {}
    resolved = [_resolve_media(raw, feed_url, light_bad) for raw in raw_entries]
    keep = len(raw_entries)
    if max_items > 0:
        data, keep = _cut(data, [media for _links, media in resolved], max_items, known)
    transcripts: dict[str, list[tuple[str, str]]] = {}
    for raw, (links, media) in zip(raw_entries[:keep], resolved, strict=False):
        pairs = _resolve_transcripts(raw, feed_url, media, light_bad)
        for link in links:
            transcripts.setdefault(link, []).extend(pairs)
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
    items: list[SourceItem] = []
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
    for (_links, media), raw in zip(resolved[keep:], raw_entries[keep:], strict=True):
        for canon in media:  # past max_items: the caller accounts for each (crawl_limit)
            items.append(SourceItem(
                media_url=canon, source_name="", page_url=feed_url, licence=channel_licence,
                declared_language=channel_lang, title=raw.title, discovered_at=discovered_at,
            ))
    for key, link in light_bad.items():  # what feedparser blanked (javascript:, data:) or
        bad.setdefault(key, link)  # never saw (transcript links), after its own findings
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
        language=channel_lang, licence=channel_licence, bad_links=tuple(_ordered(bad)),
        entries=len(raw_entries), light_entries=len(raw_entries) - keep,
    )


def _ordered(bad: dict[str, BadLink]) -> list[BadLink]:
    """Media and transcript links first, then the feed's own links, each in document order."""
    return sorted(bad.values(), key=lambda b: b.kind == "feed")


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
