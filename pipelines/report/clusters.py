"""The Dedup section's clusters: the largest audio and text clusters of the plan, each with a
few members to listen to (kept ones from the shards, dropped ones from the analysis packs).

Reads the plan's thin columns (``dedup_cluster``, keep, reason, audio reference) once; only the
shown members' audio and text are fetched, so the cost does not grow with the run.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

import polars as pl

from pipelines import io as sio
from pipelines.report import audio, runfiles
from schemas.keys import shard_name

log = logging.getLogger(__name__)

PLAN_THIN_COLUMNS = ("segment_id", "recording_id", "source_name", "duration", "keep",
                     "reject_reason", "dedup_cluster", "shard_index", "audio_pack",
                     "audio_offset", "audio_bytes")
TEXT_LIMIT = 300


def read_plan(run_dir: str) -> pl.DataFrame | None:
    """The clustered candidates of the plan (None when the run has no plan)."""
    plan = runfiles.read_parquet_columns(sio.join(run_dir, "plan", "segments.parquet"),
                                         PLAN_THIN_COLUMNS)
    if plan is None or "dedup_cluster" not in plan.columns:
        return None
    return plan.filter(pl.col("dedup_cluster").fill_null("") != "")


def _analysis_dir(run_dir: str, stats: dict[str, Any]) -> str:
    source = (stats.get("analysis") or {}).get("source")  # a refilter reads its source's packs
    return sio.join(source or run_dir, "analysis")


def _pack_bytes(analysis_dir: str, pack: str, offset: int, size: int) -> bytes | None:
    if not pack or size <= 0 or size > 16 << 20:
        return None
    fs, path = sio.fs_and_path(sio.join(analysis_dir, "audio", pack))
    try:
        with fs.open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read(size)
    except OSError as exc:
        log.info("report: cannot read %s: %s", pack, exc)
        return None


def clusters(run_dir: str, stats: dict[str, Any], plan: pl.DataFrame | None, per_kind: int = 3,
             members: int = 3, max_seconds: float = 6.0) -> list[dict[str, Any]]:
    """The ``per_kind`` largest audio and text clusters, each with up to ``members`` members
    (kept first) and their audio as data URIs."""
    if plan is None or plan.height == 0:
        return []
    exploded = (plan.with_columns(pl.col("dedup_cluster").str.split(" ").alias("cluster"))
                .explode("cluster"))
    sizes = exploded.group_by("cluster").agg(pl.len().alias("size"),
                                             pl.col("keep").sum().alias("kept"))
    picked = []
    for prefix, kind in (("a-", "audio"), ("t-", "text")):
        top = (sizes.filter(pl.col("cluster").str.starts_with(prefix) & (pl.col("size") > 1))
               .sort(["size", "cluster"], descending=[True, False]).head(per_kind))
        picked.extend((kind, r["cluster"], r["size"], r["kept"]) for r in top.iter_rows(named=True))
    shown: dict[str, list[dict[str, Any]]] = {}
    for _kind, cid, _size, _kept in picked:
        rows = (exploded.filter(pl.col("cluster") == cid)
                .sort(["keep", "segment_id"], descending=[True, False]).head(members))
        shown[cid] = rows.to_dicts()
    ids = {r["segment_id"] for rows in shown.values() for r in rows}
    texts = runfiles.read_rows(sio.join(run_dir, "plan", "segments.parquet"), ids, "segment_id")
    text_of = {r["segment_id"]: r for r in texts.iter_rows(named=True)} if texts.height else {}
    analysis_dir = _analysis_dir(run_dir, stats)
    wanted: dict[str, list[str]] = defaultdict(list)
    for rows in shown.values():
        for r in rows:
            if r["keep"] and r["shard_index"] is not None and r["shard_index"] >= 0:
                wanted[shard_name(r["shard_index"])].append(f"{r['segment_id']}.flac")
    in_shards: dict[tuple[str, str], bytes] = {}
    for shard, names in sorted(wanted.items()):
        for name, blob in runfiles.read_shard_members(run_dir, shard, names).items():
            in_shards[(shard, name)] = blob
    out = []
    for kind, cid, size, kept in picked:
        shown_members = []
        for r in shown[cid]:
            if r["keep"] and (r["shard_index"] or -1) >= 0:
                blob = in_shards.get((shard_name(r["shard_index"]), f"{r['segment_id']}.flac"))
            else:
                blob = _pack_bytes(analysis_dir, r["audio_pack"] or "", r["audio_offset"] or 0,
                                   r["audio_bytes"] or 0)
            full = text_of.get(r["segment_id"], {})
            text = full.get("text") or full.get("source_text") or full.get("pseudo_label") or ""
            shown_members.append({
                "id": r["segment_id"], "keep": bool(r["keep"]),
                "reason": r["reject_reason"] or "", "source_name": r["source_name"] or "",
                "duration": r["duration"], "text": text[:TEXT_LIMIT],
                "detail": (full.get("reject_detail") or "")[:TEXT_LIMIT],
                "audio": audio.data_uri(blob, max_seconds=max_seconds),
            })
        out.append({"kind": kind, "cluster": cid, "size": int(size), "kept": int(kept),
                    "members": shown_members})
    return out
