"""Discovery: from a seed (feed, page, sitemap) to media items with their transcript links.

Plain Python over a :class:`WebSession`, wrapped by a DoFn in :mod:`pipelines.crawl.pipeline`.
Each seed is walked breadth-first within its limits (feed pages, link depth, allowed domains,
page and item caps). Everything that fails yields a reject row instead of an item.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from filters.web.feeds import FeedError, is_media, parse_feed
from filters.web.fetcher import FetchError, FetchResult, utc_now_iso
from filters.web.pages import PageError, parse_page
from filters.web.sitemaps import SitemapError, parse_sitemap
from filters.web.urls import BadUrl, canonicalize_url, same_site
from pipelines.crawl.catalog import crawl_reject
from pipelines.crawl.session import WebSession
from schemas.records import SourceItem

Out = SourceItem | dict[str, Any]  # an item, or a reject row


class _Walk:
    def __init__(self, session: WebSession, source: Any):
        self.session = session
        self.source = source
        self.crawl = session.crawl
        self.pages_left = self.crawl.max_pages
        self.items_left = source.max_items or self.crawl.max_items
        self.now = utc_now_iso()

    def fetch(self, url: str, page_url: str = "") -> FetchResult | dict[str, Any]:
        """A discovery document (body, final URL, headers), or a reject row."""
        if self.pages_left <= 0:
            return crawl_reject(url, "crawl_limit", f"max_pages={self.crawl.max_pages} reached",
                                source_name=self.source.name, page_url=page_url)
        self.pages_left -= 1
        try:
            res = self.session.get(url, self.source.name, max_bytes=self.crawl.max_page_bytes)
        except FetchError as exc:
            return crawl_reject(url, exc.reason, exc.detail, source_name=self.source.name,
                                page_url=page_url or url)
        return res

    def item(self, it: SourceItem) -> SourceItem | None:
        if self.items_left <= 0:
            return None
        self.items_left -= 1
        return replace(it, source_name=self.source.name,
                       licence=it.licence or self.source.licence,
                       declared_language=it.declared_language or self.source.language,
                       discovered_at=it.discovered_at or self.now)

    def reject(self, url: str, reason: str, detail: str, page_url: str = "") -> dict[str, Any]:
        return crawl_reject(url, reason, detail, source_name=self.source.name,
                            page_url=page_url or url)

    # ---------------------------------------------------------------- kinds

    def feed(self, seed: str) -> Iterator[Out]:
        queue = deque([seed])
        seen = {seed}
        pages = 0
        max_pages = getattr(self.source, "max_feed_pages", 20)
        while queue and pages < max_pages:
            url = queue.popleft()
            pages += 1
            got = self.fetch(url)
            if isinstance(got, dict):
                yield got
                continue
            body, final = got.body, got.final_url
            try:
                page = parse_feed(body, final, content_language=got.content_language)
            except FeedError as exc:
                yield self.reject(url, "malformed_document", str(exc))
                continue
            for it in page.items:
                out = self.item(it)
                if out is None:
                    return
                yield out
            for nxt in (page.next_page, page.new_feed_url):
                if nxt and nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)

    def sitemap(self, seed: str, follow_pages: bool = True) -> Iterator[Out]:
        queue, seen = deque([seed]), {seed}
        while queue:
            url = queue.popleft()
            got = self.fetch(url)
            if isinstance(got, dict):
                yield got
                continue
            body, final = got.body, got.final_url
            try:
                sm = parse_sitemap(body, final, self.crawl.max_decompressed_bytes)
            except SitemapError as exc:
                yield self.reject(url, exc.reason, exc.detail)
                continue
            for child in sm.sitemaps:
                if child not in seen:
                    seen.add(child)
                    queue.append(child)
            for media in sm.media:
                out = self.item(SourceItem(media_url=media, source_name="", page_url=final))
                if out is None:
                    return
                yield out
            if follow_pages:
                for page_url in sm.pages:
                    yield from self.pages(page_url, max_depth=0, domains=())

    def pages(self, seed: str, max_depth: int, domains: tuple[str, ...]) -> Iterator[Out]:
        domains = domains or ((urlsplit(seed).hostname or ""),)
        queue = deque([(seed, 0)])
        seen = {seed}
        media_seen: set[str] = set()
        while queue:
            url, depth = queue.popleft()
            got = self.fetch(url)
            if isinstance(got, dict):
                yield got
                continue
            body, final = got.body, got.final_url
            try:
                links = parse_page(body, final)
            except PageError as exc:
                yield self.reject(url, "malformed_document", str(exc))
                continue
            for it in links.media:
                if it.media_url in media_seen:
                    continue
                media_seen.add(it.media_url)
                out = self.item(it)
                if out is None:
                    return
                yield out
            if depth >= max_depth:
                continue
            for feed_url in links.feeds:
                if feed_url not in seen and same_site(feed_url, domains):
                    seen.add(feed_url)
                    yield from self.feed(feed_url)
            for sm_url in links.sitemaps:
                if sm_url not in seen and same_site(sm_url, domains):
                    seen.add(sm_url)
                    yield from self.sitemap(sm_url, follow_pages=False)
            for nxt in links.pages:
                if nxt not in seen and same_site(nxt, domains) and not is_media(nxt):
                    seen.add(nxt)
                    queue.append((nxt, depth + 1))


def discover(session: WebSession, source: Any) -> Iterator[Out]:
    """Items and reject rows found from one web source's seed."""
    walk = _Walk(session, source)
    try:
        seed = canonicalize_url(source.url)
    except BadUrl as exc:
        yield crawl_reject(source.url, "bad_url", str(exc), source_name=source.name)
        return
    if source.type == "rss":
        yield from walk.feed(seed)
    elif source.type == "sitemap":
        yield from walk.sitemap(seed)
    elif source.type == "html":
        depth = source.depth if source.depth >= 0 else session.crawl.depth
        yield from walk.pages(seed, depth, tuple(source.domains))
