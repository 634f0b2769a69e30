"""Decode each recording and cut it into speech segments (one DoFn: audio never leaves the
worker between the two, and a long recording is held in memory only once)."""

from __future__ import annotations

import logging
from dataclasses import replace

import apache_beam as beam

from filters.audio import AudioError
from filters.vad import segment_speech
from pipelines import io as sio
from pipelines.config import DecodeConfig, LidConfig, SegmentConfig
from pipelines.stages.common import rejected
from pipelines.stages.isolated import IsolatedDecoder
from schemas.keys import segment_id_for
from schemas.reasons import Reason, Stage
from schemas.records import SAMPLE_RATE, Recording, Reject, Segment

log = logging.getLogger(__name__)
RECORDINGS = "recordings"  # thin rows of decoded recordings, for stats
META = "meta"  # the Recording (no audio) for recording-level decisions after the shuffle
UNTIMED_LID_CHARS = 5000  # an untimed transcript's language is judged on its start


class DecodeAndSegment(beam.DoFn):
    """``lid`` (optional) identifies an untimed transcript's language once per recording, so its
    segments carry it before Whisper runs (a decoding hint; the segments get their own slice of
    the text only after alignment)."""

    def __init__(self, decode: DecodeConfig, segment: SegmentConfig, isolate: bool = True,
                 lid: LidConfig | None = None):
        self.decode_cfg = decode
        self.segment_cfg = segment
        self.isolate = isolate
        self.lid_cfg = lid
        self._decoder: IsolatedDecoder | None = None
        self._lid = None

    def setup(self) -> None:
        if self.isolate:
            self._decoder = IsolatedDecoder(self.decode_cfg.timeout_s)
        if self.lid_cfg is not None:
            from filters.text_lid import TextLanguageIdentifier

            self._lid = TextLanguageIdentifier().load()

    def _transcript_language(self, rec: Recording) -> tuple[str, float]:
        text = (rec.transcript_text or "")[:UNTIMED_LID_CHARS]
        if self._lid is None or rec.cues or len(text.strip()) < self.lid_cfg.min_text_chars:
            return "", 0.0
        top = self._lid.predict(text, k=1)
        return (top[0][0], round(top[0][1], 4)) if top else ("", 0.0)

    def teardown(self) -> None:
        if self._decoder is not None:
            self._decoder.close()

    def _decode(self, data: bytes):
        from filters.audio import decode_audio

        cfg = self.decode_cfg
        if self._decoder is not None:
            return self._decoder.decode(data, cfg.max_duration_s, cfg.min_duration_s)
        return decode_audio(data, cfg.max_duration_s, cfg.min_duration_s)

    def process(self, rec: Recording):
        try:
            data = sio.read_bytes(rec.audio_uri, self.decode_cfg.max_bytes)
        except sio.InputTooLarge as exc:
            yield rejected(Reject.for_recording(rec, Stage.DECODE, Reason.TOO_LARGE, str(exc)))
            return
        except (OSError, ValueError) as exc:
            yield rejected(Reject.for_recording(rec, Stage.SOURCE, Reason.SOURCE_UNREADABLE,
                                                f"{type(exc).__name__}: {exc}"))
            return
        try:
            audio = self._decode(data)
        except AudioError as exc:
            yield rejected(Reject.for_recording(rec, Stage.DECODE, exc.reason, exc.detail))
            return
        rec = replace(rec, codec=audio.codec, duration=audio.duration,
                      sample_rate=audio.source_sample_rate, channels=audio.channels)
        yield beam.pvalue.TaggedOutput(RECORDINGS, {
            "recording_id": rec.recording_id, "source_name": rec.source_name,
            "source_uri": rec.source_uri, "duration": rec.duration, "codec": rec.codec,
            "licence": rec.licence,
        })
        spans = segment_speech(audio.samples, self.segment_cfg, rec.cues)
        if not spans:
            yield rejected(Reject.for_recording(rec, Stage.SEGMENT, Reason.NO_SPEECH,
                                                "voice activity detection found no speech"))
            return
        yield beam.pvalue.TaggedOutput(META, rec)
        kind = "timed" if rec.cues else ("untimed" if rec.transcript_text else "none")
        text_language, text_language_prob = self._transcript_language(rec)
        for index, span in enumerate(spans):
            clip = audio.samples[int(span.start * SAMPLE_RATE):int(span.end * SAMPLE_RATE)]
            seg = Segment(
                segment_id=segment_id_for(rec.recording_id, index),
                recording_id=rec.recording_id, index=index, source_uri=rec.source_uri,
                start=span.start, end=span.end, audio=clip.copy(),
                source_name=rec.source_name, page_url=rec.page_url, licence=rec.licence,
                declared_language=rec.declared_language,
                source_text=span.source_text if kind == "timed" else None,
                source_text_kind=kind, speech_ratio=span.speech_ratio,
                text_language=text_language, text_language_prob=text_language_prob,
            )
            if span.duration < self.segment_cfg.min_segment_s:
                yield rejected(Reject.for_segment(
                    seg, Stage.SEGMENT, Reason.SEGMENT_TOO_SHORT,
                    f"{span.duration:.2f}s < segment.min_segment_s="
                    f"{self.segment_cfg.min_segment_s}"), seg.audio)
                continue
            yield seg
