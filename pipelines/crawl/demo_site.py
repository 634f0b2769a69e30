"""The demo website: a directory of audio + transcripts published as a small podcast site.

``build_site(corpus)`` turns the demo corpus (``<stem>.<codec>`` with optional sidecar
``<stem>.txt|vtt|srt``) into routes for :mod:`pipelines.crawl.site_server`:

- ``/feed.xml`` — a Podcasting 2.0 RSS feed with the English episodes, each enclosure paired with
  ``<podcast:transcript>`` links; it also lists one episode twice (``/media/mirror/...``: the same
  bytes under a second URL) and one members-only episode;
- ``/index.html`` — links to one page per other episode (``<audio>`` + ``<track>`` captions, or a
  download link next to a plain-text transcript), to the feed, and to a members-only page;
- ``/robots.txt`` — disallows ``/members/``, so those two items end as ``robots_disallowed``;
- ``/partners/...`` — an episode page and its audio whose owner opted out: the demo's
  ``crawl.opt_out`` lists the prefix, so both end as ``opted_out`` without being fetched.

``serve_demo_site(corpus)`` serves it on 127.0.0.1 for the duration of a ``with`` block.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.sax.saxutils import quoteattr

from pipelines.crawl.site_server import Page, SiteServer, serve

DEMO_PORT = 47615  # a fixed high port for repeatable ids; any free port when it is taken

AUDIO_MIME = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "ogg": "audio/ogg",
              "opus": "audio/ogg", "m4a": "audio/mp4", "webm": "audio/webm"}
TRANSCRIPT_MIME = {"vtt": "text/vtt", "srt": "application/x-subrip", "txt": "text/plain"}
LANG_NAMES = {"en": "English", "es": "Spanish", "de": "German", "fr": "French"}


def _sidecars(audio: Path) -> list[Path]:
    return [audio.with_suffix(f".{ext}") for ext in ("vtt", "srt", "txt")
            if audio.with_suffix(f".{ext}").is_file()]


def _lang(stem: str) -> str:
    prefix = stem.split("_", 1)[0]
    return prefix if prefix in LANG_NAMES else ""


def build_site(corpus: Path) -> dict[str, Page]:
    """Routes of the demo site for the audio files and sidecar transcripts in ``corpus``."""
    corpus = Path(corpus)
    audio = sorted(p for p in corpus.iterdir() if p.suffix.lstrip(".") in AUDIO_MIME)
    routes: dict[str, Page] = {
        "/robots.txt": Page(b"User-agent: *\nDisallow: /members/\n", "text/plain"),
    }
    feed_items, page_links = [], []
    for path in audio:
        ext = path.suffix.lstrip(".")
        media = f"/media/{path.name}"
        routes[media] = Page(path.read_bytes(), AUDIO_MIME[ext], etag=f'"{path.stat().st_size}"')
        sidecars = _sidecars(path)
        for side in sidecars:
            fmt = side.suffix.lstrip(".")
            routes[f"/transcripts/{side.name}"] = Page(side.read_bytes(), TRANSCRIPT_MIME[fmt])
        lang = _lang(path.stem)
        if lang in ("en", ""):
            tr = "".join(
                f'<podcast:transcript url="/transcripts/{s.name}" '
                f'type="{TRANSCRIPT_MIME[s.suffix.lstrip(".")]}"/>' for s in sidecars)
            feed_items.append(
                f"<item><title>{html.escape(path.stem)}</title><guid>{path.stem}</guid>"
                f'<enclosure url="{media}" type="{AUDIO_MIME[ext]}" '
                f'length="{path.stat().st_size}"/>{tr}</item>')
        else:
            page = f"/episodes/{path.stem}.html"
            timed = [s for s in sidecars if s.suffix in (".vtt", ".srt")]
            if timed or not sidecars:
                tracks = "".join(
                    f'<track kind="captions" src="/transcripts/{s.name}" srclang="{lang}">'
                    for s in timed)
                body = (f'<audio controls><source src="{media}" type="{AUDIO_MIME[ext]}">'
                        f"{tracks}</audio>")
            else:  # a plain-text transcript is linked next to a download link
                body = (f'<p><a href="{media}">download</a> · '
                        f'<a href="/transcripts/{sidecars[0].name}">transcript</a></p>')
            routes[page] = Page(
                f'<!doctype html><html lang="{lang}"><head><title>{path.stem}</title></head>'
                f"<body><h1>{path.stem}</h1>{body}</body></html>".encode(), "text/html")
            page_links.append(f'<li><a href="{page}">{path.stem} ({LANG_NAMES[lang]})</a></li>')
    if audio:  # the same episode under a second URL, and a members-only one
        first = next((p for p in audio if _lang(p.stem) == "en"), audio[0])
        routes[f"/media/mirror/{first.name}"] = routes[f"/media/{first.name}"]
        routes[f"/members/{first.name}"] = routes[f"/media/{first.name}"]
        mime = AUDIO_MIME[first.suffix.lstrip(".")]
        feed_items.append(
            f"<item><title>{first.stem} (mirror)</title><enclosure "
            f'url="/media/mirror/{first.name}" type="{mime}" length="1"/></item>')
        feed_items.append(
            f"<item><title>Members only</title><enclosure url=\"/members/{first.name}\" "
            f'type="{mime}" length="1"/></item>')
        routes["/members/bonus.html"] = Page(
            f'<html><body><audio src="/members/{first.name}"></audio></body></html>'.encode(),
            "text/html")
        page_links.append('<li><a href="/members/bonus.html">bonus (members)</a></li>')
        routes[f"/partners/{first.name}"] = routes[f"/media/{first.name}"]
        routes["/partners/interview.html"] = Page(
            f'<html><body><audio src="/partners/{first.name}"></audio></body></html>'.encode(),
            "text/html")
        page_links.append('<li><a href="/partners/interview.html">partner interview</a></li>')
    routes["/feed.xml"] = Page((
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:podcast="https://podcastindex.org/namespace/1.0" '
        'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">\n<channel>'
        "<title>speechcurate demo podcast</title><link>/index.html</link>"
        "<language>en</language><podcast:license>CC0-1.0</podcast:license>"
        "<copyright>CC0-1.0</copyright>\n" + "\n".join(feed_items) + "\n</channel></rss>\n"
    ).encode(), "application/rss+xml")
    routes["/index.html"] = Page((
        '<!doctype html><html lang="en"><head><title>speechcurate demo site</title>'
        '<link rel="alternate" type="application/rss+xml" href="/feed.xml">'
        '<link rel="license" href="https://creativecommons.org/publicdomain/zero/1.0/">'
        "</head><body><h1>Episodes</h1><ul>" + "".join(page_links) + "</ul>"
        f"<p>Feed: <a href={quoteattr('/feed.xml')}>RSS</a></p></body></html>"
    ).encode(), "text/html")
    return routes


@contextmanager
def serve_demo_site(corpus: Path) -> Iterator[SiteServer]:
    """Serve the demo site built from ``corpus`` on 127.0.0.1, port ``DEMO_PORT`` when it is free.

    Recording ids hash the media URL, port included: on the same port every demo run has the
    same ids, so its shards, plan and figures repeat exactly (on another port they differ in
    ids and segment order only)."""
    with serve(build_site(corpus), port=DEMO_PORT) as server:
        yield server


def demo_sources_yaml(base_url: str) -> str:
    """The ``sources:`` and ``crawl:`` sections that crawl the demo site."""
    return (
        "# Demo sources: a podcast feed and a website served on 127.0.0.1 by the demo.\n"
        "sources:\n"
        f"  - name: demo-feed\n    type: rss\n    url: {base_url}/feed.xml\n"
        "    allow_networks: [127.0.0.0/8]\n"
        f"  - name: demo-site\n    type: html\n    url: {base_url}/index.html\n    depth: 1\n"
        "    allow_networks: [127.0.0.0/8]\n    licence: CC0-1.0\n"
        "crawl:\n  delay_s: 0.05\n  deadline_s: 60\n"
        f"  opt_out: [{base_url}/partners/]  # the owner of these pages asked not to be crawled\n"
    )
