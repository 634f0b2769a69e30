"""Which addresses and URLs the crawler may contact at all (SSRF defence and opt-outs).

Every hop of every fetch is resolved and checked here *before* connecting, and the connection
is then made to the checked address itself (no second DNS lookup), so neither a redirect nor a
DNS answer can steer the crawler to a private, loopback, link-local or cloud-metadata address
unless the source explicitly lists that network in ``allow_networks`` (and, when the source
sets ``allow_ports``, only on those ports: ``allow_networks`` alone has no port dimension).

Opt-out entries and the URLs checked against them are canonicalised first
(:func:`filters.web.urls.canonical_host`), so ``http://0x7f000001/``, ``http://2130706433/`` and
``http://127.1/`` are all caught by an opt-out of ``http://127.0.0.1/``.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from filters.web.urls import BadUrl, canonical_host, canonicalize_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud metadata endpoints: refused even when they happen to fall in an allowed network,
# unless that network is exactly listed (a /32 or /128 that contains them).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254")
)


class AddressBlocked(Exception):
    """The host resolves to an address the policy refuses (reason ssrf_blocked)."""


class ResolveFailed(Exception):
    """The host name does not resolve (reason dns_failed)."""


class ResolveTimeout(ResolveFailed):
    """The resolver gave no answer within the fetch's remaining time (reason timeout)."""


def parse_networks(specs: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse CIDR strings such as ``127.0.0.0/8``; raises ValueError naming the bad one."""
    out = []
    for spec in specs:
        try:
            out.append(ipaddress.ip_network(spec.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not a network: {spec!r} ({exc})") from exc
    return tuple(out)


def is_public(addr: IPAddress) -> bool:
    """True for globally routable unicast addresses."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return is_public(addr.ipv4_mapped)
    return addr.is_global and not (addr.is_multicast or addr.is_reserved or addr.is_unspecified)


def address_allowed(addr: IPAddress, allow_networks: tuple[IPNetwork, ...] = (),
                    port: int | None = None, allow_ports: tuple[int, ...] = ()) -> bool:
    """Whether the crawler may connect to ``addr``: public, or inside an allowed network (on an
    allowed port, when ``allow_ports`` is set)."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    in_allowed = [n for n in allow_networks if addr.version == n.version and addr in n]
    if in_allowed and allow_ports and port not in allow_ports and not is_public(addr):
        in_allowed = []  # the network is allowed, this port of it is not
    if addr in METADATA_ADDRESSES:
        return any(n.num_addresses == 1 for n in in_allowed)
    if is_public(addr):
        return True
    return bool(in_allowed)


def _getaddrinfo(host: str, port: int, timeout: float | None) -> list:  # noqa: ANN401
    """``socket.getaddrinfo`` that gives up after ``timeout`` seconds (the system resolver has no
    timeout of its own that a caller can set; a stuck lookup is left to finish in its thread)."""
    if timeout is None:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    box: dict[str, object] = {}

    def lookup() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    worker = threading.Thread(target=lookup, daemon=True, name=f"resolve {host}")
    worker.start()
    worker.join(max(0.0, timeout))
    if worker.is_alive():
        raise ResolveTimeout(f"no DNS answer for {host!r} within {timeout:.1f}s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["infos"]  # type: ignore[return-value]


def resolve_checked(
    host: str, port: int, allow_networks: tuple[IPNetwork, ...] = (),
    allow_ports: tuple[int, ...] = (), timeout: float | None = None,
) -> list[IPAddress]:
    """Resolve ``host`` and return its allowed addresses; raise if any address is refused.

    Refusing the whole name when *any* answer is private stops a mixed public/private answer
    from being used to reach an internal service. ``timeout`` bounds the DNS lookup
    (:class:`ResolveTimeout`).
    """
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
        addrs = [literal]
    except ValueError:
        try:
            infos = _getaddrinfo(host, port, timeout)
        except ResolveFailed:
            raise
        except (socket.gaierror, UnicodeError, OSError) as exc:
            raise ResolveFailed(f"cannot resolve {host!r}: {exc}") from exc
        addrs = []
        for info in infos:
            a = ipaddress.ip_address(info[4][0].split("%", 1)[0])
            if a not in addrs:
                addrs.append(a)
    if not addrs:
        raise ResolveFailed(f"{host!r} has no addresses")
    refused = [a for a in addrs if not address_allowed(a, allow_networks, port, allow_ports)]
    if refused:
        ports = f" (allow_ports {list(allow_ports)})" if allow_ports else ""
        raise AddressBlocked(f"{host} resolves to refused address {refused[0]} port {port}{ports}")
    return addrs


def parse_ports(ports: Iterable[int]) -> tuple[int, ...]:
    """Validate TCP port numbers (1-65535); raises ValueError naming the bad one."""
    out = []
    for port in ports:
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ValueError(f"not a TCP port: {port!r}")
        out.append(port)
    return tuple(out)


def _canonical_prefix(entry: str) -> str:
    try:
        return canonicalize_url(entry)
    except BadUrl:
        return entry  # matched as written (still lower-cased below)


def _canonical_domain(entry: str) -> str:
    try:
        return canonical_host(entry.strip().strip(".")).strip("[]")
    except BadUrl:
        return entry.strip().strip(".").lower()


@dataclass(frozen=True)
class OptOut:
    """Domains and URL prefixes whose owners asked not to be crawled; checked before any fetch.

    An entry with ``://`` is a URL prefix (``https://example.com/private/``: that scheme, host
    and port); any other entry is a domain that also covers its subdomains, every scheme and every
    port (``example.com``, ``127.0.0.1``). Entries and URLs are compared in canonical form
    (host spellings, default ports, dot segments), case-insensitively.
    """

    entries: tuple[str, ...] = ()
    _prefixes: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())
    _domains: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        entries = [e.strip() for e in self.entries if e and e.strip()]
        prefixes = tuple(_canonical_prefix(e).lower() for e in entries if "://" in e)
        domains = tuple(_canonical_domain(e) for e in entries if "://" not in e)
        object.__setattr__(self, "_prefixes", prefixes)
        object.__setattr__(self, "_domains", domains)

    def blocks(self, url: str) -> bool:
        try:
            canon = canonicalize_url(url)
        except BadUrl:
            canon = url.strip()
        try:
            host = (urlsplit(canon).hostname or "").lower()
        except ValueError:
            host = ""
        low = canon.lower()
        if any(low.startswith(p) for p in self._prefixes):
            return True
        return any(host == d or host.endswith("." + d) for d in self._domains if d)
