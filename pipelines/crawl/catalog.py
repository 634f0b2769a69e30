"""The crawl's persistent output: content-addressed blobs and Parquet catalog files.

Layout under RUN (a local path or fsspec URL), read by curate:
``raw/<sha256[:2]>/<sha256>``, ``catalog/items-*.parquet`` (RECORDING_SCHEMA + crawl columns),
``catalog/rejects-*.parquet`` (REJECT_SCHEMA), ``catalog/_SUCCESS``.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pyarrow as pa

from schemas.arrow import RECORDING_SCHEMA, reject_row
from schemas.keys import recording_id_for
from schemas.reasons import Stage
from schemas.records import Reject

EXTRA_FIELDS = [
    ("http_status", pa.int32()),
    ("etag", pa.string()),
    ("last_modified", pa.string()),
    ("content_length", pa.int64()),
    ("media_type", pa.string()),
    ("transcript_url", pa.string()),
    ("final_url", pa.string()),
    ("transcript_markup_labels", pa.int32()),  # labels whose markup was removed (plain text)
]
CATALOG_SCHEMA = pa.schema(list(RECORDING_SCHEMA) + [pa.field(n, t) for n, t in EXTRA_FIELDS])


def raw_uri(run: str, sha256: str) -> str:
    from pipelines.io import join

    return join(run, "raw", sha256[:2], sha256)


def catalog_dir(run: str) -> str:
    from pipelines.io import join

    return join(run, "catalog")


def store_blob(run: str, data: bytes) -> tuple[str, str]:
    """Write ``data`` under its sha256 (once); return (sha256, uri)."""
    from pipelines.io import exists, write_bytes_atomic

    sha = hashlib.sha256(data).hexdigest()
    uri = raw_uri(run, sha)
    if not exists(uri):
        write_bytes_atomic(uri, data)
    return sha, uri


def crawl_reject(url: str, reason: str, detail: str = "", *, source_name: str = "",
                 page_url: str = "", recording_id: str = "") -> dict[str, Any]:
    """A REJECT_SCHEMA row for something the crawl dropped (keyed by its canonical URL)."""
    rid = recording_id_for(url)
    return reject_row(Reject(
        id=rid, stage=str(Stage.CRAWL), reason=str(reason), detail=detail[:2000],
        recording_id=recording_id or rid, source_uri=url, source_name=source_name,
        page_url=page_url,
    ))


def write_table(uri: str, rows: list[dict[str, Any]], schema: pa.Schema) -> None:
    """Write rows as one Parquet file, atomically (temp name, then move)."""
    import pyarrow.parquet as pq

    from pipelines.io import write_bytes_atomic

    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), buf)
    write_bytes_atomic(uri, buf.getvalue())


def list_files(run: str, prefix: str) -> list[str]:
    from pipelines.io import glob, join

    return glob(join(catalog_dir(run), f"{prefix}-*.parquet"))


def read_rows(run: str, prefix: str = "items") -> list[dict[str, Any]]:
    """All rows of the catalog's ``items`` (or ``rejects``) files."""
    import pyarrow.parquet as pq

    from pipelines.io import read_bytes

    rows: list[dict[str, Any]] = []
    for uri in list_files(run, prefix):
        rows.extend(pq.read_table(io.BytesIO(read_bytes(uri))).to_pylist())
    return rows
