"""Sitemaps (sitemaps.org): url sets, sitemap indexes, gzip, and plain-text URL lists."""

from __future__ import annotations

from dataclasses import dataclass

from filters.web.compression import CorruptEncoding, TooLarge, gunzip_capped
from filters.web.feeds import is_media
from filters.web.urls import BadLink, BadUrl, canonicalize_url
from filters.web.xml import local_name, safe_xml_parser


class SitemapError(ValueError):
    """Not a usable sitemap; ``reason`` is a reject reason code."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Sitemap:
    pages: tuple[str, ...] = ()  # <url><loc> of pages to parse as HTML
    media: tuple[str, ...] = ()  # media URLs (<video:content_loc>, or a <loc> that is media)
    sitemaps: tuple[str, ...] = ()  # child sitemaps of a sitemap index
    bad_links: tuple[BadLink, ...] = ()  # <loc>s that are not usable URLs (BadUrl), as written


def parse_sitemap(data: bytes, sitemap_url: str, max_bytes: int = 50 * 1024**2) -> Sitemap:
    """Parse a sitemap or sitemap index (gzip-compressed or not); raises :class:`SitemapError`."""
    from lxml import etree

    if data[:2] == b"\x1f\x8b":
        try:
            data = gunzip_capped(data, max_bytes)
        except TooLarge as exc:
            raise SitemapError("too_large", str(exc)) from exc
        except CorruptEncoding as exc:
            raise SitemapError("corrupt_encoding", str(exc)) from exc
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"<"):
        return _text_sitemap(stripped, sitemap_url)
    try:
        root = etree.fromstring(data, safe_xml_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise SitemapError("malformed_document", f"invalid sitemap XML: {exc}") from exc
    kind = local_name(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise SitemapError("malformed_document", f"root element is <{kind}>, not a sitemap")
    pages, media, children = [], [], []
    bad: dict[str, BadLink] = {}
    for entry in root:
        if local_name(entry.tag) not in ("url", "sitemap"):
            continue
        for el in entry.iter():
            name = local_name(el.tag)
            text = (el.text or "").strip()
            if not text or name not in ("loc", "content_loc"):
                continue
            try:
                url = canonicalize_url(text, sitemap_url)
            except BadUrl as exc:
                what = ("sitemap" if kind == "sitemapindex"
                        else "media" if name == "content_loc" or is_media(text)
                        else "page" if el.getparent() is entry else "")
                if what:
                    bad.setdefault(text, BadLink(text, what, str(exc)))
                continue
            if kind == "sitemapindex":
                children.append(url)
            elif name == "content_loc" or is_media(url):
                media.append(url)
            elif el.getparent() is entry:
                pages.append(url)
    return Sitemap(pages=tuple(dict.fromkeys(pages)), media=tuple(dict.fromkeys(media)),
                   sitemaps=tuple(dict.fromkeys(children)), bad_links=tuple(bad.values()))


def _text_sitemap(data: bytes, sitemap_url: str) -> Sitemap:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SitemapError("malformed_document", "text sitemap is not UTF-8") from exc
    pages, media = [], []
    bad: dict[str, BadLink] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith(("http://", "https://")):
            if line:
                raise SitemapError("malformed_document", f"not a URL line: {line[:80]!r}")
            continue
        try:
            url = canonicalize_url(line, sitemap_url)
        except BadUrl as exc:
            bad.setdefault(line, BadLink(line, "media" if is_media(line) else "page", str(exc)))
            continue
        (media if is_media(url) else pages).append(url)
    return Sitemap(pages=tuple(pages), media=tuple(media), bad_links=tuple(bad.values()))
