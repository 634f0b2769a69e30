"""Reading a run directory for the report: stats, manifests, shard members and reject samples.

Everything goes through fsspec so a report can be built from ``gs://`` as well as from a local
path. Every file is optional: an older or crashed run still gets a report that says what is
missing instead of a traceback. Manifests are read as *thin* projections (no free text), so a
million-segment run stays cheap; the text of the few sampled rows is fetched afterwards in a
streaming pass (:func:`read_rows`).
"""

from __future__ import annotations

import json
import logging
import posixpath
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines import io as sio
from pipelines.io import fs_and_path, join

log = logging.getLogger(__name__)

# Columns the aggregations need; free text is left out and read only for sampled rows.
SEGMENT_THIN_COLUMNS = (
    "segment_id", "recording_id", "source_name", "licence", "duration", "label_source",
    "language", "language_prob", "cer", "snr_db", "loudness_lufs", "chars_per_second", "dnsmos",
    "pii_spans", "dedup_cluster", "translation_score",
)
REJECT_THIN_COLUMNS = (
    "id", "stage", "reason", "detail", "source_name", "duration", "language", "dedup_cluster",
    "licence", "label_source", "snr_db", "dnsmos", "loudness_lufs", "cer", "language_prob",
    "chars_per_second",
)
# The plan's dropped rows carry every measure (the rejects manifest has few): the distributions
# overlay them and the threshold listening picks from them.
PLAN_DROPPED_COLUMNS = (
    "segment_id", "keep", "reject_reason", "duration", "snr_db", "dnsmos", "loudness_lufs",
    "chars_per_second", "cer", "language_prob",
)
# Columns that are text-derived and cheap to reduce to a length while streaming.
REJECT_TEXT_LENGTH_COLUMN = "text"


def read_json(uri: str) -> dict[str, Any] | None:
    """A JSON object, or None when the file is absent or unreadable (logged)."""
    fs, path = fs_and_path(uri)
    if not fs.exists(path):
        return None
    try:
        with fs.open(path, "rb") as fh:
            data = json.loads(fh.read().decode("utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("report: cannot read %s: %s", uri, exc)
        return None
    return data if isinstance(data, dict) else None


def read_parquet_columns(
    uri: str, wanted: Iterable[str], text_length_of: str | None = None
) -> pl.DataFrame | None:
    """The ``wanted`` columns that exist in a Parquet file, streamed batch by batch.

    ``text_length_of`` names a string column that is reduced to its character count (as
    ``<name>_chars``) on the fly, so free text never has to sit in memory. Returns None when
    the file is absent or unreadable.
    """
    fs, path = fs_and_path(uri)
    if not fs.exists(path):
        return None
    try:
        with fs.open(path, "rb") as fh:
            pf = pq.ParquetFile(fh)
            names = set(pf.schema_arrow.names)
            cols = [c for c in wanted if c in names]
            extra = [text_length_of] if text_length_of and text_length_of in names else []
            parts = []
            for batch in pf.iter_batches(columns=cols + extra, batch_size=65_536):
                tbl = pa.Table.from_batches([batch])
                if extra:
                    lengths = pc.utf8_length(tbl.column(text_length_of))
                    tbl = tbl.drop([text_length_of]).append_column(
                        f"{text_length_of}_chars", lengths
                    )
                parts.append(tbl)
            if not parts:
                schema = pf.schema_arrow
                fields = [schema.field(c) for c in cols]
                if extra:
                    fields.append(pa.field(f"{text_length_of}_chars", pa.int32()))
                return pl.from_arrow(pa.schema(fields).empty_table())
            return pl.from_arrow(pa.concat_tables(parts))
    except (OSError, pa.ArrowException, ValueError) as exc:
        log.warning("report: cannot read %s: %s", uri, exc)
        return None


def read_rows(uri: str, ids: Iterable[str], id_column: str) -> pl.DataFrame:
    """All columns of the rows whose ``id_column`` is in ``ids``, read in one streaming pass."""
    wanted = pa.array(sorted(set(ids)), type=pa.string())
    fs, path = fs_and_path(uri)
    if len(wanted) == 0 or not fs.exists(path):
        return pl.DataFrame()
    parts = []
    try:
        with fs.open(path, "rb") as fh:
            pf = pq.ParquetFile(fh)
            for batch in pf.iter_batches(batch_size=65_536):
                tbl = pa.Table.from_batches([batch])
                mask = pc.is_in(tbl.column(id_column), value_set=wanted)
                picked = tbl.filter(mask)
                if picked.num_rows:
                    parts.append(picked)
    except (OSError, pa.ArrowException, ValueError, KeyError) as exc:
        log.warning("report: cannot read rows of %s: %s", uri, exc)
        return pl.DataFrame()
    return pl.from_arrow(pa.concat_tables(parts)) if parts else pl.DataFrame()


def read_shard_members(
    run_dir: str, shard: str, names: Iterable[str], max_bytes: int = 16 << 20
) -> dict[str, bytes]:
    """The bytes of the named members of ``RUN/shards/<shard>`` (missing ones are left out)."""
    wanted = set(names)
    found: dict[str, bytes] = {}
    uri = join(run_dir, "shards", shard)
    fs, path = fs_and_path(uri)
    try:
        with fs.open(path, "rb") as fh, tarfile.open(fileobj=fh, mode="r|*") as tar:
            for member in tar:
                if member.name in wanted and member.isfile() and member.size <= max_bytes:
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        found[member.name] = extracted.read()
                if len(found) == len(wanted):
                    break
    except (OSError, tarfile.TarError) as exc:
        log.warning("report: cannot read shard %s: %s", uri, exc)
    return found


def list_reject_samples(run_dir: str) -> dict[str, list[str]]:
    """``{reason: [uri, ...]}`` of ``RUN/samples/rejected/<reason>/*``, sorted."""
    base = join(run_dir, "samples", "rejected")
    fs, path = fs_and_path(base)
    out: dict[str, list[str]] = {}
    if not fs.exists(path):
        return out
    scheme = base.split("://", 1)[0] + "://" if "://" in base else ""
    for found in sorted(fs.find(path)):
        rel = posixpath.relpath(found, path)
        parts = rel.split("/")
        if len(parts) == 2:
            uri = found if "://" in found or not scheme else scheme + found
            out.setdefault(parts[0], []).append(uri)
    return out


def read_bytes(uri: str, max_bytes: int = 16 << 20) -> bytes | None:
    """A whole small file, or None when absent, unreadable or over ``max_bytes``."""
    try:
        return sio.read_bytes(uri, max_bytes)
    except OSError:  # missing, unreadable, or InputTooLarge
        return None


@dataclass
class RunData:
    """What the report knows about one run; any part may be missing (None / empty)."""

    run_dir: str
    stats: dict[str, Any] = field(default_factory=dict)
    shards: dict[str, Any] = field(default_factory=dict)
    segments: pl.DataFrame | None = None
    rejects: pl.DataFrame | None = None
    plan_dropped: pl.DataFrame | None = None  # dropped candidates with their measures (plan)
    missing: list[str] = field(default_factory=list)

    @property
    def segments_uri(self) -> str:
        return join(self.run_dir, "manifest", "segments.parquet")

    @property
    def rejects_uri(self) -> str:
        return join(self.run_dir, "manifest", "rejects.parquet")


def load_run(run_dir: str) -> RunData:
    """Read the thin projections of a run directory; note which files were missing."""
    run_dir = run_dir.rstrip("/") or run_dir
    data = RunData(run_dir=run_dir)
    stats = read_json(join(run_dir, "stats.json"))
    if stats is None:
        data.missing.append("stats.json")
    data.stats = stats or {}
    shards = read_json(join(run_dir, "manifest", "shards.json"))
    if shards is None:
        data.missing.append("manifest/shards.json")
    data.shards = shards or {}
    data.segments = read_parquet_columns(data.segments_uri, SEGMENT_THIN_COLUMNS)
    if data.segments is None:
        data.missing.append("manifest/segments.parquet")
    data.rejects = read_parquet_columns(
        data.rejects_uri, REJECT_THIN_COLUMNS, text_length_of=REJECT_TEXT_LENGTH_COLUMN
    )
    if data.rejects is None:
        data.missing.append("manifest/rejects.parquet")
    plan = read_parquet_columns(join(run_dir, "plan", "segments.parquet"), PLAN_DROPPED_COLUMNS)
    if plan is not None and "keep" in plan.columns:
        data.plan_dropped = plan.filter(~pl.col("keep")).drop("keep")
    return data
