"""Arrow schemas of the phase boundaries: ``RUN/analysis/`` (what analyse measured, once) and
``RUN/plan/`` (what decide chose). Both are thin: audio lives in the analysis packs and is
referenced by byte range, so decide never reads audio and publish reads only what it keeps.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from schemas.arrow import RECORDING_SCHEMA, SEGMENT_SCHEMA, segment_row
from schemas.records import Segment

# A word and its time span (s, segment-relative): analysis rows only, never published.
WORD_TYPE = pa.struct([("word", pa.string()), ("start", pa.float64()), ("end", pa.float64())])
WORD_FIELDS = [
    ("pseudo_words", pa.list_(WORD_TYPE)),  # the pseudo-label's words (cross-attention alignment)
    ("source_words", pa.list_(WORD_TYPE)),  # the source text's words, force-aligned to the audio
]

# Translation-pair evidence (filters/translation.py), analysis rows only, never published: the
# words of Whisper's translation and of the English text scored against the audio (a slice of
# an untimed transcript), which PII redaction does not see; the published score is numeric.
TRANSLATION_FIELDS = [
    ("translation", pa.string()),  # Whisper's X->en translation of the segment (task=translate)
    ("translation_text", pa.string()),  # the English text its score was computed on
]

# Where a candidate's FLAC bytes are: a pack tar under RUN/analysis/audio/ and a byte range.
AUDIO_REF_FIELDS = [
    ("audio_pack", pa.string()),  # pack tar name ("" when the audio was not kept)
    ("audio_offset", pa.int64()),  # first byte of the FLAC payload inside the tar
    ("audio_bytes", pa.int64()),  # FLAC payload length
]

# Dedup measures of a candidate (filters/dedup/), computed once in analyse; decide clusters them.
# The dedup text is the timed source text when there is one, else the pseudo-label.
DEDUP_SEGMENT_FIELDS = [
    ("text_hash", pa.string()),  # sha256 of the normalised dedup text (exact text duplicates)
    ("text_words", pa.int32()),  # words of the normalised dedup text
    ("text_minhash", pa.binary()),  # MinHash signature: curate.dedup.num_perm uint32 (null: none)
    ("audio_sha256", pa.string()),  # sha256 of the segment's 16 kHz 16-bit PCM (exact audio)
    ("audio_fp", pa.binary()),  # acoustic fingerprint (filters/audio_fingerprint.to_bytes)
]

# analysis/segments/*.parquet: every candidate segment with all its measures and labels.
ANALYSIS_SEGMENT_SCHEMA = pa.schema([*SEGMENT_SCHEMA, *AUDIO_REF_FIELDS, *WORD_FIELDS,
                                     *TRANSLATION_FIELDS, *DEDUP_SEGMENT_FIELDS])

# analysis/recordings/*.parquet: every recording analyse looked at (decoded or not). A pack's
# recordings file is written last, so it is the pack's commit marker.
ANALYSIS_RECORDING_SCHEMA = pa.schema([
    *RECORDING_SCHEMA,
    ("status", pa.string()),  # "decoded" or "rejected" (the reject row says why)
    ("n_segments", pa.int32()),  # segments VAD produced, counted before any later stage
    ("short_speech_s", pa.float64()),  # VAD speech dropped as shorter than min_speech_s
    ("pack", pa.string()),  # the pack that committed this recording
    ("pcm_sha256", pa.string()),  # sha256 of the whole decoded 16 kHz 16-bit PCM ("" if none)
    ("audio_fp", pa.binary()),  # the whole recording's acoustic fingerprint (null if none)
])

# RUN/dedup/index/*.parquet: the kept segments' thin dedup projection, which later runs read
# with ``curate.dedup.against`` (never audio, never the full rows).
DEDUP_INDEX_SCHEMA = pa.schema([
    ("segment_id", pa.string()),
    ("recording_id", pa.string()),
    ("quality_tier", pa.string()),
    ("duration", pa.float64()),
    *DEDUP_SEGMENT_FIELDS,
])

# plan/_parts/verdicts/*.parquet (transient): decide's dedup verdicts, one per clustered
# candidate, which the launcher applies to the plan rows as it merges them
# (pipelines/plan_merge.py), so no plan row is shuffled to meet its verdict.
DEDUP_VERDICT_SCHEMA = pa.schema([
    ("segment_id", pa.string()),
    ("keep", pa.bool_()),  # false: a duplicate that another member of its cluster represents
    ("reason", pa.string()),  # "" when kept
    ("cluster", pa.string()),  # "a-<id>" and/or "t-<id>", space-separated
    ("detail", pa.string()),
])

# analysis/rejects/*.parquet: rejects made during analysis, plus where their audio is (if any).
AUDIO_EDIT_TYPE = pa.struct([("start", pa.float64()), ("end", pa.float64()),
                             ("action", pa.string())])

# plan/segments.parquet: one row per candidate segment: the decision and, if kept, its shard.
PLAN_SCHEMA = pa.schema([
    *SEGMENT_SCHEMA,
    *AUDIO_REF_FIELDS,
    ("keep", pa.bool_()),
    ("reject_stage", pa.string()),  # "" when kept
    ("reject_reason", pa.string()),  # "" when kept
    ("reject_detail", pa.string()),
    ("audio_edits", pa.list_(AUDIO_EDIT_TYPE)),  # spans (s, segment-relative) to edit on publish
    ("shard_index", pa.int32()),  # -1 when dropped
    ("ssl", pa.bool_()),  # a drop published audio-only in RUN/ssl/ (filters/ssl_speech.py)
    ("ssl_index", pa.int32()),  # its shard in RUN/ssl/; -1 when not ssl
])


def analysis_segment_row(seg: Segment, pack: str, offset: int, size: int,
                         dedup: dict[str, Any] | None = None) -> dict[str, Any]:
    row = segment_row(seg)
    row.update(audio_pack=pack, audio_offset=offset, audio_bytes=size)
    for name, words in (("pseudo_words", seg.pseudo_words), ("source_words", seg.source_words)):
        row[name] = [{"word": w, "start": a, "end": b} for w, a, b in words]
    row.update(translation=seg.translation, translation_text=seg.translation_text)
    row.update(dedup or {})
    return row


def words_from_row(row: dict[str, Any], name: str) -> tuple[tuple[str, float, float], ...]:
    """An analysis row's word list (``pseudo_words`` or ``source_words``) as tuples."""
    return tuple((w["word"], float(w["start"]), float(w["end"])) for w in row.get(name) or ())


def audio_ref(row: dict[str, Any]) -> tuple[str, int, int]:
    return row["audio_pack"], int(row["audio_offset"]), int(row["audio_bytes"])


def analysis_reject_schema() -> pa.Schema:
    from schemas.arrow import REJECT_SCHEMA

    return pa.schema([*REJECT_SCHEMA, *AUDIO_REF_FIELDS])


ANALYSIS_REJECT_SCHEMA = analysis_reject_schema()
