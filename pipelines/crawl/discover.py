"""Discovery: from a seed (feed, page, sitemap) to media items with their transcript links.

Plain Python over a :class:`WebSession`, wrapped by a DoFn in :mod:`pipelines.crawl.pipeline`.
Each seed is walked breadth-first within its limits (feed pages, link depth, allowed domains,
page and item caps). Everything that fails yields a reject row instead of an item, and so does
everything a limit cuts off: media items past ``max_items`` (one ``crawl_limit`` row each: they
are media the accounting counts), feed pages past ``max_feed_pages`` (one row each), and
documents not fetched because of ``max_pages`` or ``max_items``: one counted ``crawl_limit`` row
per source and limit, on the first such document, with the count in its detail (a sitemap of
20,000 pages over ``max_pages`` is one row, not 20,000). Media links, transcript links and links
to documents the walk would follow that are not usable URLs (``javascript:``, ``data:``,
``file:``, malformed) become ``bad_url`` rows, with the page they were found on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from filters.web.feeds import FeedError, is_media, parse_feed
from filters.web.fetcher import FetchError, FetchResult, decoded_cap, utc_now_iso
from filters.web.pages import PageError, parse_page
from filters.web.sitemaps import SitemapError, parse_sitemap
from filters.web.urls import BadLink, BadUrl, canonicalize_url, same_site
from pipelines.crawl.catalog import crawl_reject
from pipelines.crawl.session import WebSession
from schemas.keys import recording_id_for
from schemas.records import SourceItem

Out = SourceItem | dict[str, Any]  # an item, or a reject row
MAX_RAW_URL_CHARS = 2048  # a bad link is reported as written, up to this length (data: URIs)
DEFAULT_MAX_FEED_PAGES = 20


class _Walk:
    def __init__(self, session: WebSession, source: Any):
        self.session = session
        self.source = source
        self.crawl = session.crawl
        self.pages_left = self.crawl.max_pages
        self.max_items = source.max_items or self.crawl.max_items
        self.items_left = self.max_items
        self.taken: set[str] = set()  # media URLs yielded as items (a repeat is not a new item)
        self.reported: set[tuple[str, str]] = set()  # (reason, URL) of link/limit rows yielded
        # limit -> [documents not fetched because of it, the first one, where it was found]
        self.cut: dict[str, list[Any]] = {}
        self.now = utc_now_iso()

    def fetch(self, url: str, page_url: str = "") -> FetchResult | dict[str, Any] | None:
        """A discovery document (body, final URL, headers), a reject row, or None when a limit
        keeps it from being fetched (counted; :meth:`limit_rows` reports them)."""
        if self.pages_left <= 0:
            self._count_cut(f"max_pages={self.crawl.max_pages}", url, page_url)
            return None
        if self.items_left <= 0:  # nothing it holds could become an item: not fetched
            self._count_cut(f"max_items={self.max_items}", url, page_url)
            return None
        self.pages_left -= 1
        try:
            res = self.session.get(url, self.source.name, max_bytes=self.crawl.max_page_bytes)
        except FetchError as exc:
            return crawl_reject(url, exc.reason, exc.detail, source_name=self.source.name,
                                page_url=page_url or url)
        return res

    def _count_cut(self, limit: str, url: str, page_url: str) -> None:
        entry = self.cut.setdefault(limit, [0, url, page_url])
        entry[0] += 1

    def limit_rows(self) -> Iterator[dict[str, Any]]:
        """One ``crawl_limit`` row per limit that kept documents from being fetched: on the first
        of them, with how many there were."""
        for limit, (count, url, page_url) in self.cut.items():
            what = ("document not fetched" if count == 1
                    else f"{count} documents not fetched (this one first)")
            yield self.reject(url, "crawl_limit", f"{limit} reached; {what}", page_url)

    def item(self, it: SourceItem) -> Out | None:
        """The item with the source's defaults, a ``crawl_limit`` row once ``max_items`` items
        were taken, or None for an over-limit item already reported."""
        if it.media_url not in self.taken:
            if self.items_left <= 0:
                return self._once(it.media_url, "crawl_limit",
                                  f"max_items={self.max_items} reached", it.page_url)
            self.items_left -= 1
            self.taken.add(it.media_url)
        return replace(it, source_name=self.source.name,
                       licence=it.licence or self.source.licence,
                       declared_language=it.declared_language or self.source.language,
                       discovered_at=it.discovered_at or self.now)

    def items(self, found: Iterable[SourceItem]) -> Iterator[Out]:
        for it in found:
            out = self.item(it)
            if out is not None:
                yield out

    def reject(self, url: str, reason: str, detail: str, page_url: str = "") -> dict[str, Any]:
        return crawl_reject(url, reason, detail, source_name=self.source.name,
                            page_url=page_url or url)

    def _once(self, url: str, reason: str, detail: str, page_url: str) -> dict[str, Any] | None:
        """A reject row for ``url``, or None when this walk already reported it so."""
        if (reason, url) in self.reported:
            return None
        self.reported.add((reason, url))
        return self.reject(url, reason, detail, page_url)

    def bad_links(self, bad: Iterable[BadLink], page_url: str,
                  followed: frozenset[str]) -> Iterator[dict[str, Any]]:
        """``bad_url`` rows for unusable media and transcript links and for unusable links of the
        ``followed`` kinds (documents this walk would have fetched), keyed by the raw link; a
        transcript link's row names its recording when the parser knew it."""
        for link in bad:
            if link.kind in ("media", "transcript") or link.kind in followed:
                row = self._once(link.url[:MAX_RAW_URL_CHARS], "bad_url",
                                 f"{link.kind} link: {link.detail}", page_url)
                if row is not None:
                    if link.media_url:
                        row["recording_id"] = recording_id_for(link.media_url)
                    yield row

    # ---------------------------------------------------------------- kinds

    def feed(self, seed: str, found_on: str = "") -> Iterator[Out]:
        queue = deque([(seed, found_on)])  # (feed page URL, the page that linked it)
        seen = {seed}
        pages = 0
        max_feed_pages = getattr(self.source, "max_feed_pages", DEFAULT_MAX_FEED_PAGES)
        while queue and pages < max_feed_pages:
            url, found_on = queue.popleft()
            pages += 1
            got = self.fetch(url, found_on)
            if got is None:
                continue
            if isinstance(got, dict):
                yield got
                continue
            body, final = got.body, got.final_url
            try:
                page = parse_feed(body, final, content_language=got.content_language,
                                  max_items=self.items_left, known=self.taken)
            except FeedError as exc:
                yield self.reject(url, "malformed_document", str(exc), found_on)
                continue
            yield from self.items(page.items)
            yield from self.bad_links(page.bad_links, final, frozenset({"feed"}))
            for nxt in (page.next_page, page.new_feed_url):
                if nxt and nxt not in seen:
                    seen.add(nxt)
                    queue.append((nxt, final))
        for url, found_on in queue:  # the pages of the feed past its limit
            yield self.reject(url, "crawl_limit",
                              f"max_feed_pages={max_feed_pages} reached; feed page not fetched",
                              found_on)

    def sitemap(self, seed: str, follow_pages: bool = True, found_on: str = "") -> Iterator[Out]:
        queue, seen = deque([(seed, found_on)]), {seed}
        followed = frozenset({"sitemap", "page"} if follow_pages else {"sitemap"})
        # a .gz sitemap file decompresses under the same cap as a gzip Content-Encoding
        cap = decoded_cap(self.crawl.max_page_bytes, self.crawl.max_decompressed_bytes)
        while queue:
            url, found_on = queue.popleft()
            got = self.fetch(url, found_on)
            if got is None:
                continue
            if isinstance(got, dict):
                yield got
                continue
            body, final = got.body, got.final_url
            try:
                sm = parse_sitemap(body, final, cap)
            except SitemapError as exc:
                yield self.reject(url, exc.reason, exc.detail, found_on)
                continue
            for child in sm.sitemaps:
                if child not in seen:
                    seen.add(child)
                    queue.append((child, final))
            yield from self.items(SourceItem(media_url=media, source_name="", page_url=final)
                                  for media in sm.media)
            yield from self.bad_links(sm.bad_links, final, followed)
            if follow_pages:
                for page_url in sm.pages:
                    yield from self.pages(page_url, max_depth=0, domains=(), found_on=final)

    def pages(self, seed: str, max_depth: int, domains: tuple[str, ...],
              found_on: str = "") -> Iterator[Out]:
        domains = domains or ((urlsplit(seed).hostname or ""),)
        queue = deque([(seed, 0, found_on)])
        seen = {seed}
        media_seen: set[str] = set()
        while queue:
            url, depth, found_on = queue.popleft()
            got = self.fetch(url, found_on)
            if got is None:
                continue
            if isinstance(got, dict):
                yield got
                continue
            body, final = got.body, got.final_url
            try:
                links = parse_page(body, final)
            except PageError as exc:
                yield self.reject(url, "malformed_document", str(exc), found_on)
                continue
            fresh = [it for it in links.media if it.media_url not in media_seen]
            media_seen.update(it.media_url for it in fresh)
            yield from self.items(fresh)
            follow = depth < max_depth
            yield from self.bad_links(links.bad_links, final, frozenset(
                {"feed", "sitemap", "page"} if follow else ()))
            if not follow:
                continue
            for feed_url in links.feeds:
                if feed_url not in seen and same_site(feed_url, domains):
                    seen.add(feed_url)
                    yield from self.feed(feed_url, found_on=final)
            for sm_url in links.sitemaps:
                if sm_url not in seen and same_site(sm_url, domains):
                    seen.add(sm_url)
                    yield from self.sitemap(sm_url, follow_pages=False, found_on=final)
            for nxt in links.pages:
                if nxt not in seen and same_site(nxt, domains) and not is_media(nxt):
                    seen.add(nxt)
                    queue.append((nxt, depth + 1, final))


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
    yield from walk.limit_rows()
