"""Fail-closed behaviour of the pure web helpers (issue 16), without a server: one spelling per
host before opt-outs, robots.txt and politeness; robots.txt read in part is still obeyed; HTML
that libxml2 cannot read to the end is refused, not cut short; transcript labels are plain text;
a huge feed is not handed whole to feedparser; javascript:/data:/file: links are reported."""

import ipaddress

import pytest

from filters.transcripts import TranscriptError
from filters.web.feeds import parse_feed
from filters.web.fetcher import DEFAULT_USER_AGENT, decoded_cap
from filters.web.pages import PageError, parse_page
from filters.web.policy import (
    AddressBlocked,
    OptOut,
    address_allowed,
    parse_networks,
    parse_ports,
    resolve_checked,
)
from filters.web.robots import MAX_ROBOTS_BYTES, RobotsPolicy, robots_url
from filters.web.transcript_formats import (
    parse_html_transcript,
    plain_label,
    read_web_transcript,
)
from filters.web.urls import BadUrl, canonical_host, canonicalize_url, host_of
from pipelines.crawl.config import CrawlConfig

# ---------------------------------------------------------------- hosts

LOOPBACK_SPELLINGS = ["127.0.0.1", "0x7f000001", "0X7F000001", "2130706433", "127.1", "127.0.1",
                      "0177.0.0.1", "0x7f.0.0.1", "0x7f.1", "017700000001", "127.0.0.1.",
                      "[::ffff:127.0.0.1]", "[::FFFF:7f00:1]", "[0:0:0:0:0:ffff:7f00:0001]"]


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
def test_every_ipv4_spelling_is_one_host(spelling):
    assert canonicalize_url(f"http://{spelling}:8081/optout/b.wav") == \
        "http://127.0.0.1:8081/optout/b.wav"
    assert host_of(f"http://{spelling}:8081/x") == "127.0.0.1:8081"
    assert robots_url(f"http://{spelling}:8081/x") == "http://127.0.0.1:8081/robots.txt"


@pytest.mark.parametrize(("raw", "host"), [
    ("[0:0:0:0:0:0:0:1]", "[::1]"), ("[::1]", "[::1]"), ("[2001:DB8::0:1]", "[2001:db8::1]"),
    ("Example.COM.", "example.com"), ("example.com..", "example.com"),
    ("BÜCHER.de", "xn--bcher-kva.de"), ("xn--bcher-kva.de", "xn--bcher-kva.de"),
    ("１２７.０.０.１", "127.0.0.1"),  # full-width digits: NFKC (IDNA) first, then IPv4
    ("0", "0.0.0.0"), ("1.2.3", "1.2.0.3"), ("1.2.3.0x", "1.2.3.0"),
    ("example.com1", "example.com1"),
])
def test_host_forms(raw, host):
    assert canonical_host(raw) == host


@pytest.mark.parametrize("bad", ["256.1.1.1", "1.2.3.4.5", "0x100000000", "09.1.1.1",
                                 "example.123", "a..b", "[v1.fe]", "[fe80::1%25eth0]",
                                 "[::1", "1.2.3.08"])
def test_hosts_that_end_in_a_number_but_are_not_ipv4_are_refused(bad):
    with pytest.raises(BadUrl):
        canonicalize_url(f"http://{bad}/x")


def test_default_ports_and_userinfo_do_not_make_another_host():
    for raw in ("http://h.example:80/a", "http://user:pw@H.example/a", "http://h.example:0080/a"):
        assert canonicalize_url(raw) == "http://h.example/a"
    assert canonicalize_url("https://h.example:443/a") == "https://h.example/a"
    assert host_of("http://h.example:8080/a") == "h.example:8080"


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
def test_opt_out_prefix_and_domain_catch_every_spelling(spelling):
    prefix = OptOut(("http://127.0.0.1:18081/optout/",))
    assert prefix.blocks(f"http://{spelling}:18081/optout/b.wav")
    assert not prefix.blocks(f"http://{spelling}:18081/open/b.wav")
    assert OptOut(("127.0.0.1",)).blocks(f"http://{spelling}:18081/anything")
    # and the entry may itself be written in any spelling
    assert OptOut((f"http://{spelling}:18081/optout/",)).blocks(
        "http://127.0.0.1:18081/optout/b.wav")


def test_opt_out_entries_are_canonical_too():
    assert OptOut(("HTTP://Bücher.DE:80/Private/",)).blocks("http://xn--bcher-kva.de/private/x")
    assert OptOut(("bücher.de",)).blocks("https://www.xn--bcher-kva.de/x")
    assert OptOut(("example.com.",)).blocks("http://a.example.com./x")
    assert not OptOut(("example.com",)).blocks("http://example.com.evil.org/x")


def test_allow_ports_narrow_allow_networks():
    ip = ipaddress.ip_address("10.0.0.5")
    nets = parse_networks(["10.0.0.0/8"])
    assert address_allowed(ip, nets, 8080)  # no allow_ports: any port
    assert address_allowed(ip, nets, 8080, (8080,))
    assert not address_allowed(ip, nets, 22, (8080,))
    assert address_allowed(ipaddress.ip_address("93.184.216.34"), nets, 22, (8080,))  # public
    with pytest.raises(AddressBlocked, match="port 22"):
        resolve_checked("10.0.0.5", 22, nets, (8080,))
    assert resolve_checked("10.0.0.5", 8080, nets, (8080,))
    for bad in (0, 70000, "80", True):
        with pytest.raises(ValueError):
            parse_ports([bad])


def test_user_agent_and_robots_token_defaults_agree():
    crawl = CrawlConfig()
    assert crawl.user_agent == DEFAULT_USER_AGENT
    assert crawl.user_agent.startswith(crawl.robots_token + "/")


# ---------------------------------------------------------------- robots.txt


def test_robots_cut_at_500_kib_is_obeyed_and_its_cut_line_dropped():
    head = b"User-agent: *\nDisallow: /private/\n"
    pad = MAX_ROBOTS_BYTES - len(head) - len(b"Allow: /private/open")
    body = head + (b"#" * (pad - 1)) + b"\n"
    body += b"Allow: /private/open-but-not-this-one\n"  # cut at the 500 KiB mark
    body += b"Disallow: /later/\n" * 1000  # past it: not read
    policy = RobotsPolicy.from_response(200, body[:MAX_ROBOTS_BYTES], cut=True)
    assert policy.mode == "rules"
    assert not policy.allows("http://h/private/open-but-not-this-one", "speechcurate")
    assert not policy.allows("http://h/private/open", "speechcurate")  # "Allow: /private/open"
    assert policy.allows("http://h/later/x", "speechcurate")
    assert "Allow:" not in policy.text


@pytest.mark.parametrize("reason", ["timeout", "unsupported_encoding", "ssrf_blocked",
                                    "tls_error", "too_large", "truncated", "fetch_failed"])
def test_unreachable_robots_disallows_everything(reason):
    policy = RobotsPolicy.unreachable(reason, "detail")
    assert policy.mode == "disallow_all" and policy.cause == reason
    assert not policy.allows("http://h/a.wav", "speechcurate")


def test_only_a_real_4xx_allows_all():
    assert RobotsPolicy.from_response(404).allows("http://h/a", "x")
    for status in (None, 300, 304, 429, 500, 503):
        assert not RobotsPolicy.from_response(status).allows("http://h/a", "x")


# ---------------------------------------------------------------- HTML depth


def _nested(depth: int) -> bytes:
    return (b"<html><head><title>t</title></head><body>" + b"<font>" * depth
            + b'<p>late words</p><audio src="/late.mp3"><track src="/late.vtt" kind="captions">'
            + b"</audio></body></html>")


def test_300_unclosed_font_tags_do_not_hide_what_follows():
    links = parse_page(_nested(300), "http://h.example/p.html")
    assert [m.media_url for m in links.media] == ["http://h.example/late.mp3"]
    assert links.media[0].transcript_urls == ("http://h.example/late.vtt",)
    assert parse_html_transcript(_nested(300).decode()).text.endswith("late words")


def test_nesting_past_what_libxml2_reads_is_refused_not_truncated():
    with pytest.raises(PageError, match="not read to the end"):
        parse_page(_nested(3000), "http://h.example/p.html")
    with pytest.raises(TranscriptError) as exc:
        parse_html_transcript(_nested(3000).decode())
    assert exc.value.reason == "transcript_malformed"


# ---------------------------------------------------------------- transcript labels


@pytest.mark.parametrize(("fmt", "data"), [
    ("vtt", b"WEBVTT\n\n00:00.000 --> 00:01.000\n&lt;script&gt;alert(1)&lt;/script&gt;Hello "
            b"&lt;b&gt;there&lt;/b&gt;\n\n00:01.000 --> 00:02.000\n<i>plain</i> a &lt; b &amp; c"
            b"\n"),
    ("srt", b"1\n00:00:00,000 --> 00:00:01,000\n&lt;script&gt;alert(1)&lt;/script&gt;Hello "
            b"&lt;b&gt;there&lt;/b&gt;\n\n2\n00:00:01,000 --> 00:00:02,000\n<i>plain</i> a &lt; b "
            b"&amp; c\n"),
    ("json", b'{"segments": [{"startTime": 0, "endTime": 1, "body": "&lt;script&gt;alert(1)'
             b'&lt;/script&gt;Hello &lt;b&gt;there&lt;/b&gt;"}, {"startTime": 1, "endTime": 2, '
             b'"body": "<i>plain</i> a &lt; b &amp; c"}]}'),
])
def test_escaped_markup_never_reaches_a_label(fmt, data):
    t, held = read_web_transcript(data, fmt)
    assert [c.text for c in t.cues] == ["Hello there", "plain a < b & c"]
    assert t.text == "Hello there plain a < b & c"
    assert held == 1  # the first label held markup, the second only text


def test_plain_and_html_transcripts_are_plain_text():
    t, held = read_web_transcript(b"Hi &lt;img src=x onerror=alert(1)&gt; there", "txt")
    assert (t.text, held) == ("Hi there", 1)
    t, held = read_web_transcript(b"<p>Hi &amp;lt;b&amp;gt;you&amp;lt;/b&amp;gt;</p>", "html")
    assert (t.text, held) == ("Hi you", 1)
    assert plain_label("x < y and y > z") == ("x < y and y > z", False)
    with pytest.raises(TranscriptError):  # nothing but markup
        read_web_transcript(b"&lt;script&gt;x()&lt;/script&gt;", "txt")


# ---------------------------------------------------------------- feeds


def _feed(n: int, extra: str = "") -> bytes:
    items = "".join(
        f'<item><title>E{i}</title><description><![CDATA[<p>about </item> {i}</p>]]>'
        f'</description><enclosure url="/m/{i:05d}.mp3" type="audio/mpeg" length="1"/>'
        f'<podcast:transcript url="/t/{i:05d}.vtt" type="text/vtt"/></item>' for i in range(n))
    return ('<?xml version="1.0"?><rss version="2.0" '
            'xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><title>T</title>'
            f'<language>en</language>{items}{extra}</channel></rss>').encode()


def test_a_huge_feed_is_not_handed_whole_to_feedparser(monkeypatch):
    import feedparser

    seen = []
    real = feedparser.parse
    monkeypatch.setattr(feedparser, "parse", lambda data, **kw: seen.append(len(data))
                        or real(data, **kw))
    data = _feed(600, extra='<atom:link xmlns:atom="http://www.w3.org/2005/Atom" rel="next" '
                             'href="/feed-2.xml"/>')
    page = parse_feed(data, "http://h.example/feed.xml", max_items=5)
    assert seen and seen[0] < len(data) / 50  # five entries, and the channel around them
    assert page.entries == 600 and page.light_entries == 595
    urls = [it.media_url for it in page.items]
    assert urls == [f"http://h.example/m/{i:05d}.mp3" for i in range(600)]
    assert page.items[4].transcript_urls == ("http://h.example/t/00004.vtt",)
    assert page.items[4].title == "E4" and page.items[599].title == "E599"
    assert page.items[599].declared_language == "en"
    assert page.next_page == "http://h.example/feed-2.xml"  # the channel after the entries
    full = parse_feed(data, "http://h.example/feed.xml")
    assert [it.media_url for it in full.items] == urls and full.light_entries == 0
    assert full.items[:5] == page.items[:5]


def test_already_taken_items_do_not_count_toward_the_cut():
    data = _feed(50)
    known = {f"http://h.example/m/{i:05d}.mp3" for i in range(10)}
    page = parse_feed(data, "http://h.example/feed.xml", max_items=5, known=known)
    assert page.light_entries == 35  # 10 known + 5 new read by feedparser


def test_javascript_data_and_file_links_are_reported():
    items = (
        '<item><title>a</title><enclosure url="javascript:alert(1)" type="audio/mpeg"/></item>'
        '<item><title>b</title><enclosure url="data:audio/mpeg;base64,SUQz"/></item>'
        '<item><title>c</title><enclosure url="file:///etc/passwd.mp3" type="audio/mpeg"/></item>'
        '<item><title>d</title><enclosure url="/ok.mp3" type="audio/mpeg"/>'
        '<podcast:transcript url="javascript:alert(2)" type="text/vtt"/>'
        '<podcast:transcript url="data:text/vtt,WEBVTT" type="text/vtt"/>'
        '<podcast:transcript url="file:///t.srt" type="application/x-subrip"/>'
        '<podcast:transcript url="/ok.vtt" type="text/vtt"/></item>')
    data = ('<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/'
            f'namespace/1.0"><channel><title>T</title>{items}</channel></rss>').encode()
    page = parse_feed(data, "http://h.example/feed.xml")
    assert [(it.media_url, it.transcript_urls) for it in page.items] == [
        ("http://h.example/ok.mp3", ("http://h.example/ok.vtt",))]
    assert sorted((b.url, b.kind, b.media_url) for b in page.bad_links) == sorted([
        ("javascript:alert(1)", "media", ""), ("data:audio/mpeg;base64,SUQz", "media", ""),
        ("file:///etc/passwd.mp3", "media", ""),
        ("javascript:alert(2)", "transcript", "http://h.example/ok.mp3"),
        ("data:text/vtt,WEBVTT", "transcript", "http://h.example/ok.mp3"),
        ("file:///t.srt", "transcript", "http://h.example/ok.mp3")])
    html = (b'<html><body><audio src="javascript:play()"></audio>'
            b'<audio src="/a.mp3"><track kind="captions" src="javascript:x()"></audio>'
            b'<a href="data:audio/mpeg;base64,SUQz">dl</a><a href="file:///c/ep.srt">subs</a>'
            b'<a href="javascript:more()">more</a></body></html>')
    links = parse_page(html, "http://h.example/p.html")
    assert [m.media_url for m in links.media] == ["http://h.example/a.mp3"]
    assert sorted((b.url, b.kind, b.media_url) for b in links.bad_links) == sorted([
        ("javascript:play()", "media", ""), ("javascript:x()", "transcript",
                                             "http://h.example/a.mp3"),
        ("data:audio/mpeg;base64,SUQz", "media", ""), ("file:///c/ep.srt", "transcript", "")])


def test_documents_decompress_under_the_document_cap():
    assert decoded_cap(10 * 1024**2, 512 * 1024**2) == 40 * 1024**2
    assert decoded_cap(10 * 1024**2, 16 * 1024**2) == 16 * 1024**2
