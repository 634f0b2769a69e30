"""Per-segment measures and label decisions (before the shuffle, so rejected audio stays put)."""

from __future__ import annotations

from dataclasses import replace

import apache_beam as beam

from filters.audio_quality import measure
from filters.label_config import LabelConfig
from filters.label_decisions import decide_segment
from pipelines.stages.common import rejected
from schemas.records import Reject, Segment


class MeasureAndDecide(beam.DoFn):
    def __init__(self, config: LabelConfig):
        self.config = config

    def process(self, seg: Segment):
        m = measure(seg.audio)
        seg = replace(seg, clipping_ratio=round(m.clipping_ratio, 5), loudness_lufs=m.loudness_lufs,
                      snr_db=m.snr_db)
        decision = decide_segment(seg, self.config)
        if isinstance(decision, Reject):
            yield rejected(decision, seg.audio)
        else:
            yield decision
