"""Arrow schemas for the manifests and the crawl catalog, and record <-> row conversion.

The schemas are written out field by field (not derived by reflection) so a change to a record
that would silently change a manifest's columns fails the schema tests instead.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from schemas.records import Cue, Recording, Reject, Segment, Verdict

CUE_TYPE = pa.struct([("start", pa.float64()), ("end", pa.float64()), ("text", pa.string())])
VERDICT_TYPE = pa.struct(
    [("filter", pa.string()), ("passed", pa.bool_()), ("reason", pa.string()),
     ("detail", pa.string()), ("value", pa.float64())]
)
# A PII span of a label as time (s, segment-relative), its type and the action taken: never the
# PII text (filters/redaction.py).
PII_SPAN_TYPE = pa.struct([("start", pa.float64()), ("end", pa.float64()), ("type", pa.string()),
                           ("action", pa.string())])
LANG_PROB_TYPE = pa.struct([("language", pa.string()), ("prob", pa.float64())])

RECORDING_SCHEMA = pa.schema(
    [
        ("recording_id", pa.string()),
        ("source_uri", pa.string()),
        ("audio_uri", pa.string()),
        ("source_name", pa.string()),
        ("page_url", pa.string()),
        ("sha256", pa.string()),
        ("codec", pa.string()),
        ("duration", pa.float64()),
        ("sample_rate", pa.int32()),
        ("channels", pa.int32()),
        ("transcript_text", pa.string()),
        ("transcript_format", pa.string()),
        ("cues", pa.list_(CUE_TYPE)),
        ("declared_language", pa.string()),
        ("licence", pa.string()),
        ("title", pa.string()),
        ("fetched_at", pa.string()),
    ]
)

SEGMENT_SCHEMA = pa.schema(
    [
        ("segment_id", pa.string()),
        ("recording_id", pa.string()),
        ("index", pa.int32()),
        ("source_uri", pa.string()),
        ("source_name", pa.string()),
        ("page_url", pa.string()),
        ("licence", pa.string()),
        ("declared_language", pa.string()),
        ("start", pa.float64()),
        ("end", pa.float64()),
        ("duration", pa.float64()),
        ("source_text", pa.string()),
        ("source_text_kind", pa.string()),
        ("pseudo_label", pa.string()),
        ("text", pa.string()),
        ("label_source", pa.string()),
        ("task", pa.string()),
        ("language", pa.string()),
        ("language_prob", pa.float64()),
        ("text_language", pa.string()),
        ("text_language_prob", pa.float64()),
        ("audio_language", pa.string()),
        ("audio_language_prob", pa.float64()),
        ("audio_language_probs", pa.list_(LANG_PROB_TYPE)),
        ("avg_logprob", pa.float64()),
        ("no_speech_prob", pa.float64()),
        ("compression_ratio", pa.float64()),
        ("cer", pa.float64()),
        ("wer", pa.float64()),
        ("speech_ratio", pa.float64()),
        ("snr_db", pa.float64()),
        ("clipping_ratio", pa.float64()),
        ("loudness_lufs", pa.float64()),
        ("chars_per_second", pa.float64()),
        ("dnsmos", pa.float64()),
        ("pii_spans", pa.list_(PII_SPAN_TYPE)),
        ("dedup_cluster", pa.string()),
        ("verdicts", pa.list_(VERDICT_TYPE)),
        ("shard", pa.string()),
        ("key", pa.string()),
        ("dnsmos_sig", pa.float64()),
        ("dnsmos_bak", pa.float64()),
        ("bandwidth_hz", pa.float64()),
        ("dc_offset", pa.float64()),
        ("silence_ratio", pa.float64()),
        ("peak_dbfs", pa.float64()),
        ("quality_tier", pa.string()),
        ("label_coverage", pa.float64()),
        ("label_uncovered_s", pa.float64()),
        ("anonymise_alpha", pa.float64()),
        ("translation_score", pa.float64()),
        ("translation_chrf", pa.float64()),
    ]
)

# RUN/ssl/segments.parquet and each ssl/ sample's JSON (filters/ssl_speech.py): provenance,
# timing and audio measures of label-untrusted speech; no text of any kind (no transcript,
# pseudo-label, reject detail or verdict).
# The names are the allowlist; the types are the labelled manifest's. `label_reject_reason` (why
# the labelled corpus dropped it) is its own; `shard` is in segments.parquet only, like the
# labelled manifest.
SSL_SEGMENT_SCHEMA = pa.schema([
    pa.field(name, pa.string()) if name == "label_reject_reason" else SEGMENT_SCHEMA.field(name)
    for name in ("segment_id", "key", "recording_id", "index", "source_uri", "source_name",
                 "page_url", "licence", "declared_language", "start", "end", "duration",
                 "audio_language", "audio_language_prob", "label_reject_reason",
                 "speech_ratio", "snr_db", "dnsmos", "bandwidth_hz", "clipping_ratio",
                 "loudness_lufs", "anonymise_alpha", "shard")
])

REJECT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("stage", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("recording_id", pa.string()),
        ("source_uri", pa.string()),
        ("source_name", pa.string()),
        ("page_url", pa.string()),
        ("start", pa.float64()),
        ("end", pa.float64()),
        ("duration", pa.float64()),
        ("language", pa.string()),
        ("text", pa.string()),
        ("pseudo_label", pa.string()),
    ]
)


def recording_row(rec: Recording) -> dict[str, Any]:
    row = {name: getattr(rec, name) for name in RECORDING_SCHEMA.names if name != "cues"}
    row["cues"] = [{"start": c.start, "end": c.end, "text": c.text} for c in rec.cues]
    return row


def recording_from_row(row: dict[str, Any]) -> Recording:
    """Build a Recording from a catalog row; unknown columns (crawl extras) are ignored."""
    kwargs = {name: row[name] for name in RECORDING_SCHEMA.names if name in row and name != "cues"}
    kwargs = {k: v for k, v in kwargs.items() if v is not None or k == "transcript_text"}
    cues = tuple(Cue(float(c["start"]), float(c["end"]), c["text"]) for c in row.get("cues") or ())
    return Recording(cues=cues, **kwargs)


def segment_row(seg: Segment) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in SEGMENT_SCHEMA.names:
        if name == "duration":
            row[name] = seg.duration
        elif name == "verdicts":
            row[name] = [
                {"filter": v.filter, "passed": v.passed, "reason": v.reason, "detail": v.detail,
                 "value": v.value}
                for v in seg.verdicts
            ]
        elif name == "pii_spans":
            row[name] = [{"start": s, "end": e, "type": t, "action": a}
                         for s, e, t, a in seg.pii_spans]
        elif name == "audio_language_probs":
            row[name] = [{"language": lang, "prob": p} for lang, p in seg.audio_language_probs]
        else:
            row[name] = getattr(seg, name)
    return row


def segment_from_row(row: dict[str, Any]) -> Segment:
    """Rebuild a Segment (without audio) from a manifest row."""
    skip = {"duration", "verdicts", "pii_spans", "audio_language_probs"}
    kwargs = {k: row[k] for k in SEGMENT_SCHEMA.names if k in row and k not in skip}
    return Segment(
        verdicts=tuple(
            Verdict(v["filter"], v["passed"], v["reason"], v["detail"], v.get("value"))
            for v in row.get("verdicts") or ()
        ),
        pii_spans=tuple((s["start"], s["end"], s["type"], s.get("action") or "")
                        for s in row.get("pii_spans") or ()),
        audio_language_probs=tuple(
            (p["language"], p["prob"]) for p in row.get("audio_language_probs") or ()
        ),
        **kwargs,
    )


def reject_row(rej: Reject) -> dict[str, Any]:
    return {name: getattr(rej, name) for name in REJECT_SCHEMA.names}


def table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """A table with exactly ``schema``'s columns, empty when there are no rows."""
    return pa.Table.from_pylist(rows, schema=schema)
