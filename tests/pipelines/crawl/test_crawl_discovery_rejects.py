"""Nothing discovery finds is dropped without a trace: unusable links become ``bad_url`` rows,
media items past ``max_items`` and feed pages past ``max_feed_pages`` become ``crawl_limit`` rows,
and items + rejects account for every media entry served (discover() directly, and the Beam crawl
down to RUN/catalog/rejects-*.parquet)."""

import io

import numpy as np
import soundfile as sf

from pipelines.config import parse_config
from pipelines.crawl import run_crawl
from pipelines.crawl.catalog import read_rows
from pipelines.crawl.config import (
    CrawlConfig,
    HtmlSourceConfig,
    RssSourceConfig,
    SitemapSourceConfig,
)
from pipelines.crawl.discover import discover
from pipelines.crawl.site_server import Page, serve
from schemas.keys import recording_id_for

NO_ROBOTS = Page(b"", "text/plain", 404)
BAD_ENCLOSURES = ("http://[::1/ep-v6.mp3",  # unclosed IPv6 bracket: urljoin raises ValueError
                  "ftp://files.example/ep-ftp.mp3",  # not http(s)
                  "http://h.example:99999/ep-port.mp3")  # port out of range


def _wav(freq: float) -> bytes:
    buf = io.BytesIO()
    t = np.arange(4000) / 8000.0
    sf.write(buf, (0.3 * np.sin(2 * np.pi * freq * t)).astype("float32"), 8000, format="WAV")
    return buf.getvalue()


def _rss(enclosures, next_page=""):
    """An RSS page with one item per enclosure URL (written as given) and an optional rel=next."""
    nxt = f'<atom:link rel="next" href="{next_page}"/>' if next_page else ""
    items = "".join(f'<item><title>e{i}</title><enclosure url="{u}" type="audio/mpeg" '
                    f'length="1"/></item>' for i, u in enumerate(enclosures))
    return Page(('<?xml version="1.0"?><rss version="2.0" '
                 'xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>t</title>'
                 f"{nxt}{items}</channel></rss>").encode(), "application/rss+xml")


def _run(source, **crawl):
    from pipelines.crawl.session import WebSession

    session = WebSession(CrawlConfig(delay_s=0, deadline_s=5, retries=0, **crawl),
                         {source.name: source})
    try:
        out = list(discover(session, source))
    finally:
        session.close()
    items = [o for o in out if not isinstance(o, dict)]
    rejects = [o for o in out if isinstance(o, dict)]
    return items, rejects


def _urls(base):
    """Absolute URLs on the fixture site (still usable after the server stopped)."""
    return lambda path: base + path


def _rss_source(url, **kw):
    return RssSourceConfig(name="s", url=url, allow_networks=("127.0.0.0/8",), **kw)


def test_unusable_enclosure_and_next_page_urls_are_bad_url_rejects():
    with serve({"/robots.txt": NO_ROBOTS}) as site:
        u = _urls(site.base)
        good = [u("/media/a.mp3"), u("/media/b.mp3")]
        entries = [good[0], *BAD_ENCLOSURES, good[1], BAD_ENCLOSURES[1]]  # a bad one twice
        site.routes["/feed.xml"] = _rss(entries, next_page="http://[::1/feed-2.xml")
        items, rejects = _run(_rss_source(u("/feed.xml")))
    assert [it.media_url for it in items] == good
    got = sorted((r["reason"], r["source_uri"], r["id"], r["page_url"]) for r in rejects)
    assert got == sorted(
        [("bad_url", b, recording_id_for(b), u("/feed.xml")) for b in BAD_ENCLOSURES]
        + [("bad_url", "http://[::1/feed-2.xml", recording_id_for("http://[::1/feed-2.xml"),
            u("/feed.xml"))])
    by_uri = {r["source_uri"]: r for r in rejects}
    assert by_uri[BAD_ENCLOSURES[1]]["detail"].startswith("media link: not an http(s) URL")
    assert by_uri["http://[::1/feed-2.xml"]["detail"].startswith("feed link: ")
    assert all(r["stage"] == "crawl" and r["source_name"] == "s" for r in rejects)
    # accounting: every enclosure served is an item or a reject, never both
    lost = {k for k, r in by_uri.items() if r["detail"].startswith("media link: ")}
    assert {it.media_url for it in items} | lost == set(entries)
    assert len(items) + len(lost) == len(set(entries))


def test_media_items_past_max_items_are_crawl_limit_rejects():
    n, limit = 1200, 7  # well over a thousand cut items: one row each, exact accounting
    with serve({"/robots.txt": NO_ROBOTS}) as site:
        u = _urls(site.base)
        media = [u(f"/m/{i:04d}.mp3") for i in range(n)]
        site.routes["/feed.xml"] = _rss(media + media[-3:], next_page=u("/feed-2.xml"))
        site.routes["/feed-2.xml"] = _rss([u("/m/later.mp3")])
        items, rejects = _run(_rss_source(u("/feed.xml"), max_items=limit))
        paths = site.log.paths()
    assert [it.media_url for it in items] == media[:limit]
    cut = [r for r in rejects if r["detail"] == f"max_items={limit} reached"]
    assert [r["source_uri"] for r in cut] == media[limit:]  # once each, repeats included
    assert {r["reason"] for r in cut} == {"crawl_limit"}
    assert [r["id"] for r in cut] == [recording_id_for(m) for m in media[limit:]]
    assert {r["page_url"] for r in cut} == {u("/feed.xml")}
    # the next feed page is not fetched, and says so
    rest = [r for r in rejects if r not in cut]
    assert [(r["reason"], r["source_uri"], r["page_url"]) for r in rest] == [
        ("crawl_limit", u("/feed-2.xml"), u("/feed.xml"))]
    assert rest[0]["detail"] == f"max_items={limit} reached; document not fetched"
    assert "/feed-2.xml" not in paths
    assert len(items) + len(cut) == n


def test_max_items_counts_distinct_items():
    with serve({"/robots.txt": NO_ROBOTS}) as site:
        u = _urls(site.base)
        a, b, c = (u(f"/m/{x}.mp3") for x in "abc")
        site.routes["/feed.xml"] = _rss([a, a, b, c])  # a repeated item is not a second item
        items, rejects = _run(_rss_source(u("/feed.xml"), max_items=2))
    assert [it.media_url for it in items] == [a, a, b]
    assert [(r["reason"], r["source_uri"]) for r in rejects] == [("crawl_limit", c)]


def test_feed_pages_past_max_feed_pages_are_crawl_limit_rejects():
    pages = 6
    with serve({"/robots.txt": NO_ROBOTS}) as site:
        u = _urls(site.base)
        for p in range(1, pages + 1):
            nxt = u(f"/feed-{p + 1}.xml") if p < pages else ""
            site.routes[f"/feed-{p}.xml"] = _rss([u(f"/m/p{p}-{i}.mp3") for i in range(2)],
                                                 next_page=nxt)
        items, rejects = _run(_rss_source(u("/feed-1.xml"), max_feed_pages=2))
        paths = site.log.paths()
    assert [it.media_url for it in items] == [u(f"/m/p{p}-{i}.mp3")
                                              for p in (1, 2) for i in range(2)]
    assert [(r["reason"], r["source_uri"], r["id"], r["page_url"]) for r in rejects] == [
        ("crawl_limit", u("/feed-3.xml"), recording_id_for(u("/feed-3.xml")),
         u("/feed-2.xml"))]
    assert rejects[0]["detail"] == "max_feed_pages=2 reached; feed page not fetched"
    assert not any(p.startswith(("/feed-3", "/feed-4", "/m/")) for p in paths)


def test_unusable_links_on_pages_are_bad_url_rejects_when_they_would_be_used():
    page = (b'<html><head><link rel="alternate" type="application/rss+xml" href="http://[x/f.rss">'
            b"</head><body>"
            b'<audio src="http://[::1/talk.mp3"></audio>'  # media: always reported
            b'<video><source src="ftp://h.example/v.mp4"><source src="/ok.webm"></video>'
            b'<a href="ftp://h.example/dl.mp3">download</a>'
            b'<a href="http://exa mple.com/next.html">next</a>'  # a page we would follow
            b'<a href="mailto:me@example.org">mail</a><a href="javascript:void(0)">js</a>'
            b'<a href="http://h.example:99999/pic.png">image</a>'  # not media: not reported
            b"</body></html>")
    with serve({"/robots.txt": NO_ROBOTS, "/index.html": Page(page, "text/html")}) as site:
        u = _urls(site.base)
        src = HtmlSourceConfig(name="s", url=u("/index.html"),
                               allow_networks=("127.0.0.0/8",), depth=1)
        items, rejects = _run(src)
        leaf = HtmlSourceConfig(name="s", url=u("/index.html"),
                                allow_networks=("127.0.0.0/8",), depth=0)
        _, leaf_rejects = _run(leaf)
    assert [it.media_url for it in items] == [u("/ok.webm")]
    media = {("bad_url", "http://[::1/talk.mp3"), ("bad_url", "ftp://h.example/dl.mp3")}
    documents = {("bad_url", "http://[x/f.rss"), ("bad_url", "http://exa mple.com/next.html")}
    assert sorted((r["reason"], r["source_uri"]) for r in rejects) == sorted(media | documents)
    assert {r["page_url"] for r in rejects} == {u("/index.html")}
    # at the depth limit no link is followed: only the lost media are reported
    assert sorted((r["reason"], r["source_uri"]) for r in leaf_rejects) == sorted(media)


def test_unusable_sitemap_locations_are_bad_url_rejects():
    with serve({"/robots.txt": NO_ROBOTS}) as site:
        u = _urls(site.base)
        site.routes["/sitemap.xml"] = Page((
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{u('/m/ok.mp3')}</loc></url>"
            "<url><loc>http://[::1/m/lost.mp3</loc></url>"
            "<url><loc>ftp://h.example/page.html</loc></url></urlset>").encode(),
            "application/xml")
        src = SitemapSourceConfig(name="s", url=u("/sitemap.xml"),
                                  allow_networks=("127.0.0.0/8",))
        items, rejects = _run(src)
    assert [it.media_url for it in items] == [u("/m/ok.mp3")]
    assert sorted((r["reason"], r["source_uri"], r["page_url"]) for r in rejects) == [
        ("bad_url", "ftp://h.example/page.html", u("/sitemap.xml")),
        ("bad_url", "http://[::1/m/lost.mp3", u("/sitemap.xml"))]


def test_discovery_rejects_land_in_the_catalog(tmp_path):
    """The Beam crawl: items + rejects in RUN/catalog account for every enclosure served."""
    with serve({"/robots.txt": NO_ROBOTS}) as site:
        u = _urls(site.base)
        for i in range(6):
            site.routes[f"/m/{i}.wav"] = Page(_wav(200 + 50 * i), "audio/wav")
        site.routes.update({
            "/bad.xml": _rss([u("/m/0.wav"), *BAD_ENCLOSURES]),
            "/many.xml": _rss([u(f"/m/{i}.wav") for i in (1, 2, 3)]),
            "/paged-1.xml": _rss([u("/m/4.wav")], next_page=u("/paged-2.xml")),
            "/paged-2.xml": _rss([u("/m/5.wav")], next_page=u("/paged-3.xml")),
            "/paged-3.xml": _rss([u("/m/never.wav")]),
        })
        net = ["127.0.0.0/8"]
        config = parse_config({
            "sources": [
                {"type": "rss", "name": "bad", "url": u("/bad.xml"), "allow_networks": net},
                {"type": "rss", "name": "many", "url": u("/many.xml"), "allow_networks": net,
                 "max_items": 1},
                {"type": "rss", "name": "paged", "url": u("/paged-1.xml"),
                 "allow_networks": net, "max_feed_pages": 2},
            ],
            "crawl": {"delay_s": 0, "deadline_s": 10, "read_timeout_s": 5, "retries": 0},
        })
        run = str(tmp_path / "run")
        run_crawl(config, run, ["--runner", "DirectRunner"])
    items = {r["source_uri"] for r in read_rows(run, "items")}
    rejects = {(r["reason"], r["source_uri"], r["id"], r["source_name"], r["page_url"])
               for r in read_rows(run, "rejects")}
    assert items == {u(f"/m/{i}.wav") for i in (0, 1, 4, 5)}
    assert rejects == (
        {("bad_url", b, recording_id_for(b), "bad", u("/bad.xml")) for b in BAD_ENCLOSURES}
        | {("crawl_limit", u(f"/m/{i}.wav"), recording_id_for(u(f"/m/{i}.wav")), "many",
            u("/many.xml")) for i in (2, 3)}
        | {("crawl_limit", u("/paged-3.xml"), recording_id_for(u("/paged-3.xml")), "paged",
            u("/paged-2.xml"))})
    served = {u("/m/0.wav"), *BAD_ENCLOSURES, *(u(f"/m/{i}.wav") for i in range(1, 6))}
    assert items | {r[1] for r in rejects if r[0] == "bad_url" or "/m/" in r[1]} == served
