"""Listenable samples: seeded random kept segments and dropped segments per reason, each with
its text, labels, scores and an embedded audio clip.

Only the sampled ids are looked up in full (one streaming pass over each manifest) and only the
shards that hold a sampled segment are opened, so the cost does not grow with the run.
"""

from __future__ import annotations

import posixpath
import random
from collections import defaultdict
from typing import Any

from pipelines.report import aggregate, audio, runfiles

SCORE_COLUMNS = ("language_prob", "avg_logprob", "no_speech_prob", "compression_ratio", "cer",
                 "snr_db", "dnsmos", "loudness_lufs", "chars_per_second", "speech_ratio")
TEXT_LIMIT = 600  # characters of any text shown per sample


def _clip(text: Any) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= TEXT_LIMIT else s[:TEXT_LIMIT] + "…"


def kept_samples(data: runfiles.RunData, n: int, seed: int,
                 max_seconds: float) -> list[dict[str, Any]]:
    """``n`` seeded kept segments with their audio read from the shards."""
    return kept_clips(data, aggregate.sample_ids(data.segments, "segment_id", n, seed),
                      max_seconds)


def kept_clips(data: runfiles.RunData, ids: list[str],
               max_seconds: float) -> list[dict[str, Any]]:
    """The kept segments ``ids`` with their audio read from the shards (sorted by id)."""
    rows = runfiles.read_rows(data.segments_uri, ids, "segment_id")
    if rows.height == 0:
        return []
    rows = rows.sort("segment_id")
    wanted: dict[str, list[str]] = defaultdict(list)
    for row in rows.iter_rows(named=True):
        if row.get("shard") and row.get("key"):
            wanted[row["shard"]].append(f"{row['key']}.flac")
    found: dict[tuple[str, str], bytes] = {}
    for shard, names in sorted(wanted.items()):
        for name, blob in runfiles.read_shard_members(data.run_dir, shard, names).items():
            found[(shard, name)] = blob
    out = []
    for row in rows.iter_rows(named=True):
        blob = found.get((row.get("shard") or "", f"{row.get('key')}.flac"))
        out.append({
            "id": row["segment_id"],
            "source_name": row.get("source_name") or "",
            "page_url": row.get("page_url") or "",
            "language": row.get("language") or "",
            "label_source": row.get("label_source") or "",
            "duration": row.get("duration"),
            "text": _clip(row.get("text")),
            "source_text": _clip(row.get("source_text")),
            "pseudo_label": _clip(row.get("pseudo_label")),
            "scores": {c: row.get(c) for c in SCORE_COLUMNS if row.get(c) is not None},
            "where": f"{row.get('shard')}/{row.get('key')}.flac",
            "audio": audio.data_uri(blob, max_seconds=max_seconds),
        })
    return out


def reject_samples(
    data: runfiles.RunData, rows_per_reason: int, audio_per_reason: int, seed: int,
    max_seconds: float,
) -> dict[str, dict[str, Any]]:
    """Per reason: a seeded sample of reject rows and of the audio kept under
    ``RUN/samples/rejected/<reason>/`` (reasons dropped before audio existed have none)."""
    row_ids = aggregate.sample_ids_by(data.rejects, "id", "reason", rows_per_reason, seed)
    audio_files = runfiles.list_reject_samples(data.run_dir)
    rng = random.Random(seed)
    picked_audio: dict[str, list[str]] = {}
    for reason, uris in sorted(audio_files.items()):
        uris = sorted(uris)
        picked_audio[reason] = sorted(rng.sample(uris, min(audio_per_reason, len(uris))))

    def stem(uri: str) -> str:
        return posixpath.basename(uri).split(".", 1)[0]

    all_ids = {i for ids in row_ids.values() for i in ids}
    all_ids |= {stem(u) for uris in picked_audio.values() for u in uris}
    full = runfiles.read_rows(data.rejects_uri, all_ids, "id")
    by_id: dict[str, dict[str, Any]] = {}
    if full.height:
        for row in full.iter_rows(named=True):
            by_id.setdefault(row["id"], row)

    out: dict[str, dict[str, Any]] = {}
    for reason in sorted(set(row_ids) | set(picked_audio)):
        rows = []
        for rid in row_ids.get(reason, []):
            r = by_id.get(rid, {"id": rid})
            rows.append({k: (_clip(v) if isinstance(v, str) else v) for k, v in r.items()})
        clips = []
        for uri in picked_audio.get(reason, []):
            r = by_id.get(stem(uri), {})
            clips.append({
                "id": stem(uri),
                "detail": _clip(r.get("detail")),
                "source_name": r.get("source_name") or "",
                "language": r.get("language") or "",
                "duration": r.get("duration"),
                "text": _clip(r.get("text")),
                "pseudo_label": _clip(r.get("pseudo_label")),
                "audio": audio.data_uri(runfiles.read_bytes(uri), max_seconds=max_seconds),
            })
        out[reason] = {"rows": rows, "clips": clips}
    return out



def threshold_samples(data: runfiles.RunData, thresholds: dict[str, Any], per_side: int,
                      max_seconds: float) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Per measure with a threshold: the kept and the dropped segments closest to it, to listen
    to what the cut separates. Kept audio comes from the shards; dropped audio from the reject
    samples publish wrote (``RUN/samples/rejected/``), so only those can be offered."""
    reject_audio = {posixpath.basename(u).split(".", 1)[0]: u
                    for uris in runfiles.list_reject_samples(data.run_dir).values()
                    for u in uris}
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for column, lines in sorted(thresholds.items()):
        if not lines:
            continue
        value = float(lines[0][0])
        kept_ids = aggregate.nearest_ids(data.segments, column, value, per_side)
        kept = kept_clips(data, kept_ids, max_seconds) if kept_ids else []
        dropped_ids = aggregate.nearest_ids(data.plan_dropped, column, value, per_side,
                                            ids=reject_audio)
        dropped = []
        if dropped_ids and data.plan_dropped is not None:
            values = dict(zip(data.plan_dropped["segment_id"], data.plan_dropped[column],
                              strict=True))
            reasons = dict(zip(data.plan_dropped["segment_id"],
                               data.plan_dropped["reject_reason"], strict=True))
            for sid in dropped_ids:
                dropped.append({
                    "id": sid, "reason": reasons.get(sid) or "", "value": values.get(sid),
                    "audio": audio.data_uri(runfiles.read_bytes(reject_audio[sid]),
                                            max_seconds=max_seconds)})
        for clip in kept:
            clip["value"] = clip["scores"].get(column)
        if kept or dropped:
            out[column] = {"kept": kept, "dropped": dropped}
    return out
