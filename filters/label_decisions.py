"""Label decisions: which text a segment is trained on, or why it is dropped.

Placeholder policy of the foundation: the source text when the segment has one, the
pseudo-label otherwise; empty labels are rejected. Replaced by the full policy (LID agreement,
hallucination detection, alignment of untimed transcripts) in the labels work.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from schemas.reasons import Reason, Stage
from schemas.records import Recording, Reject, Segment, Verdict


@dataclass(frozen=True)
class LabelConfig:
    """Thresholds for label decisions."""

    min_label_chars: int = 1  # a label shorter than this is rejected (empty_label)

    def validate(self, where: str) -> None:
        if self.min_label_chars < 0:
            raise ValueError(f"{where}.min_label_chars: must be >= 0")


def decide_segment(seg: Segment, config: LabelConfig) -> Segment | Reject:
    """Per-segment decision, before the shuffle."""
    if seg.source_text:
        text, source = seg.source_text, "source"
    else:
        text, source = (seg.pseudo_label or "").strip(), "pseudo"
    if len(text) < max(1, config.min_label_chars):
        return Reject.for_segment(seg, Stage.LABEL, Reason.EMPTY_LABEL, "no source text and "
                                  "an empty pseudo-label")
    language = seg.audio_language or seg.text_language or seg.declared_language
    prob = seg.audio_language_prob if seg.audio_language else seg.text_language_prob
    return replace(seg, text=text, label_source=source, language=language, language_prob=prob
                   ).with_verdict(Verdict("label", True, "", source))


def decide_recording(
    recording: Recording, segments: list[Segment], config: LabelConfig
) -> tuple[list[Segment], list[Reject]]:
    """Per-recording decision, after the shuffle: nothing recording-wide in the placeholder."""
    return list(segments), []
