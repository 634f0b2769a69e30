"""URL canonicalisation, so the same resource reached through different spellings gets one id.

Two URLs that differ only in scheme/host case, a default port, dot segments, percent-encoding
case, a fragment, tracking parameters or query order name the same resource on practically every
server; the crawler fetches it once and ``recording_id_for(canonical_url)`` is stable.

Hosts are canonicalised the way browsers (WHATWG URL) read them, so every spelling of one host
is one string before opt-outs, robots.txt and politeness are looked up: IDNA (``bücher.de`` ->
``xn--bcher-kva.de``), lower case, no trailing dot, numeric IPv4 in any form (``0x7f000001``,
``2130706433``, ``127.1``, ``0177.0.0.1``) -> dotted quad, IPv6 compressed (``[0:0::1]`` ->
``[::1]``; IPv4-mapped ``[::ffff:7f00:1]`` -> ``127.0.0.1``). A host that ends in a number but is
not a valid IPv4 address, an IPv6 zone, or an ``[IPvFuture]`` literal is a :class:`BadUrl`.
"""

from __future__ import annotations

import ipaddress
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
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")  # urljoin(base, it) would return it as is


class BadUrl(ValueError):
    """A URL the crawler cannot or will not fetch (not http(s), no host, unparsable)."""


class BadLink(NamedTuple):
    """A link a parser found but could not use (:class:`BadUrl`), kept so the crawl can report it.

    ``kind`` says what the link would have been: ``media`` (an item), ``transcript`` (of the
    item ``media_url``, when known), ``feed``, ``sitemap`` or ``page`` (a document the crawler
    may follow); ``url`` is the raw link as written."""

    url: str
    kind: str
    detail: str
    media_url: str = ""  # for a transcript link: the canonical URL of its media item


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
        if base and not _ABSOLUTE.match(url):
            url = urljoin(base, url)  # raises ValueError too (e.g. an unclosed IPv6 bracket)
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadUrl(f"unparsable URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise BadUrl(f"not an http(s) URL: {url!r}")
    bracketed = parts.netloc.rpartition("@")[2].startswith("[")
    host = canonical_host(parts.hostname or "", bracketed=bracketed, url=url)
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _requote(_normalise_path(parts.path), _SAFE_PATH)
    pairs = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS
    ]
    query = urlencode(sorted(pairs), quote_via=quote, safe=_SAFE_QUERY)
    return urlunsplit((scheme, netloc, path, query, ""))


_HEX = frozenset("0123456789abcdefABCDEF")
_OCT = frozenset("01234567")
_BAD_HOST_CHARS = re.compile(r"[\s/\\@%:\[\]<>^|#?\0]")


def _ipv4_part(part: str) -> int | None:
    """One part of a WHATWG IPv4 host (decimal, ``0x`` hex, ``0`` octal), None when not one."""
    if part[:2] in ("0x", "0X"):
        digits, base, allowed = part[2:], 16, _HEX
    elif len(part) > 1 and part[0] == "0":
        digits, base, allowed = part[1:], 8, _OCT
    else:
        digits, base, allowed = part, 10, frozenset("0123456789")
    if not digits:
        return 0 if base == 16 else None
    if not set(digits) <= allowed:
        return None
    return int(digits, base)


def _ipv4_host(host: str, url: str) -> str:
    """``host`` when it is a domain; its dotted quad when it ends in a number (WHATWG)."""
    parts = host.split(".")
    last = parts[-1]
    if not (last and (last.isascii() and last.isdigit() or _ipv4_part(last) is not None)):
        return host  # a domain name
    numbers = [_ipv4_part(p) if p else None for p in parts]
    if len(parts) > 4 or any(n is None for n in numbers):
        raise BadUrl(f"host {host!r} ends in a number but is not an IPv4 address: {url!r}")
    *head, tail = numbers
    if any(n > 255 for n in head) or tail >= 256 ** (5 - len(numbers)):  # type: ignore[operator]
        raise BadUrl(f"IPv4 host {host!r} out of range: {url!r}")
    value = tail + sum(n * 256 ** (3 - i) for i, n in enumerate(head))  # type: ignore[operator]
    return str(ipaddress.IPv4Address(value))


def canonical_host(host: str, *, bracketed: bool | None = None, url: str = "") -> str:
    """The one spelling of a host name or IP literal (see the module docstring).

    ``bracketed`` says whether the URL wrote the host in ``[...]`` (None: judge from ``host``).
    Raises :class:`BadUrl`."""
    url = url or host
    raw = host.strip()
    if bracketed is None:
        bracketed = raw.startswith("[")
    raw = raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw
    if bracketed or ":" in raw:
        try:
            addr = ipaddress.IPv6Address(raw)
        except ValueError as exc:
            raise BadUrl(f"invalid IPv6 host in {url!r}: {exc}") from exc
        if addr.scope_id:
            raise BadUrl(f"IPv6 zone identifiers are not fetchable: {url!r}")
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return f"[{addr.compressed}]"
    name = raw.rstrip(".")
    if not name:
        raise BadUrl(f"URL has no host: {url!r}")
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise BadUrl(f"invalid host name in {url!r}: {exc}") from exc
        name = name.rstrip(".")
    name = name.lower()
    if not name or "" in name.split(".") or _BAD_HOST_CHARS.search(name):
        raise BadUrl(f"invalid host name in {url!r}")
    return _ipv4_host(name, url)


def host_of(url: str) -> str:
    """``host[:port]`` of a URL, canonical host first: the unit of politeness."""
    try:
        return urlsplit(canonicalize_url(url)).netloc
    except BadUrl:
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
