"""Crawl throughput and politeness against loopback sites.

1. Throughput: two loopback hosts (two ports), each with an RSS feed of N media files, crawled
   with politeness delay 0 on the DirectRunner with 2 workers (multi_processing). Prints items/s
   and MB/s, over the whole run (pipeline start-up included) and over the fetch window seen by
   the servers.
2. Politeness: one host with ``delay_s`` set; prints the spacing of request starts the server
   saw against the configured delay (the target: within 10%).
3. Huge feed: ``parse_feed`` on a feed of ``--feed-items`` entries (100,000 by default) read
   whole (no ``max_items``: every entry through feedparser, as before the early stop) and with
   ``max_items=10`` (feedparser reads ten entries, a light pass the rest); each in a fresh
   process, printing seconds and peak RSS. ``--feed-items 0`` skips it.

    .venv/bin/python benchmarks/crawl_throughput.py [--items 100] [--size-kb 256] [--delay 0.25]
        [--feed-items 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.config import parse_config  # noqa: E402
from pipelines.crawl import run_crawl  # noqa: E402
from pipelines.crawl.catalog import read_rows  # noqa: E402
from pipelines.crawl.site_server import Page, serve  # noqa: E402


def _wav_like(size: int) -> bytes:
    """A WAV header over random PCM: sniffs as audio, unique bytes (no content dedup)."""
    data = os.urandom(size)
    header = (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
              + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
              + b"data" + struct.pack("<I", len(data)))
    return header + data


def _site(n: int, size: int, prefix: str) -> dict[str, Page]:
    routes = {"/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain")}
    items = []
    for i in range(n):
        path = f"/media/{prefix}{i:05d}.wav"
        routes[path] = Page(_wav_like(size), "audio/wav")
        items.append(f'<item><title>{i}</title><enclosure url="{path}" type="audio/wav" '
                     f'length="{size}"/></item>')
    routes["/feed.xml"] = Page(
        ('<?xml version="1.0"?><rss version="2.0"><channel><title>bench</title>'
         + "".join(items) + "</channel></rss>").encode(), "application/rss+xml")
    return routes


def _config(bases: list[str], delay: float, concurrency: int = 1):
    return parse_config({
        "sources": [{"type": "rss", "name": f"site{i}", "url": f"{b}/feed.xml",
                     "allow_networks": ["127.0.0.0/8"]} for i, b in enumerate(bases)],
        "crawl": {"delay_s": delay, "per_host_concurrency": concurrency, "max_items": 1_000_000},
    })


def throughput(n: int, size_kb: int, workers: int) -> None:
    size = size_kb * 1024
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        sites = [stack.enter_context(serve(_site(n, size, p))) for p in ("a", "b")]
        config = _config([s.base for s in sites], delay=0.0)
        args = ["--direct_num_workers", str(workers), "--direct_running_mode", "multi_processing"]
        t0 = time.monotonic()
        run_crawl(config, tmp, args)
        wall = time.monotonic() - t0
        rows = read_rows(tmp, "items")
        media = sorted(t for s in sites for t, p, _ in s.log.entries if p.startswith("/media/"))
        window = media[-1] - media[0] if len(media) > 1 else float("nan")
    total_mb = len(rows) * size / 1e6
    print(f"throughput: {len(rows)} items x {size_kb} KiB from 2 hosts, {workers} workers, "
          f"delay 0")
    print(f"  whole run (incl. Beam start-up): {wall:.2f} s -> {len(rows) / wall:.1f} items/s, "
          f"{total_mb / wall:.1f} MB/s")
    print(f"  fetch window (first to last media request): {window:.2f} s -> "
          f"{len(media) / window:.1f} items/s, {total_mb / window:.1f} MB/s")


def politeness(n: int, delay: float) -> None:
    with serve(_site(n, 4096, "p")) as site, tempfile.TemporaryDirectory() as tmp:
        # the crawler runs in a worker process so its GIL use cannot delay the server's clock
        run_crawl(_config([site.base], delay=delay), tmp,
                  ["--direct_num_workers", "1", "--direct_running_mode", "multi_processing"])
        # the fetch stage's requests (its robots.txt and the media), one host, one worker
        starts = sorted(t for t, p, _ in site.log.entries if p.startswith("/media/"))
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    mean, low = statistics.mean(gaps), min(gaps)
    dev = abs(mean - delay) / delay * 100
    print(f"politeness: {len(starts)} media requests to one host, delay_s={delay}")
    verdict = "OK" if dev <= 10 and low >= delay * 0.9 else "OVER 10%"
    print(f"  spacing of request starts: mean {mean:.3f} s, min {low:.3f} s, "
          f"max {max(gaps):.3f} s -> mean within {dev:.1f}% of the delay ({verdict})")


def huge_feed_bytes(n: int) -> bytes:
    """An RSS feed of ``n`` episodes, each with an enclosure and a VTT transcript link."""
    items = "".join(
        f"<item><title>Episode {i}</title><description>Talk {i}</description>"
        "<pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate>"
        f'<enclosure url="https://cdn.example.org/m/{i:06d}.mp3" type="audio/mpeg" length="1"/>'
        f'<podcast:transcript url="https://pod.example.org/t/{i:06d}.vtt" type="text/vtt"/>'
        "</item>" for i in range(n))
    return ('<?xml version="1.0"?><rss version="2.0" '
            'xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><title>big</title>'
            f"<language>en</language>{items}</channel></rss>").encode()


def _feed_child(n: int, max_items: int) -> None:
    """Runs in its own process: parse the feed once, print seconds and RSS as JSON."""
    import resource

    from filters.web.feeds import parse_feed

    data = huge_feed_bytes(n)
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    page = parse_feed(data, "https://pod.example.org/feed.xml", max_items=max_items)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "base_mb": base_mb,
                      "items": len(page.items), "light": page.light_entries,
                      "feed_mb": len(data) / 1e6}))


def huge_feed(n: int) -> None:
    results = {}
    for max_items in (0, 10):
        out = subprocess.run([sys.executable, __file__, "--feed-child", str(n), str(max_items)],
                             check=True, capture_output=True, text=True).stdout
        results[max_items] = json.loads(out.strip().splitlines()[-1])
    r0 = results[0]
    print(f"huge feed: {n} entries ({r0['feed_mb']:.1f} MB), parse_feed in a fresh process each")
    for max_items, label in ((0, "read whole (feedparser on every entry)"),
                             (10, "max_items=10 (feedparser on 10, light pass on the rest)")):
        r = results[max_items]
        print(f"  {label}: {r['seconds']:.2f} s, peak RSS {r['peak_mb']:.0f} MB "
              f"(+{r['peak_mb'] - r['base_mb']:.0f} MB during the parse), "
              f"{r['items']} items, {r['light']} entries from the light pass")
    print(f"  -> {r0['seconds'] / results[10]['seconds']:.1f}x faster with the early stop")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--feed-child":
        _feed_child(int(sys.argv[2]), int(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100, help="media items per host")
    ap.add_argument("--size-kb", type=int, default=256, help="size of each media file")
    ap.add_argument("--workers", type=int, default=2, help="DirectRunner workers")
    ap.add_argument("--delay", type=float, default=0.25, help="politeness delay to check")
    ap.add_argument("--polite-items", type=int, default=20, help="items in the politeness run")
    ap.add_argument("--feed-items", type=int, default=100_000,
                    help="entries of the huge-feed run (0: skip it)")
    a = ap.parse_args()
    throughput(a.items, a.size_kb, a.workers)
    politeness(a.polite_items, a.delay)
    if a.feed_items:
        huge_feed(a.feed_items)


if __name__ == "__main__":
    main()
