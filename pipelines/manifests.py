"""Finishing a run on the launcher: ``stats.json`` (the funnel) and the manifests
(``shards.json``, ``segments.parquet``, ``rejects.parquet``).

Everything here reads thin rows only (no audio), so it stays cheap at any scale.
"""

from __future__ import annotations

import io
import json
import posixpath
from collections import defaultdict
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from filters.translation import summarise_pairs
from pipelines import io as sio
from schemas.arrow import REJECT_SCHEMA, SEGMENT_SCHEMA
from schemas.reasons import Stage

RECORDING_STAGES = (Stage.SOURCE, Stage.CRAWL, Stage.DECODE)
ANALYSIS_STAGES = (Stage.SEGMENT, Stage.ASR)  # segment stages of analyse, before decide's filters


def _unique(rows: list[dict[str, Any]], key: str | tuple[str, ...]) -> list[dict[str, Any]]:
    keys = (key,) if isinstance(key, str) else key
    seen: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(tuple(row[k] or "" for k in keys), row)
    return [seen[k] for k in sorted(seen)]


# Rows per row group of RUN/plan/segments.parquet: a publish worker reads the row groups whose
# segment_id range meets its shard's (pipelines/stages/publish.py ReadShardPlan), so a shard
# costs a few of these rows read, not the whole plan.
PLAN_ROW_GROUP = 32768


def write_parquet(uri: str, rows: list[dict[str, Any]], schema: pa.Schema,
                  row_group_size: int | None = None) -> None:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), buf, row_group_size=row_group_size)
    sio.write_bytes_atomic(uri, buf.getvalue())


def _hours(seconds: float) -> float:
    return round(seconds / 3600.0, 6)


def compute_stats(recordings: list[dict[str, Any]], segments: list[dict[str, Any]],
                  rejects: list[dict[str, Any]], shardlist: list[dict[str, Any]],
                  run_info: dict[str, Any],
                  decide_stages: tuple[str, ...] | list[str] = (Stage.LID, Stage.LABEL),
                  ) -> dict[str, Any]:
    """Counts and hours entering and leaving each stage, by reason, language and source.

    The funnel lists the stages that ran: analyse's, then ``decide_stages`` (the active filters'
    stages, from the registry) in order."""
    rec_rejects = [r for r in rejects if r["stage"] in RECORDING_STAGES]
    seg_level = [r for r in rejects if r["start"] is not None]
    no_speech = [r for r in rejects if r["stage"] == Stage.SEGMENT and r["start"] is None]
    transcript = [r for r in rejects if r["stage"] == Stage.TRANSCRIPT]

    def tally(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = defaultdict(lambda: {"count": 0, "hours": 0.0})
        for r in rows:
            out[r["reason"]]["count"] += 1
            out[r["reason"]]["hours"] += r["duration"] or 0.0
        return {k: {"count": int(v["count"]), "hours": _hours(v["hours"])}
                for k, v in sorted(out.items())}

    decoded_s = sum(r["duration"] for r in recordings)
    n_in = len(recordings) + len(rec_rejects)
    stages = []
    for stage in RECORDING_STAGES:
        rows = [r for r in rec_rejects if r["stage"] == stage]
        if rows or stage == Stage.DECODE:
            stages.append({"stage": str(stage), "unit": "recordings", "rejected": tally(rows)})
    stages[-1]["in"] = {"count": n_in, "hours": _hours(decoded_s)}
    stages[-1]["out"] = {"count": len(recordings), "hours": _hours(decoded_s)}
    created = [*segments, *seg_level]
    cur_n, cur_s = len(created), sum((r["end"] - r["start"]) for r in created)
    stages.append({
        "stage": str(Stage.SEGMENT), "unit": "segments",
        "in": {"count": len(recordings), "hours": _hours(decoded_s)},
        "rejected": tally(no_speech + [r for r in seg_level if r["stage"] == Stage.SEGMENT]),
    })
    too_short = [r for r in seg_level if r["stage"] == Stage.SEGMENT]
    cur_n -= len(too_short)
    cur_s -= sum(r["duration"] for r in too_short)
    stages[-1]["out"] = {"count": cur_n, "hours": _hours(cur_s)}
    for stage in [ANALYSIS_STAGES[1], *[x for x in decide_stages if x not in ANALYSIS_STAGES]]:
        rows = [r for r in seg_level if r["stage"] == stage]
        entry = {"stage": str(stage), "unit": "segments", "in": {"count": cur_n,
                                                                  "hours": _hours(cur_s)}}
        cur_n -= len(rows)
        cur_s -= sum(r["duration"] for r in rows)
        entry["out"] = {"count": cur_n, "hours": _hours(cur_s)}
        entry["rejected"] = tally(rows)
        stages.append(entry)
    by_source: dict[str, dict[str, float]] = defaultdict(lambda: {"recordings": 0, "hours": 0.0})
    for r in recordings + rec_rejects:
        by_source[r["source_name"]]["recordings"] += 1
        by_source[r["source_name"]]["hours"] += r["duration"] or 0.0
    languages: dict[str, dict[str, float]] = defaultdict(lambda: {"segments": 0, "hours": 0.0})
    for s in segments:
        languages[s["language"] or "unknown"]["segments"] += 1
        languages[s["language"] or "unknown"]["hours"] += s["duration"]
    by_reason: dict[str, int] = defaultdict(int)
    for r in rejects:
        by_reason[r["reason"]] += 1
    return {
        "run": run_info,
        "input": {"recordings": n_in, "hours": _hours(decoded_s), "sources": {
            k: {"recordings": int(v["recordings"]), "hours": _hours(v["hours"])}
            for k, v in sorted(by_source.items())}},
        "stages": stages,
        "transcripts": {"rejected": tally(transcript)},
        "kept": {"segments": len(segments), "hours": _hours(sum(s["duration"] for s in segments)),
                 "recordings": len({s["recording_id"] for s in segments})},
        "rejects": {"count": len(rejects), "by_reason": dict(sorted(by_reason.items()))},
        "shards": {"count": len(shardlist), "bytes": sum(s["filesize"] for s in shardlist)},
        "languages": {k: {"segments": int(v["segments"]), "hours": _hours(v["hours"])}
                      for k, v in sorted(languages.items())},
        "sources_quality": sources_quality(recordings, segments, rejects),
        "privacy": privacy_stats(segments, rejects),
        "translations": summarise_pairs(segments, rejects),
    }


def privacy_stats(segments: list[dict[str, Any]], rejects: list[dict[str, Any]]
                  ) -> dict[str, Any]:
    """PII found and what was done (``curate.privacy``): spans by type and action in the kept
    segments, the seconds of their words (the audio edits add the margin), and the segments
    dropped with reason ``pii``. Counts only: no PII value is ever written here."""
    spans: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seconds: dict[str, float] = defaultdict(float)
    with_pii = 0
    for s in segments:
        found = s.get("pii_spans") or []
        with_pii += bool(found)
        for span in found:
            spans[span["type"]][span.get("action") or ""] += 1
            seconds[span.get("action") or ""] += max(0.0, span["end"] - span["start"])
    dropped = [r for r in rejects if r["reason"] == Stage.PII]
    return {
        "segments_with_pii": with_pii,
        "spans": {t: dict(sorted(a.items())) for t, a in sorted(spans.items())},
        "seconds": {a: round(v, 3) for a, v in sorted(seconds.items())},
        "dropped": {"segments": len(dropped),
                    "hours": _hours(sum(r["duration"] or 0.0 for r in dropped))},
    }


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 3) if present else None


def _shares(rows: list[dict[str, Any]], column: str) -> dict[str, float]:
    """Share of ``rows``' hours by ``column``'s value (empty values as "none")."""
    total = sum(r["duration"] for r in rows) or 1.0
    out: dict[str, float] = defaultdict(float)
    for r in rows:
        out[r.get(column) or "none"] += r["duration"]
    return {k: round(v / total, 4) for k, v in sorted(out.items())}


def sources_quality(recordings: list[dict[str, Any]], segments: list[dict[str, Any]],
                    rejects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per source: hours in (decoded) and kept, drops by reason, mean DNSMOS OVRL and blind SNR
    of what was kept, and the kept hours' shares by quality tier and label source; so a user
    sees which sources are worth crawling."""
    names = sorted({r["source_name"] or "" for r in (*recordings, *segments, *rejects)})
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        kept = [s for s in segments if (s["source_name"] or "") == name]
        dropped: dict[str, dict[str, float]] = defaultdict(lambda: {"count": 0, "hours": 0.0})
        for r in rejects:
            if (r["source_name"] or "") == name:
                dropped[r["reason"]]["count"] += 1
                dropped[r["reason"]]["hours"] += r["duration"] or 0.0
        hours_in = sum(r["duration"] or 0.0 for r in recordings
                       if (r["source_name"] or "") == name)
        hours_kept = sum(s["duration"] for s in kept)
        out[name] = {
            "hours_in": _hours(hours_in),
            "hours_kept": _hours(hours_kept),
            "kept_share": round(hours_kept / hours_in, 4) if hours_in else None,
            "segments_kept": len(kept),
            "dropped": {k: {"count": int(v["count"]), "hours": _hours(v["hours"])}
                        for k, v in sorted(dropped.items())},
            "mean_dnsmos": _mean([s.get("dnsmos") for s in kept]),
            "mean_snr_db": _mean([s.get("snr_db") for s in kept]),
            "tiers": _shares(kept, "quality_tier"),
            "label_sources": _shares(kept, "label_source"),
        }
    return out


def write_manifests(run_dir: str, segments: list[dict[str, Any]], rejects: list[dict[str, Any]],
                    shardlist: list[dict[str, Any]], stats: dict[str, Any]) -> None:
    manifest = sio.join(run_dir, "manifest")
    write_parquet(sio.join(manifest, "segments.parquet"), segments, SEGMENT_SCHEMA)
    write_parquet(sio.join(manifest, "rejects.parquet"), rejects, REJECT_SCHEMA)
    index = {"__kind__": "wids-shard-index-v1", "wids_version": 1,
             "name": posixpath.basename(run_dir.rstrip("/")), "shardlist": shardlist}
    sio.write_text_atomic(sio.join(manifest, "shards.json"), json.dumps(index, indent=2))
    sio.write_text_atomic(sio.join(run_dir, "stats.json"), json.dumps(stats, indent=2))


def write_ssl_manifests(run_dir: str, rows: list[dict[str, Any]],
                        shardlist: list[dict[str, Any]]) -> None:
    """``RUN/ssl/shards.json`` (the wids index format of ``manifest/shards.json``; urls relative
    to ``ssl/``) and ``RUN/ssl/segments.parquet``."""
    from schemas.arrow import SSL_SEGMENT_SCHEMA

    ssl = sio.join(run_dir, "ssl")
    write_parquet(sio.join(ssl, "segments.parquet"), rows, SSL_SEGMENT_SCHEMA)
    index = {"__kind__": "wids-shard-index-v1", "wids_version": 1,
             "name": f"{posixpath.basename(run_dir.rstrip('/'))}-ssl", "shardlist": shardlist}
    sio.write_text_atomic(sio.join(ssl, "shards.json"), json.dumps(index, indent=2))


def unique_rows(rows: list[dict[str, Any]],
                key: str | tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows with duplicate ``key`` (one column or several) removed, sorted by it."""
    return _unique(rows, key)


REJECT_KEY = ("id", "stage", "reason", "source_name")  # one URL rejected by two sources: 2 rows
