"""The records that flow between stages.

Records are frozen dataclasses: a stage returns a new record with ``dataclasses.replace`` instead
of mutating, which keeps Beam's "do not mutate inputs" rule by construction. Audio travels as a
16 kHz mono float32 numpy array in ``Segment.audio`` only between decode and shard writing; it is
never written to Parquet.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

SAMPLE_RATE = 16_000
LABEL_SOURCES = ("source", "pseudo", "translation", "none")
TASKS = ("transcribe", "translate")


@dataclass(frozen=True)
class Cue:
    """One timed transcript cue (from VTT/SRT or a timed podcast transcript), in seconds."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Verdict:
    """The outcome of one filter on one segment. Filters add verdicts, never overwrite another's.

    ``passed=False`` is a drop; ``passed=True`` with a ``reason`` is a flag (kept, but marked)."""

    filter: str
    passed: bool
    reason: str = ""
    detail: str = ""
    value: float | None = None  # the measured value the filter judged, when it has one


@dataclass(frozen=True)
class SourceItem:
    """What a crawler found before fetching: where the media and its transcripts live."""

    media_url: str
    source_name: str
    page_url: str = ""
    transcript_urls: tuple[str, ...] = ()
    transcript_formats: tuple[str, ...] = ()
    licence: str = ""
    declared_language: str = ""
    title: str = ""
    discovered_at: str = ""


@dataclass(frozen=True)
class Recording:
    """A media item ready to decode: where its bytes are, its transcript, and its lineage.

    ``source_uri`` is what a user traces a segment back to (a canonical media URL for crawled
    items, the file path or URL for local ones); ``audio_uri`` is where the bytes are read from
    (the same path for local files, a content-addressed blob under ``RUN/raw/`` once crawled).
    """

    recording_id: str
    source_uri: str
    audio_uri: str
    source_name: str = ""
    page_url: str = ""
    sha256: str = ""
    codec: str = ""
    duration: float = 0.0
    sample_rate: int = 0
    channels: int = 0
    transcript_text: str | None = None
    transcript_format: str = ""  # "", "txt", "vtt", "srt", "json", "html", "manifest"
    cues: tuple[Cue, ...] = ()
    declared_language: str = ""
    licence: str = ""
    title: str = ""
    fetched_at: str = ""

    @property
    def has_timed_transcript(self) -> bool:
        return len(self.cues) > 0


@dataclass(frozen=True)
class Segment:
    """One utterance of at most 30 s cut from a recording, and everything learned about it."""

    segment_id: str
    recording_id: str
    index: int
    source_uri: str
    start: float
    end: float
    audio: np.ndarray | None = field(default=None, compare=False, repr=False)
    source_name: str = ""
    page_url: str = ""
    licence: str = ""
    declared_language: str = ""
    # text
    source_text: str | None = None
    source_text_kind: str = "none"  # "timed" (from cues), "untimed" (whole-file text), "none"
    pseudo_label: str | None = None
    text: str = ""  # the chosen training label
    label_source: str = "none"  # one of LABEL_SOURCES
    task: str = "transcribe"  # one of TASKS
    # language
    language: str = ""
    language_prob: float = 0.0
    text_language: str = ""
    text_language_prob: float = 0.0
    audio_language: str = ""
    audio_language_prob: float = 0.0
    audio_language_probs: tuple[tuple[str, float], ...] = ()
    # ASR scores
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    # agreement between source text and pseudo-label
    cer: float | None = None
    wer: float | None = None
    # quality measures
    speech_ratio: float | None = None
    snr_db: float | None = None
    clipping_ratio: float | None = None
    loudness_lufs: float | None = None
    chars_per_second: float | None = None
    dnsmos: float | None = None
    # privacy / dedup
    # PII found in the label (filters/redaction.py): (start s, end s, type, action), no PII text
    pii_spans: tuple[tuple[float, float, str, str], ...] = ()
    dedup_cluster: str = ""
    verdicts: tuple[Verdict, ...] = ()
    # set by the shard writer
    shard: str = ""
    key: str = ""
    # quality measures (filters/audio_quality.py, filters/dnsmos.py) and tier (filters/quality.py)
    dnsmos_sig: float | None = None  # DNSMOS P.835 speech signal quality (``dnsmos`` is OVRL)
    dnsmos_bak: float | None = None  # DNSMOS P.835 background quality (5 = no noise)
    bandwidth_hz: float | None = None  # effective audio bandwidth (8 kHz telephone: ~4000)
    dc_offset: float | None = None  # mean sample value
    silence_ratio: float | None = None  # share of digitally silent 25 ms frames
    peak_dbfs: float | None = None  # sample peak in dBFS
    quality_tier: str = ""  # "high" | "medium" | "low" for kept segments ("" when not judged)
    # label coverage (pipelines/whisper.py): share of the segment's VAD speech inside the
    # pseudo-label's decoded timestamp spans, and the seconds of VAD speech left uncovered
    label_coverage: float | None = None
    label_uncovered_s: float | None = None
    # voice anonymisation (filters/anonymise.py): the McAdams α decide chose for this segment's
    # voice and publish applied (None: not anonymised)
    anonymise_alpha: float | None = None
    # word times (pipelines/whisper.py), segment-relative seconds: the pseudo-label's words, and
    # the source text's words force-aligned to the audio. Internal (analysis rows only): never in
    # SEGMENT_SCHEMA, so never published (they spell out the raw words, PII included).
    pseudo_words: tuple[tuple[str, float, float], ...] = field(default=(), compare=False,
                                                               repr=False)
    source_words: tuple[tuple[str, float, float], ...] = field(default=(), compare=False,
                                                               repr=False)
    # audio edits decide plans for publish: (start s, end s, action), see filters/audio_edits.py
    audio_edits: tuple[tuple[float, float, str], ...] = ()
    # translation pairs (filters/translation.py), analysed only for candidates (English text
    # on other-language audio): Whisper's X->en translation of the audio (task=translate), the
    # English text verified against the audio (the cue, or this segment's slice of an untimed
    # text), its score (PMI, nats per token, pipelines.whisper.reference_scores); and, from
    # decide, the chrF (0-100) of the English text against Whisper's translation (evidence).
    # The two texts are analysis rows only (schemas/analysis.py), never published.
    translation: str | None = None
    translation_text: str | None = None
    translation_score: float | None = None
    translation_chrf: float | None = None

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)

    def with_verdict(self, verdict: Verdict) -> Segment:
        """Return a copy with ``verdict`` appended (an earlier verdict is never replaced)."""
        return replace(self, verdicts=(*self.verdicts, verdict))

    def failed_verdicts(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if not v.passed)

    def sample_metadata(self) -> dict[str, Any]:
        """The JSON stored next to the audio in a shard: everything a trainer may need."""
        from schemas.arrow import segment_row

        row = segment_row(self)
        row.pop("shard", None)
        return row


@dataclass(frozen=True)
class Reject:
    """Anything dropped at any stage, with a reason code; nothing leaves the pipeline silently."""

    id: str
    stage: str
    reason: str
    detail: str = ""
    recording_id: str = ""
    source_uri: str = ""
    source_name: str = ""
    page_url: str = ""
    start: float | None = None
    end: float | None = None
    duration: float = 0.0
    language: str = ""
    text: str = ""
    pseudo_label: str = ""
    # the segment's verdicts when it was dropped (not written to manifests: REJECT_SCHEMA); the
    # decide phase keeps them on the plan row, so evidence gathered inside the dropping filter
    # (e.g. a transcript rejected before its audio's pseudo-label failed too) is not lost
    verdicts: tuple[Verdict, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def for_recording(
        cls, rec: Recording, stage: str, reason: str, detail: str = "", duration: float = 0.0
    ) -> Reject:
        return cls(
            id=rec.recording_id,
            stage=str(stage),
            reason=str(reason),
            detail=detail[:2000],
            recording_id=rec.recording_id,
            source_uri=rec.source_uri,
            source_name=rec.source_name,
            page_url=rec.page_url,
            duration=duration or rec.duration,
        )

    @classmethod
    def for_segment(cls, seg: Segment, stage: str, reason: str, detail: str = "") -> Reject:
        return cls(
            id=seg.segment_id,
            stage=str(stage),
            reason=str(reason),
            detail=detail[:2000],
            recording_id=seg.recording_id,
            source_uri=seg.source_uri,
            source_name=seg.source_name,
            page_url=seg.page_url,
            start=seg.start,
            end=seg.end,
            duration=seg.duration,
            language=seg.language,
            text=seg.source_text or "",
            pseudo_label=seg.pseudo_label or "",
            verdicts=seg.verdicts,
        )
