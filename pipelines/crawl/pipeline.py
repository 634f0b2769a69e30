"""The crawl phase as an Apache Beam pipeline.

    seeds ─► Discover (per source) ─► Reshuffle ─► dedup by canonical URL ─► skip done (resume)
          ─► GroupByKey(host) ─► Fetch (politeness per host) ─┐
    WARC files ─► ReadWarc (offline pairing) ─────────────────┴─► dedup by sha256 ─► catalog/

Fetching is keyed by host, so one worker holds each host's robots.txt, throttle and connections
and the politeness delay holds however many workers the runner starts.

Each DoFn yields ``(kind, row)`` records (``item`` or ``reject``) that ``beam.Filter``-style steps
split, rather than tagged outputs, and catalog files are batched by the writer itself rather than
by ``BatchElements``: Beam's DaskRunner mixes a multi-output ParDo's outputs and drops what a DoFn
emits from ``finish_bundle`` (``pipelines/runners.py``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import apache_beam as beam

from filters.web.urls import host_of
from pipelines import runners
from pipelines.crawl.catalog import (
    CATALOG_SCHEMA,
    catalog_dir,
    crawl_reject,
    list_files,
    read_rows,
    write_table,
)
from pipelines.crawl.config import CrawlConfig
from schemas.arrow import REJECT_SCHEMA
from schemas.keys import recording_id_for
from schemas.records import SourceItem

log = logging.getLogger(__name__)
NETWORK_TYPES = ("rss", "html", "sitemap")
WEB_TYPES = (*NETWORK_TYPES, "warc")
REJECTS = "rejects"
ITEM, REJECT = "item", "reject"  # the kinds of (kind, row) records every crawl DoFn yields
ITEMS_PER_FILE, REJECTS_PER_FILE = 1000, 5000  # rows in one catalog file (at most)


def has_web_sources(config: Any) -> bool:
    """Whether the config lists any source the crawl phase handles."""
    return any(getattr(s, "type", "") in WEB_TYPES for s in config.sources)


# --------------------------------------------------------------------------- DoFns


class DiscoverDoFn(beam.DoFn):
    """Source name -> ``(item, SourceItem)`` and ``(reject, row)`` records."""

    def __init__(self, crawl: CrawlConfig, sources: dict[str, Any]):
        self.crawl = crawl
        self.sources = sources

    def setup(self) -> None:
        from pipelines.crawl.session import WebSession

        self.session = WebSession(self.crawl, self.sources)

    def teardown(self) -> None:
        self.session.close()

    def process(self, name: str):  # noqa: ANN201
        from pipelines.crawl.discover import discover

        source = self.sources[name]
        try:
            for out in discover(self.session, source):
                yield (REJECT, out) if isinstance(out, dict) else (ITEM, out)
        except Exception as exc:  # noqa: BLE001 - a bug or a hostile site must not end the job
            log.exception("discovery of %s failed", name)
            yield REJECT, crawl_reject(
                source.url, "fetch_failed", f"discovery failed: {type(exc).__name__}: {exc}",
                source_name=name)


class FetchHostDoFn(beam.DoFn):
    """(host, items) -> ``(item, catalog row)`` and ``(reject, row)``, with the host's
    politeness."""

    def __init__(self, crawl: CrawlConfig, sources: dict[str, Any], run: str,
                 previous: dict[str, dict[str, Any]]):
        self.crawl = crawl
        self.sources = sources
        self.run = run
        self.previous = previous

    def setup(self) -> None:
        from pipelines.crawl.session import WebSession

        self.session = WebSession(self.crawl, self.sources)

    def teardown(self) -> None:
        self.session.close()

    def _one(self, item: SourceItem) -> list[tuple[str, dict[str, Any]]]:
        from pipelines.crawl.fetch_items import fetch_item

        try:
            return fetch_item(self.session, self.run, item,
                              self.previous.get(recording_id_for(item.media_url)))
        except Exception as exc:  # noqa: BLE001 - never let one item end the job
            log.exception("fetching %s failed", item.media_url)
            return [("reject", crawl_reject(item.media_url, "fetch_failed",
                                            f"{type(exc).__name__}: {exc}",
                                            source_name=item.source_name,
                                            page_url=item.page_url))]

    def process(self, element: tuple[str, Any]):  # noqa: ANN201
        from concurrent.futures import ThreadPoolExecutor

        _host, items = element
        items = sorted(items, key=lambda it: it.media_url)
        workers = max(1, self.crawl.per_host_concurrency)
        if workers == 1:
            for item in items:
                yield from self._emit(self._one(item))
            return
        with ThreadPoolExecutor(workers) as pool:
            for group in pool.map(self._one, items):
                yield from self._emit(group)

    _markup = beam.metrics.Metrics.counter("crawl", "transcript_labels_with_markup")

    @classmethod
    def _emit(cls, group: list[tuple[str, dict[str, Any]]]):  # noqa: ANN206
        for kind, row in group:
            if kind == "item" and row.get("transcript_markup_labels"):
                cls._markup.inc(row["transcript_markup_labels"])
            yield (ITEM, row) if kind == "item" else (REJECT, row)


class ReadWarcDoFn(beam.DoFn):
    """(source name, archive path) -> ``(item, catalog row)`` and ``(reject, row)``, offline."""

    def __init__(self, crawl: CrawlConfig, sources: dict[str, Any], run: str):
        self.crawl = crawl
        self.sources = sources
        self.run = run

    def process(self, element: tuple[str, str]):  # noqa: ANN201
        from pipelines.crawl.warc_items import warc_items

        name, path = element
        for kind, row in warc_items(path, self.sources[name], self.crawl, self.run):
            yield (ITEM, row) if kind == "item" else (REJECT, row)


class WriteTableDoFn(beam.DoFn):
    """Rows -> Parquet files of at most ``per_file`` rows, each named by a hash of its rows (a
    retried bundle overwrites its own files). Files are written from ``process`` and
    ``finish_bundle``; nothing is emitted."""

    def __init__(self, run: str, prefix: str, token: str, schema: Any, key: str,
                 per_file: int):
        self.run, self.prefix, self.token, self.schema, self.key = run, prefix, token, schema, key
        self.per_file = per_file
        self._rows: list[dict[str, Any]] = []

    def start_bundle(self) -> None:
        self._rows = []

    def process(self, row: dict[str, Any]):  # noqa: ANN201
        self._rows.append(row)
        if len(self._rows) >= self.per_file:
            self._write()
        return []

    def finish_bundle(self) -> None:
        self._write()

    def _write(self) -> None:
        from pipelines.io import join

        rows, self._rows = self._rows, []
        if not rows:
            return
        rows = sorted(rows, key=lambda r: (r[self.key] or "", r.get("reason") or ""))
        digest = hashlib.sha1("\n".join(f"{r[self.key]}|{r.get('reason', '')}" for r in rows)
                              .encode()).hexdigest()[:16]
        uri = join(catalog_dir(self.run), f"{self.prefix}-{self.token}-{digest}.parquet")
        write_table(uri, rows, self.schema)


# --------------------------------------------------------------------------- helpers


def merge_items(element: tuple[str, Any]) -> SourceItem:
    """One item per canonical media URL; the richest transcript list wins, others merge in."""
    _url, items = element
    items = sorted(items, key=lambda it: (-len(it.transcript_urls), it.source_name, it.page_url))
    best = items[0]
    pairs = list(zip(best.transcript_urls, best.transcript_formats, strict=False))
    for other in items[1:]:
        for pair in zip(other.transcript_urls, other.transcript_formats, strict=False):
            if pair not in pairs:
                pairs.append(pair)
    from filters.web.transcript_formats import best_first

    pairs = best_first(pairs)
    return SourceItem(
        media_url=best.media_url, source_name=best.source_name, page_url=best.page_url,
        transcript_urls=tuple(u for u, _ in pairs), transcript_formats=tuple(f for _, f in pairs),
        licence=next((i.licence for i in items if i.licence), ""),
        declared_language=next((i.declared_language for i in items if i.declared_language), ""),
        title=next((i.title for i in items if i.title), ""), discovered_at=best.discovered_at,
    )


def dedup_by_content(element: tuple[str, Any], known: dict[str, str]):  # noqa: ANN201
    """Identical bytes under several URLs: keep one, reject the others as duplicates.

    The keeper is the row already in the catalog, else the one with the best transcript
    (timed, then any), then the shortest URL, so the choice does not depend on arrival order.
    """
    sha, rows = element
    rows = sorted(rows, key=lambda r: (not r["cues"], r["transcript_text"] is None,
                                       len(r["source_uri"]), r["source_uri"]))
    keeper_id = known.get(sha) or rows[0]["recording_id"]
    keeper_uri = next((r["source_uri"] for r in rows if r["recording_id"] == keeper_id), keeper_id)
    for row in rows:
        if row["recording_id"] == keeper_id:
            if sha not in known:  # a row already in the catalog is not written twice
                yield ITEM, row
        else:
            yield REJECT, crawl_reject(
                row["source_uri"], "duplicate", f"same bytes (sha256 {sha[:16]}) as {keeper_uri}",
                source_name=row["source_name"], page_url=row["page_url"])


def _expand_warc_paths(source: Any) -> list[str]:
    from pipelines.io import exists, fs_and_path, glob, join

    path = source.path
    if any(ch in path for ch in "*?["):
        return glob(path)
    fs, p = fs_and_path(path)
    if exists(path) and fs.isdir(p):
        return [m for pat in ("*.warc", "*.warc.gz", "*.arc", "*.arc.gz")
                for m in glob(join(path, "**", pat))] or []
    return [path]


def build_crawl(p: beam.Pipeline, config: Any, run: str, token: str, *,
                done_ids: frozenset[str] = frozenset(), known_shas: dict[str, str] | None = None,
                previous: dict[str, dict[str, Any]] | None = None) -> None:
    """Add the crawl transforms for ``config`` to pipeline ``p``, writing under ``run``."""
    crawl: CrawlConfig = config.crawl
    sources = {s.name: s for s in config.sources if getattr(s, "type", "") in WEB_TYPES}
    web = sorted(n for n, s in sources.items() if s.type in NETWORK_TYPES)
    warcs = sorted((n, path) for n, s in sources.items() if s.type == "warc"
                   for path in _expand_warc_paths(s))
    item_pcolls, reject_pcolls = [], []
    if web:
        found = (p | "Seeds" >> beam.Create(web)
                 | "Discover" >> beam.ParDo(DiscoverDoFn(crawl, sources)))
        reject_pcolls.append(found | "DiscoverRejects" >> beam.FlatMap(_of_kind, REJECT))
        fetched = (
            found | "DiscoveredItems" >> beam.FlatMap(_of_kind, ITEM)
            | "FanOut" >> beam.Reshuffle()
            | "KeyByUrl" >> beam.Map(lambda it: (it.media_url, it))
            | "GroupByUrl" >> beam.GroupByKey()
            | "MergeUrl" >> beam.Map(merge_items)
            | "SkipDone" >> beam.Filter(
                lambda it, done: recording_id_for(it.media_url) not in done, done_ids)
            | "KeyByHost" >> beam.Map(lambda it: (host_of(it.media_url), it))
            | "GroupByHost" >> beam.GroupByKey()
            | "Fetch" >> beam.ParDo(FetchHostDoFn(crawl, sources, run, previous or {}))
        )
        item_pcolls.append(fetched | "FetchedRows" >> beam.FlatMap(_of_kind, ITEM))
        reject_pcolls.append(fetched | "FetchRejects" >> beam.FlatMap(_of_kind, REJECT))
    if warcs:
        read = (p | "WarcFiles" >> beam.Create(warcs)
                | "ReadWarc" >> beam.ParDo(ReadWarcDoFn(crawl, sources, run)))
        item_pcolls.append(read | "WarcRows" >> beam.FlatMap(_of_kind, ITEM))
        reject_pcolls.append(read | "WarcRejects" >> beam.FlatMap(_of_kind, REJECT))
    if not item_pcolls:
        return
    deduped = (
        item_pcolls | "AllRows" >> beam.Flatten()
        | "KeyBySha" >> beam.Map(lambda r: (r["sha256"], r))
        | "GroupBySha" >> beam.GroupByKey()
        | "DedupContent" >> beam.FlatMap(dedup_by_content, known_shas or {})
    )
    reject_pcolls.append(deduped | "DuplicateRejects" >> beam.FlatMap(_of_kind, REJECT))
    items = (deduped | "KeptRows" >> beam.FlatMap(_of_kind, ITEM)
             | "WriteItems" >> beam.ParDo(WriteTableDoFn(run, "items", token, CATALOG_SCHEMA,
                                                         "recording_id", ITEMS_PER_FILE)))
    rejects = (tuple(reject_pcolls) | "AllRejects" >> beam.Flatten()
               | "WriteRejects" >> beam.ParDo(WriteTableDoFn(run, "rejects", token,
                                                             REJECT_SCHEMA, "source_uri",
                                                             REJECTS_PER_FILE)))
    runners.finish(items, rejects)


def _of_kind(record: tuple[str, Any], kind: str) -> list[Any]:
    """The row of a ``(kind, row)`` record when it is of ``kind`` (one output per step)."""
    return [record[1]] if record[0] == kind else []


# --------------------------------------------------------------------------- entry point


def _remove(uris: list[str]) -> None:
    from pipelines.io import fs_and_path

    for uri in uris:
        fs, path = fs_and_path(uri)
        if fs.exists(path):
            fs.rm(path)


def run_crawl(config: Any, out: str, beam_args: list[str], force: bool = False) -> None:
    """Crawl the config's web sources into ``out``/raw and ``out``/catalog.

    A finished crawl (``catalog/_SUCCESS``) is skipped unless ``force``; an unfinished one
    resumes, skipping items already in the catalog; ``force`` recrawls everything with
    conditional GETs (unchanged items keep their row and blob).
    """
    from pipelines.io import exists, join, write_text_atomic

    success = join(catalog_dir(out), "_SUCCESS")
    if not has_web_sources(config):
        log.info("crawl: the config has no web sources (rss, html, sitemap, warc); nothing to do")
        return
    if exists(success) and not force:
        log.info("crawl: %s exists; skipping the finished crawl (use --force to recrawl)", success)
        return
    old_items, old_rejects = list_files(out, "items"), list_files(out, "rejects")
    token = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + uuid.uuid4().hex[:6]
    rows = read_rows(out, "items")
    if force:
        previous = {r["recording_id"]: r for r in rows}
        done_ids: frozenset[str] = frozenset()
        known: dict[str, str] = {}
        _remove([success])
    else:  # resume: kept items stay, rejects are produced again by this run
        previous = {}
        done_ids = frozenset(r["recording_id"] for r in rows)
        known = {r["sha256"]: r["recording_id"] for r in rows}
        # Rejects are produced again by this run, except those attached to items it skips
        # (e.g. a kept episode's unreadable transcript): carry those over.
        carried = [r for r in read_rows(out, "rejects")
                   if r["recording_id"] in done_ids and r["id"] != r["recording_id"]]
        if carried:
            write_table(join(catalog_dir(out), f"rejects-{token}-carried.parquet"), carried,
                        REJECT_SCHEMA)
        _remove(old_rejects)
        if rows:
            log.info("crawl: resuming; %d items already in the catalog", len(rows))
    with runners.pipeline(beam_args) as p:
        build_crawl(p, config, out, token, done_ids=done_ids, known_shas=known, previous=previous)
    if force:
        _remove(old_items + old_rejects)
    items = [u for u in list_files(out, "items") if f"-{token}-" in u]
    new_rejects = read_rows(out, "rejects")
    reasons = Counter(r["reason"] for r in new_rejects)
    all_items = read_rows(out, "items")
    n_items = len(all_items)
    markup = sum(r.get("transcript_markup_labels") or 0 for r in all_items)
    summary = {"finished_at": datetime.now(UTC).isoformat(), "items": n_items,
               "new_item_files": len(items), "rejects": dict(sorted(reasons.items())),
               "transcript_labels_with_markup": markup}
    write_text_atomic(success, json.dumps(summary, indent=2) + "\n")
    log.info("crawl: %d items in the catalog, %d rejects %s", n_items, len(new_rejects),
             dict(reasons))
