"""Phase 1, ``analyse``: the expensive per-recording work, done once and resumable.

recordings (local listing + crawl catalog) not yet committed -> decode -> VAD segments -> text LID
-> Whisper pseudo-labels (pooled per recording) -> measures -> ``RUN/analysis/`` (thin Parquet rows
+ candidate audio as FLAC in pack tars). Audio crosses no shuffle. A rerun with the same ``--out``
analyses only recordings that are not committed yet (resume after a crash, or new sources).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field

import apache_beam as beam
import pyarrow.parquet as pq

from pipelines import analysis_store as store
from pipelines import io as sio
from pipelines import runners
from pipelines.config import ConfigError, LocalSourceConfig, RunConfig
from pipelines.manifests import write_parquet
from pipelines.sources.local import LocalItem, list_directory, list_manifest
from pipelines.stages.analyse import AnalyseRecording, LoadLocalItem, MeasureAndCommit
from pipelines.stages.asr import pseudo_label
from schemas.arrow import REJECT_SCHEMA, recording_from_row, reject_row
from schemas.keys import recording_id_for
from schemas.records import Reject

log = logging.getLogger("speechcurate.analyse")
LISTING_REJECTS = "listing_rejects.parquet"


@dataclass
class Listing:
    """What enters a run, counted on the launcher before any work (the accounting's input)."""

    items: list[LocalItem] = field(default_factory=list)  # one per recording id: the first listing
    # refused at listing, each under an id of its own (counted as entered and rejected): bad
    # manifest rows, not_a_file, path_outside_root, duplicate_listing (`{recording_id}-dup{n}`)
    rejects: list[Reject] = field(default_factory=list)
    catalog_files: list[str] = field(default_factory=list)
    catalog_ids: list[str] = field(default_factory=list)  # recording ids in the crawl catalog

    def recording_ids(self) -> set[str]:
        return {recording_id_for(i.audio_uri) for i in self.items} | set(self.catalog_ids)

    def empty(self) -> bool:
        return not (self.items or self.catalog_files or self.rejects)


def list_inputs(config: RunConfig, run_dir: str) -> Listing:
    """List every local source and the crawl catalog; a missing directory fails here, by name.

    The same audio listed twice (by any sources, in config order) keeps its first listing; later
    ones are ``duplicate_listing`` rejects (see ``pipelines.sources.local``)."""
    listing = Listing()
    seen: dict[str, list[str]] = {}  # recording id -> where listed, shared by every source
    for i, src in enumerate(config.sources):
        if not isinstance(src, LocalSourceConfig):
            continue
        try:
            if src.path:
                found, bad = list_directory(src, seen)
            else:
                found, bad = list_manifest(src, seen)
            listing.items.extend(found)
            listing.rejects.extend(bad)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace(f"sources[{src.name}]", f"sources[{i}]")) from exc
    listing.catalog_files = sio.glob(sio.join(run_dir, "catalog", "items-*.parquet"))
    for uri in listing.catalog_files:
        table = pq.read_table(io.BytesIO(sio.read_bytes(uri)), columns=["recording_id"])
        listing.catalog_ids.extend(table.column("recording_id").to_pylist())
    return listing


def read_catalog_file(uri: str, skip: frozenset[str]):
    """Rows of one crawl catalog file as Recordings, leaving out committed ones."""
    table = pq.read_table(io.BytesIO(sio.read_bytes(uri)))
    for row in table.to_pylist():
        if row["recording_id"] not in skip:
            yield recording_from_row(row), None


class _Progress(beam.DoFn):
    """A tqdm bar over analysed recordings (one per worker process; silent when not a TTY)."""

    def __init__(self, total: int):
        self.total = total
        self._bar = None

    def setup(self) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=self.total, desc="analyse", unit="rec", leave=False, disable=None)

    def process(self, rid):
        if self._bar is not None:
            self._bar.update(1)
        yield rid

    def teardown(self) -> None:
        if self._bar is not None:
            self._bar.close()


def build_pipeline(p: beam.Pipeline, config: RunConfig, analysis_dir: str,
                   items: list[LocalItem], catalog_files: list[str], skip: frozenset[str],
                   total: int) -> None:
    cur = config.curate
    local = (p | "ListedItems" >> beam.Create(items)
             | "SpreadItems" >> beam.Reshuffle()
             | "LoadTranscripts" >> beam.ParDo(LoadLocalItem()))
    crawled = (p | "CatalogFiles" >> beam.Create(catalog_files)
               | "ReadCatalog" >> beam.FlatMap(read_catalog_file, skip)
               | "SpreadCatalog" >> beam.Reshuffle())
    committed = ((local, crawled) | "AllRecordings" >> beam.Flatten()
                 | "DecodeAndSegment" >> beam.ParDo(AnalyseRecording(cur.decode, cur.segment,
                                                                     cur.lid))
                 | "PseudoLabel" >> pseudo_label(cur.asr)
                 | "MeasureAndCommit" >> beam.ParDo(MeasureAndCommit(
                     analysis_dir, cur.shards.target_size_mb, cur.shards.flac_compression,
                     cur.dedup))
                 | "Progress" >> beam.ParDo(_Progress(total)))
    runners.finish(committed)


@dataclass(frozen=True)
class AnalyseResult:
    listed: int  # recordings listed from the sources and the catalog
    reused: int  # of those, already committed before this run
    analysed: int  # committed by this run


def run_analyse(config: RunConfig, run_dir: str, listing: Listing,
                beam_args: list[str]) -> AnalyseResult:
    """Analyse every listed recording not committed yet; Whisper (``config.curate.asr.model``)
    is resolved on the workers."""
    analysis_dir = sio.join(run_dir, "analysis")
    store.check_settings(analysis_dir, config, "resume")
    store.write_settings(analysis_dir, config)
    write_parquet(sio.join(analysis_dir, LISTING_REJECTS),
                  [reject_row(r) for r in listing.rejects], REJECT_SCHEMA)
    listed = listing.recording_ids()
    before = set(store.owners(analysis_dir))
    todo_items = [i for i in listing.items if recording_id_for(i.audio_uri) not in before]
    todo = len(listed - before)
    reused = len(listed & before)
    log.info("analyse: %d recording(s) listed, %d already analysed, %d to analyse",
             len(listed), reused, todo)
    if todo:
        with runners.pipeline(beam_args) as p:
            build_pipeline(p, config, analysis_dir, todo_items, listing.catalog_files,
                           frozenset(before), todo)
    after = set(store.owners(analysis_dir))
    return AnalyseResult(listed=len(listed), reused=reused, analysed=len((after - before) & listed))
