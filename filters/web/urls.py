"""URL canonicalisation, so the same resource reached through different spellings gets one id.

Two URLs that differ only in scheme/host case, a default port, dot segments, percent-encoding
case, a fragment, tracking parameters or query order name the same resource on practically every
server; the crawler fetches it once and ``recording_id_for(canonical_url)`` is stable.
"""

from __future__ import annotations

import posixpath
import re
from typing import NamedTuple
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that only track the click and never change the response.
TRACKING_PARAMS = frozenset({
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id",
    "fbclid", "gclid", "mc_cid", "mc_eid", "ref_src",
})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SAFE_PATH = "/:@!$&'()*+,;=-._~%"
_SAFE_QUERY = ":@!$'()*+,;/?-._~"  # '&' and '=' are separators, so they stay encoded in values
_HEX_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")


class BadUrl(ValueError):
    """A URL the crawler cannot or will not fetch (not http(s), no host, unparsable)."""


class BadLink(NamedTuple):
    """A link a parser found but could not use (:class:`BadUrl`), kept so the crawl can report it.

    ``kind`` says what the link would have been: ``media`` (an item), ``feed``, ``sitemap`` or
    ``page`` (a document the crawler may follow); ``url`` is the raw link as written."""

    url: str
    kind: str
    detail: str


def _requote(part: str, safe: str) -> str:
    """Percent-encode what must be encoded; decode escapes of unreserved characters."""
    # Unquote only unreserved characters, keep reserved escapes (e.g. %2F) as they are.
    def fix(m: re.Match[str]) -> str:
        ch = unquote(m.group(0))
        if ch.isascii() and (ch.isalnum() or ch in "-._~"):
            return ch
        return m.group(0).upper()

    part = _HEX_ESCAPE.sub(fix, part)
    # A '%' not followed by two hex digits is a literal percent sign.
    part = re.sub(r"%(?![0-9A-F]{2})", "%25", part)
    return quote(part, safe=safe)


def _normalise_path(path: str) -> str:
    if not path:
        return "/"
    trailing = path.endswith("/") or path.endswith("/.") or path.endswith("/..")
    norm = posixpath.normpath(path)
    if norm.startswith("//"):
        norm = "/" + norm.lstrip("/")
    if trailing and norm != "/":
        norm += "/"
    return norm


def canonicalize_url(url: str, base: str | None = None) -> str:
    """The canonical form of an http(s) URL, resolved against ``base`` when relative.

    Raises :class:`BadUrl` for anything that is not a fetchable http(s) URL.
    """
    if not isinstance(url, str):
        raise BadUrl(f"not a string: {url!r}")
    url = url.strip()
    try:
        if base:
            url = urljoin(base, url)  # raises ValueError too (e.g. an unclosed IPv6 bracket)
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadUrl(f"unparsable URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise BadUrl(f"not an http(s) URL: {url!r}")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise BadUrl(f"URL has no host: {url!r}")
    try:
        host = host.encode("idna").decode("ascii").lower() if not host.isascii() else host.lower()
    except UnicodeError as exc:
        raise BadUrl(f"invalid host name in {url!r}: {exc}") from exc
    if any(c in host for c in " /\\@%") or ":" in host and not host.startswith("["):
        if ":" in host:  # IPv6 literal: urlsplit strips the brackets
            host = f"[{host}]"
        else:
            raise BadUrl(f"invalid host name in {url!r}")
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _requote(_normalise_path(parts.path), _SAFE_PATH)
    pairs = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS
    ]
    query = urlencode(sorted(pairs), quote_via=quote, safe=_SAFE_QUERY)
    return urlunsplit((scheme, netloc, path, query, ""))


def host_of(url: str) -> str:
    """``host[:port]`` of a (canonical) URL: the unit of politeness."""
    return urlsplit(url).netloc


def url_extension(url: str) -> str:
    """Lower-case file extension of the URL's path without the dot ('' when none or unparsable)."""
    try:
        path = urlsplit(url).path
    except ValueError:  # e.g. an unclosed IPv6 bracket: the path is still what follows the host
        rest = url.split("#", 1)[0].split("?", 1)[0]
        path = rest.split("//", 1)[1].partition("/")[2] if "//" in rest else rest
    name = posixpath.basename(path)
    return name.rsplit(".", 1)[1].lower() if "." in name else ""


def same_site(url: str, domains: tuple[str, ...]) -> bool:
    """True when the URL's host is one of ``domains`` or a subdomain of one."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in (d.lower().strip(".") for d in domains))


def is_web_link(url: str, base: str = "") -> bool:
    """Whether a raw link means an http(s) resource (absolute, or relative to an http(s) ``base``)
    as opposed to ``mailto:``, ``javascript:``, ``tel:``, ``data:`` ... which are not documents."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:  # unparsable: still look at what it says it is
        scheme = url.strip().split(":", 1)[0].lower() if ":" in url else ""
    if scheme:
        return scheme in _DEFAULT_PORTS
    try:
        return urlsplit(base).scheme.lower() in _DEFAULT_PORTS if base else True
    except ValueError:
        return False
