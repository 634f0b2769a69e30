"""The decide phase's DoFns: thin rows in, plan rows out; audio is never read.

``DecideRecording`` applies the filter registry (``filters.registry``) to one recording's
candidates; ``plan_row`` records the outcome of every candidate, kept or dropped, so the plan is
the whole story of the analysis.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import apache_beam as beam

from filters.label_decisions import TRANSCRIPT_VERDICT
from filters.registry import REGISTRY, Filter, apply_filters
from schemas.analysis import AUDIO_REF_FIELDS, PLAN_SCHEMA, words_from_row
from schemas.arrow import recording_from_row, segment_from_row, segment_row
from schemas.reasons import Reason, Stage
from schemas.records import Recording, Reject, Segment

_REF_NAMES = [name for name, _ in AUDIO_REF_FIELDS]


def plan_row(seg: Segment, ref: dict[str, Any], reject: Reject | None) -> dict[str, Any]:
    row = segment_row(seg)
    row.update({k: ref[k] for k in _REF_NAMES})
    row.update(keep=reject is None, reject_stage=reject.stage if reject else "",
               reject_reason=reject.reason if reject else "",
               reject_detail=reject.detail if reject else "", shard_index=-1, ssl=False,
               ssl_index=-1,
               audio_edits=[{"start": a, "end": b, "action": act}
                            for a, b, act in seg.audio_edits])
    if reject is not None and reject.language:
        row["language"] = reject.language
    return {name: row.get(name) for name in PLAN_SCHEMA.names}


class DecideRecording(beam.DoFn):
    """(recording_id, {"segments": rows, "recording": rows}) -> one plan row per candidate."""

    def __init__(self, configs: Any, registry: tuple[Filter, ...] = REGISTRY):
        self.configs = configs
        self.registry = registry

    def _privacy(self) -> Any:
        privacy = getattr(self.configs, "privacy", None)
        return privacy if privacy is not None and privacy.pii.enabled else None

    def setup(self) -> None:
        if self._privacy() is not None:  # the PII detector (spaCy NER) loads once per worker
            from filters.redaction import detector_for

            detector_for(self._privacy().pii)

    def process(self, element):
        rows = list(self._plan_rows(element))
        privacy = self._privacy()
        if privacy is not None and rows:
            from filters.redaction import scrub_recording

            rows = scrub_recording(rows, self._segments, privacy)
        ssl = getattr(self.configs, "ssl", None)
        if ssl is not None and ssl.enabled:  # after PII scrubbing: its edits rule a drop out
            from filters.ssl_speech import ssl_problem

            for row in rows:
                row["ssl"] = not ssl_problem(row, ssl, self.configs.quality,
                                             self.configs.lid.allowed_languages)
        yield from rows

    def _plan_rows(self, element):
        rid, groups = element
        rows = sorted(groups["segments"], key=lambda r: r["index"])
        if not rows:
            return
        recs = list(groups["recording"])
        rec = recording_from_row(recs[0]) if recs else Recording(rid, rows[0]["source_uri"], "")
        refs = {r["segment_id"]: r for r in rows}
        segments = [replace(segment_from_row(r), pseudo_words=words_from_row(r, "pseudo_words"),
                            source_words=words_from_row(r, "source_words"),
                            translation=r.get("translation"),
                            translation_text=r.get("translation_text")) for r in rows]
        self._segments = {s.segment_id: s for s in segments}
        trail: dict[str, Segment] = {}
        kept, rejects = apply_filters(rec, segments, self.configs, self.registry, trail)
        by_id = {s.segment_id: s for s in segments} | trail
        decided: set[str] = set()
        for seg in kept:
            decided.add(seg.segment_id)
            yield plan_row(seg, refs[seg.segment_id], None)
        for rej in rejects:
            if rej.id in decided or rej.id not in refs:
                continue
            decided.add(rej.id)
            yield plan_row(by_id[rej.id], refs[rej.id], rej)
        for seg in segments:  # a filter that lost a segment is a bug; it leaves as a reject
            if seg.segment_id not in decided:
                yield plan_row(seg, refs[seg.segment_id], Reject.for_segment(
                    seg, Stage.LABEL, Reason.LABEL_FAILED,
                    "no filter decided this segment (a filter returned neither it nor a reject)"))


def plan_reject(row: dict[str, Any]) -> Reject:
    """A dropped plan row as the Reject the manifests and the report count."""
    seg = segment_from_row(row)
    return Reject.for_segment(seg, row["reject_stage"], row["reject_reason"],
                              row["reject_detail"] or "")


def transcript_rejects(row: dict[str, Any]) -> list[Reject]:
    """The transcript rejects of one plan row: each ``label.transcript`` verdict (a text the audio
    contradicted, whose audio went on with its pseudo-label) as a ``stage: transcript`` reject
    ``{segment_id}-transcript``, like analyse's unreadable transcripts. Its duration is 0 and it
    has no start: no audio was dropped with it, so the funnel's hours are not counted twice (the
    segment itself leaves once, kept or rejected, in the segment books)."""
    out = []
    for v in row.get("verdicts") or ():
        if v["filter"] == TRANSCRIPT_VERDICT and v["reason"]:
            out.append(Reject(
                id=f"{row['segment_id']}-transcript", stage=Stage.TRANSCRIPT, reason=v["reason"],
                detail=(v["detail"] or "")[:2000], recording_id=row["recording_id"],
                source_uri=row["source_uri"] or "", source_name=row["source_name"] or "",
                page_url=row["page_url"] or "", language=row["language"] or "",
                text=row["source_text"] or "", pseudo_label=row["pseudo_label"] or ""))
    return out
