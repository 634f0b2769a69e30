"""The crawl phase: web sources (rss, html, sitemap, warc) to RUN/raw and RUN/catalog.

Imports stay lazy so ``pipelines.config`` can import :mod:`pipelines.crawl.config` without
pulling in Beam.
"""

from __future__ import annotations

from typing import Any

__all__ = ["has_web_sources", "run_crawl"]


def has_web_sources(config: Any) -> bool:
    """Whether the config lists any rss, html, sitemap or warc source."""
    from pipelines.crawl.pipeline import has_web_sources as _has

    return _has(config)


def run_crawl(config: Any, out: str, beam_args: list[str], force: bool = False) -> None:
    """Run the crawl phase (see :func:`pipelines.crawl.pipeline.run_crawl`)."""
    from pipelines.crawl.pipeline import run_crawl as _run

    _run(config, out, beam_args, force=force)
