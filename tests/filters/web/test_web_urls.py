"""URL canonicalisation: examples plus hypothesis properties (idempotence, equivalences)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from filters.web.urls import BadUrl, canonicalize_url, host_of, same_site, url_extension


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP://Example.COM:80/a/./b/../c.mp3#frag", "http://example.com/a/c.mp3"),
        ("https://ex.com:443", "https://ex.com/"),
        ("http://ex.com/x?b=2&a=1&utm_source=news", "http://ex.com/x?a=1&b=2"),
        ("http://ex.com/%7euser/a%2fb", "http://ex.com/~user/a%2Fb"),
        ("http://ex.com/a b", "http://ex.com/a%20b"),
        ("http://bücher.de/x", "http://xn--bcher-kva.de/x"),
        ("http://127.0.0.1:8080/p/", "http://127.0.0.1:8080/p/"),
    ],
)
def test_canonical_examples(raw, expected):
    assert canonicalize_url(raw) == expected


def test_relative_urls_resolve_against_base():
    assert canonicalize_url("../ep/1.mp3", "http://h.org/feeds/x/") == "http://h.org/feeds/ep/1.mp3"
    assert canonicalize_url("//cdn.h.org/a.mp3", "https://h.org/") == "https://cdn.h.org/a.mp3"


@pytest.mark.parametrize("bad", ["ftp://h/x", "file:///etc/passwd", "javascript:alert(1)",
                                 "http://", "mailto:a@b.c", "http://h:99999/"])
def test_non_http_urls_are_refused(bad):
    with pytest.raises(BadUrl):
        canonicalize_url(bad)


def test_helpers():
    assert host_of("http://a.b:81/x") == "a.b:81"
    assert url_extension("http://a/b/c.MP3?x=1") == "mp3"
    assert url_extension("http://a/b/") == ""
    assert same_site("http://cdn.pod.org/a", ("pod.org",))
    assert not same_site("http://evilpod.org/a", ("pod.org",))


_segment = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                   max_size=8)
_host = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z]{2,5}){1,2}", fullmatch=True)


@st.composite
def urls(draw):
    scheme = draw(st.sampled_from(["http", "HTTP", "https"]))
    host = draw(_host)
    if draw(st.booleans()):
        host = host.upper()
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    path = "/".join(draw(st.lists(_segment, max_size=4)))
    query = "&".join(f"{k}={v}" for k, v in draw(st.lists(st.tuples(_segment, _segment),
                                                          max_size=3)))
    frag = draw(_segment)
    return f"{scheme}://{host}{port}/{path}" + (f"?{query}" if query else "") + f"#{frag}"


@given(urls())
def test_canonicalisation_is_idempotent(url):
    once = canonicalize_url(url)
    assert canonicalize_url(once) == once


@given(urls())
def test_canonical_url_has_no_fragment_and_lower_case_host(url):
    canon = canonicalize_url(url)
    assert "#" not in canon
    netloc = canon.split("://", 1)[1].split("/", 1)[0]
    assert netloc == netloc.lower()
    assert canon.isascii()


@given(urls(), st.sampled_from(["utm_source=x", "utm_medium=y&utm_campaign=z", "fbclid=1"]))
def test_tracking_parameters_do_not_change_identity(url, tracking):
    base = url.split("#", 1)[0].strip()  # surrounding whitespace is never part of a URL
    sep = "&" if "?" in base else "?"
    assert canonicalize_url(base + sep + tracking) == canonicalize_url(base)
