"""Which addresses and URLs the crawler may contact at all (SSRF defence and opt-outs).

Every hop of every fetch is resolved and checked here *before* connecting, and the connection
is then made to the checked address itself (no second DNS lookup), so neither a redirect nor a
DNS answer can steer the crawler to a private, loopback, link-local or cloud-metadata address
unless the source explicitly lists that network in ``allow_networks``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

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


def address_allowed(addr: IPAddress, allow_networks: tuple[IPNetwork, ...] = ()) -> bool:
    """Whether the crawler may connect to ``addr``: public, or inside an allowed network."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    in_allowed = [n for n in allow_networks if addr.version == n.version and addr in n]
    if addr in METADATA_ADDRESSES:
        return any(n.num_addresses == 1 for n in in_allowed)
    if is_public(addr):
        return True
    return bool(in_allowed)


def resolve_checked(
    host: str, port: int, allow_networks: tuple[IPNetwork, ...] = ()
) -> list[IPAddress]:
    """Resolve ``host`` and return its allowed addresses; raise if any address is refused.

    Refusing the whole name when *any* answer is private stops a mixed public/private answer
    from being used to reach an internal service.
    """
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
        addrs = [literal]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError, OSError) as exc:
            raise ResolveFailed(f"cannot resolve {host!r}: {exc}") from exc
        addrs = []
        for info in infos:
            a = ipaddress.ip_address(info[4][0].split("%", 1)[0])
            if a not in addrs:
                addrs.append(a)
    if not addrs:
        raise ResolveFailed(f"{host!r} has no addresses")
    refused = [a for a in addrs if not address_allowed(a, allow_networks)]
    if refused:
        raise AddressBlocked(f"{host} resolves to refused address {refused[0]}")
    return addrs


@dataclass(frozen=True)
class OptOut:
    """Domains and URL prefixes whose owners asked not to be crawled; checked before any fetch.

    An entry with ``://`` is a URL prefix (``https://example.com/private/``); any other entry is
    a domain that also covers its subdomains (``example.com``).
    """

    entries: tuple[str, ...] = ()

    def blocks(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        for entry in self.entries:
            e = entry.strip()
            if not e:
                continue
            if "://" in e:
                if url.startswith(e) or url.lower().startswith(e.lower()):
                    return True
            else:
                d = e.lower().strip(".")
                if host == d or host.endswith("." + d):
                    return True
        return False
