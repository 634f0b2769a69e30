"""Text language identification of each segment's source text with fastText lid.176."""

from __future__ import annotations

from dataclasses import replace

import apache_beam as beam

from pipelines.config import LidConfig
from schemas.records import Segment


class TextLanguageId(beam.DoFn):
    def __init__(self, config: LidConfig):
        self.config = config
        self._lid = None

    def setup(self) -> None:
        from filters.text_lid import TextLanguageIdentifier

        self._lid = TextLanguageIdentifier().load()

    def process(self, seg: Segment):
        text = seg.source_text or ""
        if len(text.strip()) < self.config.min_text_chars:
            yield seg
            return
        top = self._lid.predict(text, k=1)
        if top:
            yield replace(seg, text_language=top[0][0], text_language_prob=round(top[0][1], 4))
        else:
            yield seg
