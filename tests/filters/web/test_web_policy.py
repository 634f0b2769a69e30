"""Address policy, opt-outs, robots.txt (RFC 9309 status handling, AI tokens), sniffing."""

import gzip
import io
import ipaddress
import wave

import pytest

from filters.web.compression import CorruptEncoding, TooLarge, gunzip_capped
from filters.web.policy import (
    AddressBlocked,
    OptOut,
    address_allowed,
    parse_networks,
    resolve_checked,
)
from filters.web.robots import RobotsPolicy, robots_url
from filters.web.sniff import is_audio, sniff_media_type
from filters.web.throttle import HostThrottle

LOOPBACK = parse_networks(["127.0.0.0/8"])


@pytest.mark.parametrize("addr", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.5",
                                  "169.254.169.254", "::1", "fe80::1", "0.0.0.0", "100.64.0.1",
                                  "::ffff:127.0.0.1", "fd00:ec2::254", "224.0.0.1"])
def test_non_public_addresses_are_refused(addr):
    assert not address_allowed(ipaddress.ip_address(addr))


def test_allow_networks_opens_only_the_listed_network():
    assert address_allowed(ipaddress.ip_address("127.0.0.1"), LOOPBACK)
    assert address_allowed(ipaddress.ip_address("::ffff:127.0.0.2"), LOOPBACK)
    assert not address_allowed(ipaddress.ip_address("169.254.169.254"), LOOPBACK)
    assert not address_allowed(ipaddress.ip_address("10.0.0.1"), LOOPBACK)
    # metadata stays refused inside a broad allowed network, unless listed exactly
    assert not address_allowed(ipaddress.ip_address("169.254.169.254"),
                               parse_networks(["169.254.0.0/16"]))
    assert address_allowed(ipaddress.ip_address("169.254.169.254"),
                           parse_networks(["169.254.169.254/32"]))
    assert address_allowed(ipaddress.ip_address("8.8.8.8"))


def test_resolve_checked_refuses_literals_and_localhost():
    with pytest.raises(AddressBlocked):
        resolve_checked("169.254.169.254", 80, LOOPBACK)
    with pytest.raises(AddressBlocked):
        resolve_checked("localhost", 80)
    assert str(resolve_checked("127.0.0.1", 80, LOOPBACK)[0]) == "127.0.0.1"
    with pytest.raises(ValueError):
        parse_networks(["not-a-network"])


def test_opt_out_domains_and_prefixes():
    opt = OptOut(("private.example", "https://pod.example/members/"))
    assert opt.blocks("http://cdn.private.example/a.mp3")
    assert opt.blocks("https://pod.example/members/ep1.mp3")
    assert not opt.blocks("https://pod.example/public/ep1.mp3")
    assert not opt.blocks("http://notprivate.example/")


ROBOTS = """User-agent: *
Disallow: /private/
Allow: /private/open/
Crawl-delay: 1.5

User-agent: GPTBot
Disallow: /ai-free/
Sitemap: http://h.example/sitemap.xml
"""


def test_robots_rules_longest_match_crawl_delay_and_ai_tokens():
    r = RobotsPolicy.from_response(200, ROBOTS.encode())
    assert not r.allows("http://h.example/private/x.mp3", "speechcurate")
    assert r.allows("http://h.example/private/open/x.mp3", "speechcurate")  # longest match wins
    assert r.allows("http://h.example/ai-free/x.mp3", "speechcurate")
    assert not r.allows("http://h.example/ai-free/x.mp3", "speechcurate", ("GPTBot", "CCBot"))
    # CCBot is not named by the site, so the '*' group does not count as an AI opt-out
    assert r.allows("http://h.example/public.mp3", "speechcurate", ("CCBot",))
    assert r.crawl_delay("speechcurate") == 1.5
    assert r.sitemaps() == ["http://h.example/sitemap.xml"]
    assert robots_url("http://h.example:81/a/b?c") == "http://h.example:81/robots.txt"


@pytest.mark.parametrize(("status", "allowed"), [(404, True), (403, True), (410, True),
                                                 (500, False), (503, False), (None, False),
                                                 (429, False)])
def test_robots_status_handling_per_rfc_9309(status, allowed):
    r = RobotsPolicy.from_response(status, b"User-agent: *\nDisallow: /")
    assert r.allows("http://h.example/a.mp3", "speechcurate") is allowed


def _wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 800)
    return buf.getvalue()


def test_sniffing_trusts_bytes_not_names():
    assert sniff_media_type(_wav()) == "audio/wav"
    assert sniff_media_type(b"ID3\x04\x00" + b"\0" * 20) == "audio/mpeg"
    assert sniff_media_type(b"\xff\xfb\x90\x64" + b"\0" * 20) == "audio/mpeg"
    assert sniff_media_type(b"OggS\0\x02" + b"\0" * 30) == "audio/ogg"
    assert sniff_media_type(b"fLaC\0\0\0\x22") == "audio/flac"
    assert sniff_media_type(b"\0\0\0\x20ftypM4A \0\0\0\0") == "audio/mp4"
    assert sniff_media_type(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm") == "video/webm"
    html = b"\n  <!DOCTYPE html><html><body>404 Not Found</body></html>"
    assert sniff_media_type(html) == "text/html" and not is_audio(sniff_media_type(html))
    assert not is_audio(sniff_media_type(b"just some text"))


def test_capped_gunzip_stops_bombs():
    bomb = gzip.compress(b"\0" * (30 * 1024 * 1024))
    with pytest.raises(TooLarge):
        gunzip_capped(bomb, 1024 * 1024)
    assert gunzip_capped(gzip.compress(b"abc"), 10) == b"abc"
    with pytest.raises(CorruptEncoding):
        gunzip_capped(gzip.compress(b"abc" * 100)[:20], 10_000)


def test_throttle_spaces_request_starts():
    import time

    t = HostThrottle(0.05)
    starts = []
    for _ in range(4):
        t.wait()
        starts.append(time.monotonic())
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 0.045  # lower bound is the contract, not a speed claim
