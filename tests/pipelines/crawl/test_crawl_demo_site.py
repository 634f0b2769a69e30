"""The demo website crawled end to end (tone audio stands in for the espeak-ng corpus)."""

import io

import numpy as np
import soundfile as sf
import yaml

from pipelines.config import parse_config
from pipelines.crawl import run_crawl
from pipelines.crawl.catalog import read_rows
from pipelines.crawl.demo_site import build_site, demo_sources_yaml, serve_demo_site


def _corpus(tmp_path):
    d = tmp_path / "corpus"
    d.mkdir()
    t = np.arange(16000) / 16000.0
    for i, (stem, fmt, side) in enumerate([("en_a", "flac", "vtt"), ("en_b", "wav", "txt"),
                                           ("es_c", "ogg", "srt"), ("de_d", "wav", "vtt"),
                                           ("fr_e", "flac", "txt"), ("en_f", "wav", "")]):
        buf = io.BytesIO()
        sf.write(buf, (0.2 * np.sin(2 * np.pi * (200 + 50 * i) * t)).astype("float32"), 16000,
                 format=fmt.upper())
        (d / f"{stem}.{fmt}").write_bytes(buf.getvalue())
        if side == "vtt":
            (d / f"{stem}.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:00.900\nhallo welt\n")
        elif side == "srt":
            (d / f"{stem}.srt").write_text("1\n00:00:00,000 --> 00:00:00,900\nhola mundo\n")
        elif side == "txt":
            (d / f"{stem}.txt").write_text("bonjour le monde\n")
    return d


def test_demo_site_routes(tmp_path):
    routes = build_site(_corpus(tmp_path))
    assert {"/robots.txt", "/feed.xml", "/index.html", "/episodes/es_c.html"} <= set(routes)
    assert b"Disallow: /members/" in routes["/robots.txt"].body
    assert routes["/media/mirror/en_a.flac"].body == routes["/media/en_a.flac"].body


def test_demo_site_is_crawled_into_a_catalog(tmp_path):
    corpus = _corpus(tmp_path)
    with serve_demo_site(corpus) as site:
        config = parse_config(yaml.safe_load(demo_sources_yaml(site.base)))
        run = str(tmp_path / "run")
        run_crawl(config, run, [])
    items = {r["source_uri"].rsplit("/", 1)[1]: r for r in read_rows(run, "items")}
    assert set(items) == {"en_a.flac", "en_b.wav", "es_c.ogg", "de_d.wav", "fr_e.flac",
                          "en_f.wav"}
    assert items["en_a.flac"]["transcript_format"] == "vtt"
    assert items["es_c.ogg"]["transcript_format"] == "srt"
    assert items["es_c.ogg"]["declared_language"] == "es"
    assert items["fr_e.flac"]["transcript_text"] == "bonjour le monde"
    assert items["en_f.wav"]["transcript_text"] is None
    reasons = sorted((r["source_uri"].split("/", 3)[3], r["reason"])
                     for r in read_rows(run, "rejects"))
    assert ("media/mirror/en_a.flac", "duplicate") in reasons
    assert ("members/en_a.flac", "robots_disallowed") in reasons
    assert ("members/bonus.html", "robots_disallowed") in reasons
    assert ("partners/interview.html", "opted_out") in reasons


def test_demo_site_takes_its_fixed_port_and_any_free_one_when_it_is_taken(tmp_path):
    """Repeatable demo ids need the same port; a taken port must not stop the demo."""
    import urllib.request

    from pipelines.crawl.demo_site import DEMO_PORT

    corpus = _corpus(tmp_path)
    with serve_demo_site(corpus) as first:
        with serve_demo_site(corpus) as second:
            ports = [int(s.base.rsplit(":", 1)[1]) for s in (first, second)]
            with urllib.request.urlopen(second.url("/robots.txt"), timeout=5) as reply:
                assert b"Disallow" in reply.read()
    assert DEMO_PORT in ports and ports[0] != ports[1]
