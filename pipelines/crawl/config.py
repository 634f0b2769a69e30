"""Configuration of the crawl phase: one frozen dataclass per web source type and the crawler.

Imports only :mod:`pipelines.config_base` (``pipelines.config`` imports this module).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.config_base import check


def _check_networks(networks: tuple[str, ...], where: str) -> None:
    from filters.web.policy import parse_networks

    for i, spec in enumerate(networks):
        try:
            parse_networks([spec])
        except ValueError as exc:
            check(False, f"{where}.allow_networks[{i}]", str(exc))


def _check_ports(ports: tuple[int, ...], where: str) -> None:
    from filters.web.policy import parse_ports

    for i, port in enumerate(ports):
        try:
            parse_ports([port])
        except ValueError as exc:
            check(False, f"{where}.allow_ports[{i}]", str(exc))


def _check_url(url: str, where: str) -> None:
    from filters.web.urls import BadUrl, canonicalize_url

    check(bool(url), f"{where}.url", "is required")
    try:
        canonicalize_url(url)
    except BadUrl as exc:
        check(False, f"{where}.url", str(exc))


@dataclass(frozen=True)
class _WebSource:
    """Fields shared by every networked source."""

    name: str  # label used in manifests and reports
    type: str  # rss | html | sitemap
    url: str = ""  # the seed URL
    allow_networks: tuple[str, ...] = ()  # non-public networks this source may reach (CIDR)
    allow_ports: tuple[int, ...] = ()  # ports allow_networks may be reached on (empty: any port)
    opt_out: tuple[str, ...] = ()  # domains / URL prefixes never fetched (on top of crawl.opt_out)
    licence: str = ""  # licence to record when the site declares none
    language: str = ""  # declared language (ISO 639-1) when the site declares none
    max_items: int = 0  # stop discovering media after this many items (0: crawl.max_items)

    def validate(self, where: str) -> None:
        _check_url(self.url, where)
        _check_networks(self.allow_networks, where)
        _check_ports(self.allow_ports, where)
        check(self.max_items >= 0, f"{where}.max_items", "must be >= 0")


@dataclass(frozen=True)
class RssSourceConfig(_WebSource):
    """A podcast RSS/Atom feed: enclosures plus <podcast:transcript> links."""

    type: str = "rss"
    max_feed_pages: int = 20  # paged feeds (rel="next") followed up to this many pages


@dataclass(frozen=True)
class HtmlSourceConfig(_WebSource):
    """Web pages with <audio>/<video>/<track>; links followed within ``domains`` to ``depth``."""

    type: str = "html"
    depth: int = -1  # link hops followed from the seed page (-1: crawl.depth)
    domains: tuple[str, ...] = ()  # hosts (and subdomains) links may lead to; empty: seed host


@dataclass(frozen=True)
class SitemapSourceConfig(_WebSource):
    """A sitemap or sitemap index (gzip too); its pages are parsed as HTML (no link following)."""

    type: str = "sitemap"


@dataclass(frozen=True)
class WarcSourceConfig:
    """WARC/ARC files read offline (local paths, globs or fsspec URLs); no network access."""

    name: str  # label used in manifests and reports
    type: str = "warc"
    path: str = ""  # a WARC/ARC file, a glob of them, or a directory of *.warc(.gz) / *.arc(.gz)
    opt_out: tuple[str, ...] = ()  # domains / URL prefixes whose records are skipped
    licence: str = ""  # licence recorded on every item of this source
    language: str = ""  # declared language recorded on every item

    def validate(self, where: str) -> None:
        check(bool(self.path), f"{where}.path", "is required")


WEB_SOURCE_TYPES: dict[str, type] = {
    "rss": RssSourceConfig,
    "html": HtmlSourceConfig,
    "sitemap": SitemapSourceConfig,
    "warc": WarcSourceConfig,
}

DEFAULT_USER_AGENT = "speechcurate/0.1 (+https://github.com/speechcurate)"
DEFAULT_AI_TOKENS = ("GPTBot", "CCBot", "Google-Extended", "ClaudeBot", "anthropic-ai",
                     "Applebot-Extended", "Bytespider", "meta-externalagent")


@dataclass(frozen=True)
class CrawlConfig:
    """How the crawler behaves: identity, politeness, limits and retries."""

    # sent as User-Agent; put your contact URL (or address) in the parentheses
    user_agent: str = DEFAULT_USER_AGENT
    robots_token: str = "speechcurate"  # product token matched against robots.txt groups
    respect_ai_optout: bool = True  # honour robots.txt groups for the AI tokens below
    ai_optout_tokens: tuple[str, ...] = DEFAULT_AI_TOKENS  # robots tokens of AI-training crawlers
    delay_s: float = 1.0  # minimum seconds between request starts to one host
    max_crawl_delay_s: float = 30.0  # robots.txt Crawl-delay is honoured up to this value
    per_host_concurrency: int = 1  # parallel requests to one host
    connect_timeout_s: float = 10.0  # per connection attempt
    read_timeout_s: float = 30.0  # longest silence tolerated while reading
    deadline_s: float = 300.0  # total seconds for one fetch: DNS, connect, TLS, redirects,
    # retries, headers and body, whatever the server does (reason timeout)
    max_bytes: int = 512 * 1024**2  # byte cap per fetched media file (reason too_large)
    max_page_bytes: int = 10 * 1024**2  # byte cap for pages, feeds, sitemaps and robots.txt
    # (documents decompress to at most 4x this, or max_decompressed_bytes if lower; robots.txt
    # is read up to its first 500 KiB and obeyed)
    max_transcript_bytes: int = 10 * 1024**2  # byte cap per transcript
    max_decompressed_bytes: int = 512 * 1024**2  # cap after gzip/deflate decoding (bombs)
    max_redirects: int = 5  # redirect hops per fetch
    retries: int = 2  # extra attempts on 429 / 5xx / connection errors
    backoff_s: float = 1.0  # first retry backoff, doubling per attempt
    max_retry_after_s: float = 120.0  # a longer Retry-After fails the fetch (http_429)
    depth: int = 1  # default link depth of html sources
    max_pages: int = 1000  # pages/feeds/sitemaps fetched per source during discovery
    max_items: int = 100_000  # media items per source
    opt_out: tuple[str, ...] = ()  # domains / URL prefixes never fetched, for every source

    def validate(self, where: str) -> None:
        check(bool(self.user_agent.strip()), f"{where}.user_agent", "must not be empty")
        check(bool(self.robots_token.strip()) and " " not in self.robots_token.strip(),
              f"{where}.robots_token", "must be one word")
        for name in ("delay_s", "max_crawl_delay_s", "backoff_s", "max_retry_after_s"):
            check(getattr(self, name) >= 0, f"{where}.{name}", "must be >= 0")
        for name in ("connect_timeout_s", "read_timeout_s", "deadline_s"):
            check(getattr(self, name) > 0, f"{where}.{name}", "must be > 0")
        for name in ("max_bytes", "max_page_bytes", "max_transcript_bytes",
                     "max_decompressed_bytes", "per_host_concurrency", "max_pages", "max_items"):
            check(getattr(self, name) >= 1, f"{where}.{name}", "must be >= 1")
        for name in ("max_redirects", "retries", "depth"):
            check(getattr(self, name) >= 0, f"{where}.{name}", "must be >= 0")
