"""Our feed parser (filters/web/feeds.py) over feedparser's own test corpus.

The corpus ships only in feedparser's sdist. ``make test-data`` (part of ``make test``) downloads
the pinned sdist once into ``.cache/test-data/`` and checks its sha256; the feeds are read straight
out of that tarball, never extracted or copied into the repo. Without it these tests skip.

Each corpus file opens with a comment whose ``Expect:`` line is the feed authors' assertion over
feedparser's result. Expected values are taken from that line with a regex; where the line is
about something we do not output (podlove chapters, threading), the value is taken from the
feed's own markup and checked to be literally there. Nothing expected comes from running our code.
"""

from __future__ import annotations

import functools
import os
import re
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from filters.web.feeds import FeedError, FeedPage, is_media, parse_feed

ROOT = Path(__file__).resolve().parents[3]
SDIST = Path(os.environ.get("FEEDPARSER_SDIST")
             or ROOT / ".cache" / "test-data" / "feedparser-6.0.14.tar.gz")
PREFIX = "feedparser-6.0.14/tests/"
FEED_URL = "http://feeds.example.org/feed.xml"  # where the feed was "fetched" from
HANG_GUARD_S = 30

pytestmark = pytest.mark.skipif(
    not SDIST.is_file(),
    reason=f"feedparser's test corpus is not at {SDIST}: run `make test-data` (make test does)")


@functools.cache
def corpus() -> dict[str, bytes]:
    """Every ``tests/**/*.xml`` of the sdist, by its path under ``tests/``."""
    out = {}
    with tarfile.open(SDIST, "r:gz") as tf:
        for member in tf:
            if member.isfile() and member.name.startswith(PREFIX) and member.name.endswith(".xml"):
                fh = tf.extractfile(member)
                assert fh is not None
                out[member.name[len(PREFIX):]] = fh.read()
    return out


def doc(name: str) -> bytes:
    assert name in corpus(), f"{name} is not in {SDIST.name}"
    return corpus()[name]


def expect_line(name: str) -> str:
    m = re.search(rb"^\s*Expect:\s*(.+?)\s*$", doc(name), re.M)
    assert m, f"{name} has no Expect line"
    return m.group(1).decode()


def expected(name: str, pattern: str) -> str:
    """The value the Expect line gives for ``pattern`` (a regex with one group)."""
    line = expect_line(name)
    m = re.search(pattern, line)
    assert m, f"{name}: the Expect line no longer says {pattern!r}: {line}"
    return m.group(1)


def in_markup(name: str, *literals: str) -> None:
    """A value taken from the feed's markup (its Expect line is about something else)."""
    for lit in literals:
        assert lit.encode() in doc(name), f"{name} no longer contains {lit!r}"


def parse(name: str) -> FeedPage:
    return parse_feed(doc(name), FEED_URL)


def test_corpus_is_there():
    names = corpus()
    assert len(names) > 2000  # 6.0.14: 2250 feeds under tests/
    assert any(n.startswith("wellformed/rss/") for n in names)
    assert any(n.startswith("illformed/") for n in names)


# ---------------------------------------------------------------- enclosures


ATOM_ENCLOSURE = "wellformed/atom10/entry_link_rel_enclosure_map_enclosure_url.xml"


def test_atom_enclosure_link_is_a_media_item():
    href = expected(ATOM_ENCLOSURE, r"\['enclosures'\]\[0\]\['href'\] == '([^']+)'")
    page = parse(ATOM_ENCLOSURE)
    assert [i.media_url for i in page.items] == [href]
    assert page.items[0].page_url == FEED_URL


@pytest.mark.parametrize("name,pattern", [
    # Expect: ... entries[0]['enclosures'][0]['type'] == 'video/mpeg4'
    ("wellformed/atom10/entry_link_rel_enclosure_map_enclosure_type.xml",
     r"\['enclosures'\]\[0\]\['type'\] == '([^']+)'"),
    # Expect: ... entries[0]['enclosures'][0]['length'] == '42301'
    ("wellformed/atom10/entry_link_rel_enclosure_map_enclosure_length.xml",
     r"\['enclosures'\]\[0\]\['length'\] == '([^']+)'"),
    # Expect: ... entries[0]['links'][0]['length'] == '42301'
    ("wellformed/atom10/entry_link_length.xml", r"\['links'\]\[0\]\['length'\] == '([^']+)'"),
])
def test_video_enclosure_variants_are_one_media_item(name, pattern):
    value = expected(name, pattern)
    if "type" in pattern:
        assert value.startswith("video/") and is_media("", value)
    # The three documents carry the same link as ATOM_ENCLOSURE, whose Expect line names it.
    href = expected(ATOM_ENCLOSURE, r"\['href'\] == '([^']+)'")
    in_markup(name, f'href="{href}"')
    # The declared length is informational: the fetcher's byte cap judges the real size.
    assert [i.media_url for i in parse(name).items] == [href]


@pytest.mark.parametrize("name,types", [
    # Expect: ... entries[0]['enclosures'][0]['type'] == 'image/jpeg'
    ("wellformed/rss/item_enclosure_type.xml", None),
    # Expect: ... entries[0]['enclosures'][1] == {'href': 'http://example.com/2', 'length':
    #         '200000', 'type': 'image/gif'}  (enclosure [0] is image/jpeg in the markup)
    ("wellformed/rss/item_enclosure_multiple.xml", None),
    # Expect: ... entries[0]['enclosures'][0]['url'] == 'http://example.com/' and ...
    #         -- its type is in the markup
    ("wellformed/rss/item_enclosure_url.xml", ["image/jpeg"]),
    # Expect: ... entries[0]['enclosures'][0]['length'] == '100000'  -- type in the markup
    ("wellformed/rss/item_enclosure_length.xml", ["image/jpeg"]),
    # Expect: not bozo and entries[0]['links'][0]['rel'] == 'enclosure'  -- type in the markup
    ("wellformed/atom10/entry_link_rel_enclosure.xml", ["text/html"]),
])
def test_non_media_enclosures_are_not_items(name, types):
    """Images and pages declared as enclosures are skipped at discovery, never fetched.

    (An enclosure *declared* audio whose bytes are not media is fetched, sniffed and rejected as
    ``not_audio``: tests/pipelines/crawl/test_crawl_pipeline.py.)"""
    if types is None:
        types = re.findall(r"'type'\] == '([^']+)'|'type': '([^']+)'", expect_line(name))
        types = [a or b for a, b in types]
    else:
        in_markup(name, *(f'type="{t}"' for t in types))
    assert types and all(not is_media("", t) for t in types)
    page = parse(name)
    assert page.items == ()


PODLOVE = "http://podlove.org/files/fiatlux.mp3"


@pytest.mark.parametrize("name", [
    # Expect lines are about psc_chapters (not ours); the enclosure comes from the markup:
    #   <link rel="enclosure" type="audio/mpeg" length="12345"
    #    href="http://podlove.org/files/fiatlux.mp3"/>   inside <item>/<entry> "Fiat Lux"
    "wellformed/psc/rss2.0simplechapter.xml",  # Atom-style link inside an RSS 2.0 <item>
    "wellformed/psc/atomsimplechapter.xml",
    "wellformed/psc/ignore_multiple_psc_chapters.xml",
    "wellformed/psc/atomsimplechapterexternal.xml",
])
def test_podlove_episode_enclosure(name):
    in_markup(name, 'type="audio/mpeg"', f'href="{PODLOVE}"', "<title>Fiat Lux</title>",
              "<title>Podlove Podcast</title>")
    page = parse(name)
    assert page.title == "Podlove Podcast"
    assert [(i.media_url, i.title) for i in page.items] == [(PODLOVE, "Fiat Lux")]


def test_chapters_link_is_not_media():
    # Expect: not bozo and entries[0]['links'][2]['href'] == 'http://podlove.org/examples/chapters.psc'
    name = "wellformed/psc/atomsimplechapterexternal.xml"
    chapters = expected(name, r"\['links'\]\[2\]\['href'\] == '([^']+)'")
    assert chapters not in {i.media_url for i in parse(name).items}


# ---------------------------------------------------------------- channel metadata


@pytest.mark.parametrize("name", [
    "wellformed/lang/channel_language.xml",  # <language>en-us</language>
    "wellformed/lang/channel_dc_language.xml",  # <dc:language>
    "wellformed/lang/feed_language.xml",  # RSS without a version
    "wellformed/lang/feed_not_xml_lang.xml",
    "wellformed/lang/feed_xml_lang.xml",  # Atom 0.3 xml:lang
    "wellformed/lang/feed_xml_lang_underscore.xml",  # xml:lang="en_US"
])
def test_channel_language_is_its_primary_subtag(name):
    tag = expected(name, r"feed\['language'\] == '([^']+)'")
    assert parse(name).language == tag.replace("_", "-").split("-")[0].lower()


def test_no_language_when_the_feed_declares_none():
    name = "wellformed/lang/feed_not_xml_lang_2.xml"
    assert "not feed.has_key('language')" in expect_line(name)
    assert parse(name).language == ""


@pytest.mark.parametrize("name", [
    "wellformed/rss/channel_copyright.xml",  # <copyright>
    "wellformed/rss/channel_dc_rights.xml",  # <dc:rights>
    "wellformed/atom10/feed_rights.xml",  # Atom <rights>
    "wellformed/atom10/feed_rights_text_plain.xml",
])
def test_channel_rights_become_the_licence(name):
    rights = expected(name, r"feed\['(?:copyright|rights)'\] == '([^']+)'")
    assert parse(name).licence == rights


@pytest.mark.parametrize("name", [
    "wellformed/itunes/itunes_core_element_uppercase.xml",  # <TiTlE> in an iTunes feed
    "illformed/always_strip_doctype.xml",  # an XHTML DOCTYPE before <rss>
])
def test_channel_title(name):
    assert parse(name).title == expected(name, r"feed\['title'\] == '([^']+)'")


def test_atom_next_link_pages_the_feed():
    # Expect line is about thr:in-reply-to; the paging link is in the markup:
    #   <link rel='next' type='application/atom+xml' href='http://www.blogger.com/feeds/
    #    893591374313312737/3861663258538857954/comments/default
    #    ?start-index=26&amp;max-results=25'/>
    name = "wellformed/namespace/atomthreadingwithentry.xml"
    path = "/feeds/893591374313312737/3861663258538857954/comments/default"
    in_markup(name, "<link rel='next'", f"href='http://www.blogger.com{path}?start-index=26"
              "&amp;max-results=25'")
    nxt = urlsplit(parse(name).next_page)
    assert (nxt.scheme, nxt.netloc, nxt.path) == ("http", "www.blogger.com", path)
    assert sorted(parse_qsl(nxt.query)) == [("max-results", "25"), ("start-index", "26")]


# ---------------------------------------------------------------- robustness


def _outcome(data: bytes) -> FeedPage | FeedError:
    try:
        return parse_feed(data, FEED_URL)
    except FeedError as exc:
        return exc


def _bounded(data: bytes) -> FeedPage | FeedError:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_outcome, data).result(timeout=HANG_GUARD_S)


ILLFORMED = ["illformed/aaa_illformed.xml", "illformed/always_strip_doctype.xml",
             "illformed/http_high_bit_date.xml", "illformed/rdf_channel_empty_textinput.xml",
             "illformed/rss_empty_document.xml", "illformed/rss_incomplete_cdata.xml",
             "illformed/rss_item_link_corrupted_ampersands.xml",
             "illformed/undeclared_namespace.xml", "illformed/chardet/big5.xml",
             "illformed/chardet/tis620.xml", "illformed/chardet/windows1255.xml",
             "illformed/geo/gml_point.xml"]


@pytest.mark.parametrize("name", ILLFORMED)
def test_illformed_feeds_give_a_page_or_a_feed_error(name):
    out = _bounded(doc(name))  # rss_incomplete_cdata once sent feedparser into an endless loop
    if isinstance(out, FeedError):
        assert str(out)  # becomes a malformed_document reject with this detail
    else:
        assert all(is_media(i.media_url) for i in out.items)


@pytest.mark.parametrize("name", ["illformed/rss_empty_document.xml",
                                  "illformed/aaa_illformed.xml"])
def test_documents_without_a_feed_are_feed_errors(name):
    assert expect_line(name) == "bozo"
    assert isinstance(_bounded(doc(name)), FeedError)


def test_illformed_feed_keeps_what_it_can_read():
    # Expect: bozo -- the channel before the broken CDATA is markup:
    #   <title>can feedparser read this xml</title> ... <language>en-us</language>
    name = "illformed/rss_incomplete_cdata.xml"
    in_markup(name, "<title>can feedparser read this xml</title>", "<language>en-us</language>")
    page = _bounded(doc(name))
    assert isinstance(page, FeedPage)
    assert (page.title, page.language, page.items) == ("can feedparser read this xml", "en", ())


def test_every_corpus_file_gives_a_page_or_a_feed_error():
    """All ~2250 files (sanitizer attacks, odd encodings, HTTP cases, broken XML): no other
    exception, and every item that comes out is a canonical http(s) media URL."""
    problems, pages, errors = [], 0, 0
    for name, data in sorted(corpus().items()):
        try:
            page = parse_feed(data, FEED_URL)
        except FeedError:
            errors += 1
            continue
        except Exception as exc:  # noqa: BLE001 - collect every crash, then fail once
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        pages += 1
        for item in page.items:
            if not item.media_url.startswith(("http://", "https://")) or item.page_url != FEED_URL:
                problems.append(f"{name}: odd item {item}")
            if len(item.transcript_urls) != len(item.transcript_formats):
                problems.append(f"{name}: transcripts and formats differ in length")
    assert not problems, "\n".join(problems[:20])
    assert pages > 1900 and errors > 0


# ---------------------------------------------------------------- HTTP headers


def header_line(name: str, header: str) -> str:
    """The value of a ``Header:`` line in the feed's test comment (how the test serves it)."""
    m = re.search(rb"^\s*Header:\s*" + re.escape(header.encode()) + rb":\s*(.+?)\s*$",
                  doc(name), re.M | re.I)
    assert m, f"{name} no longer serves {header}"
    return m.group(1).decode()


@pytest.mark.parametrize("name", [
    "wellformed/lang/http_content_language.xml",  # no language in the feed: the header's
    "wellformed/lang/http_content_language_feed_language.xml",  # <language> overrides it
    "wellformed/lang/http_content_language_feed_xml_lang.xml",  # xml:lang overrides it
])
def test_content_language_header_is_the_fallback_language(name):
    served = header_line(name, "Content-Language")
    tag = expected(name, r"feed\['language'\] == '([^']+)'")
    assert parse_feed(doc(name), FEED_URL, content_language=served).language == tag

