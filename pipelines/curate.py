"""The ``curate`` phase as one Beam pipeline:

recordings -> decode + VAD segmentation -> text LID -> Whisper pseudo-labels (RunInference,
batched across recordings) -> measures + per-segment label decisions -> [shuffle by recording
bucket] -> per-recording decisions -> WebDataset shards; every drop becomes a Reject.

Run it with ``speechcurate run`` or ``python -m pipelines.curate --config C --out RUN [beam opts]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import logging
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipelines import io as sio
from pipelines.config import ConfigError, LocalSourceConfig, RunConfig
from pipelines.manifests import compute_stats, finalize_shards, unique_rows, write_manifests
from pipelines.models import is_multilingual, resolve_model
from pipelines.sources.local import LocalItem, list_directory, list_manifest, load_item
from pipelines.stages.asr import PseudoLabel
from pipelines.stages.common import REJECTED, stable_bucket
from pipelines.stages.decode import META, RECORDINGS, DecodeAndSegment
from pipelines.stages.labels import MeasureAndDecide
from pipelines.stages.lid import TextLanguageId
from pipelines.stages.rows import WriteRows, read_rows
from pipelines.stages.shards import PARTS, DecideRecordings, WriteShards
from schemas.arrow import RECORDING_SCHEMA, REJECT_SCHEMA, SEGMENT_SCHEMA, recording_from_row
from schemas.arrow import reject_row as to_reject_row
from schemas.records import Recording, Reject

log = logging.getLogger("speechcurate.curate")
SUCCESS = "_SUCCESS"
REJECT_SAMPLES_PER_REASON = 8
VERSIONED = ("speechcurate", "apache-beam", "faster-whisper", "ctranslate2", "openai-whisper",
             "webrtcvad-wheels", "fasttext-predict", "webdataset", "pyarrow", "polars")


# --------------------------------------------------------------------------- DoFns


class LoadLocalItem(beam.DoFn):
    def process(self, item: LocalItem):
        rec, reject = load_item(item)
        if reject is not None:
            yield beam.pvalue.TaggedOutput(REJECTED, (reject, None))
        yield rec


def read_catalog_file(uri: str):
    """Rows of one crawl catalog file as Recordings."""
    table = pq.read_table(io.BytesIO(sio.read_bytes(uri)))
    for row in table.to_pylist():
        yield recording_from_row(row)


def read_reject_file(uri: str):
    table = pq.read_table(io.BytesIO(sio.read_bytes(uri)))
    for row in table.to_pylist():
        yield Reject(**{k: row.get(k) for k in REJECT_SCHEMA.names if row.get(k) is not None}), None


class _Progress(beam.DoFn):
    """A tqdm bar over decoded recordings (one per worker process; silent when not a TTY)."""

    def __init__(self, total: int):
        self.total = total
        self._bar = None

    def setup(self) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=self.total, desc="decode+segment", unit="rec", leave=False,
                         disable=None)

    def process(self, row):
        if self._bar is not None:
            self._bar.update(1)
        yield row

    def teardown(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _write_reject_sample(element, samples_dir: str):
    from filters.audio import encode_flac

    reason, picks = element
    for _, reject_id, audio in picks:
        sio.write_bytes_atomic(sio.join(samples_dir, reason, f"{reject_id}.flac"),
                               encode_flac(audio))


def _sample_key(pair) -> tuple[str, tuple[int, str, Any]]:
    reject, audio = pair
    digest = int.from_bytes(hashlib.sha1(reject.id.encode()).digest()[:8], "big")
    return reject.reason, (-digest, reject.id, audio)


# --------------------------------------------------------------------------- the pipeline


def build_pipeline(p: beam.Pipeline, config: RunConfig, work: str, shards_dir: str,
                   samples_dir: str, items: list[LocalItem], listing_rejects: list[Reject],
                   catalog_items: list[str], catalog_rejects: list[str], model_dir: str) -> None:
    cur = config.curate
    buckets = cur.shards.writers
    local = (p | "ListedItems" >> beam.Create(items)
             | "SpreadItems" >> beam.Reshuffle()
             | "LoadTranscripts" >> beam.ParDo(LoadLocalItem()).with_outputs(
                 REJECTED, main="recordings"))
    crawled = (p | "CatalogFiles" >> beam.Create(catalog_items)
               | "ReadCatalog" >> beam.FlatMap(read_catalog_file)
               | "SpreadCatalog" >> beam.Reshuffle())
    recordings = (local.recordings, crawled) | "AllRecordings" >> beam.Flatten()
    decoded = recordings | "DecodeAndSegment" >> beam.ParDo(
        DecodeAndSegment(cur.decode, cur.segment, lid=cur.lid)).with_outputs(
        REJECTED, RECORDINGS, META, main="segments")
    segments = decoded.segments | "TextLID" >> beam.ParDo(TextLanguageId(cur.lid))
    labelled = segments | "PseudoLabel" >> PseudoLabel(cur.asr, model_dir)
    decided = labelled.labelled | "MeasureAndDecide" >> beam.ParDo(
        MeasureAndDecide(cur.labels)).with_outputs(REJECTED, main="kept")
    grouped = {
        "segments": decided.kept | "KeySegments" >> beam.Map(
            lambda s: (stable_bucket(s.recording_id, buckets), s)),
        "meta": decoded[META] | "KeyMeta" >> beam.Map(
            lambda r: (stable_bucket(r.recording_id, buckets), r)),
    } | "GroupByRecordingBucket" >> beam.CoGroupByKey()
    by_recording = grouped | "DecideRecordings" >> beam.ParDo(
        DecideRecordings(cur.labels)).with_outputs(REJECTED, main="kept")
    written = by_recording.kept | "WriteShards" >> beam.ParDo(
        WriteShards(shards_dir, cur.shards)).with_outputs(PARTS, main="rows")

    _ = written.rows | "WriteSegmentRows" >> beam.ParDo(
        WriteRows(sio.join(work, "segments"), SEGMENT_SCHEMA))
    _ = written[PARTS] | "WritePartRows" >> beam.ParDo(WriteRows(sio.join(work, "parts"), None))
    _ = (decoded[RECORDINGS] | "Progress" >> beam.ParDo(_Progress(len(items) + 1))
         | "WriteRecordingRows" >> beam.ParDo(WriteRows(sio.join(work, "recordings"), None)))
    listed = p | "ListingRejects" >> beam.Create([(r, None) for r in listing_rejects])
    crawl_rejects = (p | "CrawlRejectFiles" >> beam.Create(catalog_rejects)
                     | "ReadCrawlRejects" >> beam.FlatMap(read_reject_file))
    rejects = (listed, crawl_rejects, local[REJECTED], decoded[REJECTED], labelled.rejected,
               decided[REJECTED], by_recording[REJECTED]) | "AllRejects" >> beam.Flatten()
    _ = (rejects | "RejectRows" >> beam.Map(lambda pair: to_reject_row(pair[0]))
         | "WriteRejectRows" >> beam.ParDo(WriteRows(sio.join(work, "rejects"), REJECT_SCHEMA)))
    _ = (rejects | "WithAudio" >> beam.Filter(lambda pair: pair[1] is not None)
         | "KeyByReason" >> beam.Map(_sample_key)
         | "SamplePerReason" >> beam.combiners.Top.PerKey(REJECT_SAMPLES_PER_REASON,
                                                          key=lambda t: (t[0], t[1]))
         | "WriteRejectSamples" >> beam.Map(_write_reject_sample, samples_dir))


# --------------------------------------------------------------------------- running


@dataclass
class Summary:
    run_dir: str
    stats: dict[str, Any]
    skipped: bool = False

    def render(self) -> str:
        s = self.stats
        lines = [f"speechcurate run: {self.run_dir}" + ("  (already complete; --force to redo)"
                                                        if self.skipped else "")]
        inp, kept = s.get("input", {}), s.get("kept", {})
        lines.append(f"  input   {inp.get('recordings', 0)} recordings, "
                     f"{inp.get('hours', 0) * 60:.1f} min decoded")
        lines.append(f"  kept    {kept.get('segments', 0)} segments from "
                     f"{kept.get('recordings', 0)} recordings, {kept.get('hours', 0) * 60:.1f} min"
                     f" in {s.get('shards', {}).get('count', 0)} shard(s)")
        langs = ", ".join(f"{k} {v['segments']} ({v['hours'] * 60:.1f} min)"
                          for k, v in s.get("languages", {}).items())
        lines.append(f"  langs   {langs or '-'}")
        reasons = s.get("rejects", {}).get("by_reason", {})
        lines.append(f"  dropped {s.get('rejects', {}).get('count', 0)}: " + (", ".join(
            f"{k}={v}" for k, v in reasons.items()) or "none"))
        wall = s.get("run", {}).get("wall_s")
        if wall is not None:
            lines.append(f"  time    {wall:.1f} s wall")
        for label, rel in (("shards", "shards/"), ("index", "manifest/shards.json"),
                           ("segments", "manifest/segments.parquet"),
                           ("rejects", "manifest/rejects.parquet"), ("stats", "stats.json"),
                           ("report", "report/index.html")):
            lines.append(f"  {label:<9}{sio.join(self.run_dir, rel)}")
        return "\n".join(lines)


def _versions() -> dict[str, str]:
    out = {}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def config_hash(config: RunConfig) -> str:
    return hashlib.sha256(json.dumps(dataclasses.asdict(config), sort_keys=True,
                                     default=str).encode()).hexdigest()


def list_sources(config: RunConfig) -> tuple[list[LocalItem], list[Reject]]:
    """List every local source on the launcher; a missing directory fails here, by name."""
    items: list[LocalItem] = []
    rejects: list[Reject] = []
    for i, src in enumerate(config.sources):
        if not isinstance(src, LocalSourceConfig):
            continue
        try:
            if src.path:
                items.extend(list_directory(src))
            else:
                found, bad = list_manifest(src)
                items.extend(found)
                rejects.extend(bad)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace(f"sources[{src.name}]", f"sources[{i}]")) from exc
    return items, rejects


def _clear(uri: str) -> None:
    fs, path = sio.fs_and_path(uri)
    if fs.exists(path):
        fs.rm(path, recursive=True)


def assume_english_for_english_only_asr(config: RunConfig) -> RunConfig:
    """An English-only model (tiny.en) detects no language, so segments without a transcript
    would all end as ``lid_low_confidence``; the model's language is the fallback instead."""
    cur = config.curate
    if cur.labels.fallback_language or is_multilingual(cur.asr.model):
        return config
    log.info("ASR model %s is English-only: segments with no language evidence count as English",
             cur.asr.model)
    labels = replace(cur.labels, fallback_language="en")
    return replace(config, curate=replace(cur, labels=labels))


def run_curate(config: RunConfig, out: str, beam_args: list[str] | None = None,
               asr_model: str | None = None, force: bool = False) -> Summary:
    """Run the curate phase into ``out``; returns a summary (also written as stats.json)."""
    out = out.rstrip("/")
    if asr_model:
        config = replace(config, curate=replace(config.curate, asr=replace(
            config.curate.asr, model=asr_model)))
    if sio.exists(sio.join(out, "manifest", SUCCESS)) and not force:
        stats = json.loads(sio.read_bytes(sio.join(out, "stats.json")))
        return Summary(out, stats, skipped=True)
    model_dir = str(resolve_model(config.curate.asr.model))
    config = assume_english_for_english_only_asr(config)
    items, listing_rejects = list_sources(config)
    catalog_items = sio.glob(sio.join(out, "catalog", "items-*.parquet"))
    catalog_rejects = sio.glob(sio.join(out, "catalog", "rejects-*.parquet"))
    if not items and not catalog_items and not listing_rejects:
        raise ConfigError("sources: found no audio to curate (check the paths and "
                          "`extensions`, or run `speechcurate crawl` first for web sources)")
    log.info("curating %d local item(s) and %d catalog file(s) with Whisper %s",
             len(items), len(catalog_items), config.curate.asr.model)
    work, shards_dir = sio.join(out, "_work"), sio.join(out, "shards")
    samples_dir = sio.join(out, "samples", "rejected")
    for stale in (work, shards_dir, sio.join(out, "manifest"), sio.join(out, "samples")):
        _clear(stale)
    sio.makedirs(shards_dir)
    options = PipelineOptions(beam_args or [])
    runner = options.view_as(StandardOptions).runner or "DirectRunner"
    started, t0 = datetime.now(UTC), time.monotonic()
    with beam.Pipeline(options=options) as p:
        build_pipeline(p, config, work, shards_dir, samples_dir, items, listing_rejects,
                       catalog_items, catalog_rejects, model_dir)
    segments = unique_rows(read_rows(sio.join(work, "segments")), "segment_id")
    rejects = unique_rows(read_rows(sio.join(work, "rejects")), "id")
    recordings = unique_rows(read_rows(sio.join(work, "recordings")), "recording_id")
    shardlist = finalize_shards(shards_dir, read_rows(sio.join(work, "parts")), segments)
    run_info = {
        "started_at": started.isoformat(), "finished_at": datetime.now(UTC).isoformat(),
        "wall_s": round(time.monotonic() - t0, 2), "runner": runner,
        "config_hash": config_hash(config), "asr_model": config.curate.asr.model,
        "compute_type": config.curate.asr.compute_type, "versions": _versions(),
    }
    stats = compute_stats(recordings, segments, rejects, shardlist, run_info)
    write_manifests(out, segments, rejects, shardlist, stats)
    _clear(work)
    _build_report(out)
    sio.write_text_atomic(sio.join(out, "manifest", SUCCESS), started.isoformat())
    return Summary(out, stats)


def _build_report(out: str) -> None:
    try:
        from pipelines.report import build_report
    except ImportError:
        log.info("report module not available; skipping the HTML report")
        return
    build_report(out)


def main(argv: list[str] | None = None) -> int:
    """Beam entry point: ``python -m pipelines.curate --config C --out RUN [beam options]``."""
    from pipelines.config import load_config

    parser = argparse.ArgumentParser(prog="python -m pipelines.curate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="sources.yaml")
    parser.add_argument("--out", required=True, help="run directory (path or fsspec URL)")
    parser.add_argument("--asr-model", default=None, help="tiny.en | base | CTranslate2 dir")
    parser.add_argument("--force", action="store_true", help="redo a completed run")
    args, beam_args = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        summary = run_curate(load_config(args.config), args.out, beam_args, args.asr_model,
                             args.force)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    print(summary.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["RECORDING_SCHEMA", "Recording", "Summary", "build_pipeline", "run_curate"]
