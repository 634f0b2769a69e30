"""Whisper pseudo-labelling through Beam's RunInference.

``WhisperModelHandler`` loads the CTranslate2 model once per worker (``load_model``) and labels
batches of segments that Beam's ``BatchElements`` collects across recordings. A batch that fails
is retried segment by segment, and a segment that still fails is rejected (``asr_failed``) rather
than failing the bundle.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler, RunInference

from pipelines.config import AsrConfig
from pipelines.stages.common import rejected
from schemas.reasons import Reason, Stage
from schemas.records import Reject, Segment, Verdict

log = logging.getLogger(__name__)
ASR_FAILED = "asr_failed"
HINT_MIN_TEXT_PROB = 0.5  # fastText's vote on the transcript counts as a hint from here


def language_hint(seg: Segment) -> str:
    """The language the segment's transcript is in, as far as we know before listening."""
    if seg.text_language and seg.text_language_prob >= HINT_MIN_TEXT_PROB:
        return seg.text_language
    return seg.declared_language.split("-")[0].lower()


class WhisperModelHandler(ModelHandler[Segment, Segment, Any]):
    def __init__(self, config: AsrConfig, model_dir: str):
        self.config = config
        self.model_dir = model_dir

    def load_model(self) -> Any:
        from pipelines.whisper import load_whisper

        return load_whisper(self.model_dir, self.config.device, self.config.compute_type,
                            self.config.cpu_threads)

    def batch_elements_kwargs(self) -> dict[str, Any]:
        return {"min_batch_size": 1, "max_batch_size": self.config.batch_size}

    def get_metrics_namespace(self) -> str:
        return "speechcurate_asr"

    def run_inference(self, batch: Sequence[Segment], model: Any,
                      inference_args: dict[str, Any] | None = None) -> Iterable[Segment]:
        from pipelines.whisper import transcribe_batch

        def label(items: Sequence[Segment]) -> list[Segment]:
            results = transcribe_batch(model, [s.audio for s in items], self.config.beam_size,
                                       self.config.language,
                                       groups=[s.recording_id for s in items],
                                       context_pad_s=self.config.context_pad_s,
                                       hints=[language_hint(s) for s in items],
                                       hint_below_prob=self.config.hint_below_prob)
            return [
                replace(s, pseudo_label=r.text, avg_logprob=round(r.avg_logprob, 4),
                        no_speech_prob=round(r.no_speech_prob, 4),
                        compression_ratio=round(r.compression_ratio, 4),
                        audio_language=r.detected_language,
                        audio_language_prob=round(r.detected_prob, 4),
                        audio_language_probs=tuple((lang, round(p, 4))
                                                   for lang, p in r.language_probs))
                for s, r in zip(items, results, strict=True)
            ]

        try:
            return label(batch)
        except Exception as exc:  # noqa: BLE001 - any model failure is retried per segment
            log.warning("Whisper failed on a batch of %d (%s); retrying one by one",
                        len(batch), exc)
        out = []
        for seg in batch:
            try:
                out.extend(label([seg]))
            except Exception as exc:  # noqa: BLE001 - the segment is rejected with the error
                out.append(seg.with_verdict(Verdict(ASR_FAILED, False, Reason.ASR_FAILED,
                                                    f"{type(exc).__name__}: {exc}")))
        return out


class _RouteAsrFailures(beam.DoFn):
    def process(self, seg: Segment):
        failed = [v for v in seg.verdicts if v.filter == ASR_FAILED and not v.passed]
        if failed:
            yield rejected(Reject.for_segment(seg, Stage.ASR, Reason.ASR_FAILED, failed[0].detail),
                           seg.audio)
        else:
            yield seg


class PseudoLabel(beam.PTransform):
    """Segments in, labelled segments out (main) plus ``rejected`` for failures."""

    def __init__(self, config: AsrConfig, model_dir: str):
        super().__init__()
        self.handler = WhisperModelHandler(config, model_dir)

    def expand(self, segments):
        return (
            segments
            | "Whisper" >> RunInference(self.handler)
            | "RouteFailures" >> beam.ParDo(_RouteAsrFailures()).with_outputs(
                "rejected", main="labelled")
        )
