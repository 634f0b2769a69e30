"""``PiiDetector``: every detector over one transcript, or over a recording's segments together.

A transcript is first rewritten to its written form (spoken.py: "five five five" -> "555",
"john dot smith at gmail dot com" -> "john.smith@gmail.com"); the written detectors (phones.py,
patterns.py) run on that, and their spans are mapped back to the original characters. Person
names are found on the original text (the NER model was trained on written, cased text; the
rewrite changes nothing it uses). Overlaps resolve by type priority (spans.py).

``detect_recording`` joins a recording's consecutive segments with a space, detects once, and
splits the spans back per segment, so a number dictated across a segment boundary ("call me on
five five five" | "one two three four") is found and redacted in both segments.
"""

from __future__ import annotations

from collections.abc import Sequence

from filters.pii.config import PiiConfig
from filters.pii.names import NameRecogniser, recogniser_for
from filters.pii.patterns import WRITTEN_DETECTORS
from filters.pii.phones import find_phones
from filters.pii.spans import PiiSpan, resolve
from filters.pii.spoken import normalise

_EDGE = " \t\r\n,;:!?()[]{}\"'“”‘’"


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and (text[end - 1] in _EDGE or text[end - 1] == "." and end - 1 > start
                           and not text[end - 2].isalpha()):
        end -= 1
    return start, end


class PiiDetector:
    """Finds PII spans in transcripts. Construct anywhere (cheap, picklable); ``load_model``
    (or the first ``detect`` with person names on) loads the NER model, once per process."""

    def __init__(self, config: PiiConfig) -> None:
        self.config = config
        self._names: dict[str, NameRecogniser] = {}

    def __getstate__(self) -> dict[str, object]:
        return {"config": self.config, "_names": {}}

    def load_model(self, language: str = "en") -> None:
        """Load the name recogniser of ``language`` (English: the spaCy model)."""
        if self.config.enabled and self.config.person_names:
            self._recogniser(language).load()

    def _recogniser(self, language: str) -> NameRecogniser:
        base = (language or "en").split("-")[0].split("_")[0].lower()
        if base not in self._names:
            self._names[base] = recogniser_for(base, self.config)
        return self._names[base]

    def detect(self, text: str, language: str = "en") -> list[PiiSpan]:
        """PII spans of every type found in ``text`` (offsets into ``text``), in order, not
        overlapping. Actions are not applied here: see ``PiiConfig.action``."""
        if not self.config.enabled or not text or not text.strip():
            return []
        written = normalise(text, language)
        found: list[PiiSpan] = []
        raw = find_phones(written.text, self.config.phone_regions)
        for detector in WRITTEN_DETECTORS:
            raw.extend(detector(written.text))
        for start, end, pii_type in raw:
            s, e = _trim(text, *written.source_span(start, end))
            if e > s:
                found.append(PiiSpan(s, e, pii_type))
        if self.config.person_names:
            for start, end in self._recogniser(language).find(text):
                s, e = _trim(text, start, end)
                if e > s:
                    found.append(PiiSpan(s, e, "PERSON"))
        return resolve(found)

    def detect_recording(self, texts: Sequence[str],
                         language: str = "en") -> list[list[PiiSpan]]:
        """Spans per segment for a recording's consecutive segments, detected over their
        concatenation so PII split across a boundary is found in each part."""
        offsets: list[int] = []
        pos = 0
        for t in texts:
            offsets.append(pos)
            pos += len(t) + 1
        joined = " ".join(texts)
        out: list[list[PiiSpan]] = [[] for _ in texts]
        for span in self.detect(joined, language):
            for i, (off, t) in enumerate(zip(offsets, texts, strict=True)):
                s, e = max(span.start, off) - off, min(span.end, off + len(t)) - off
                if e <= s:
                    continue
                s, e = _trim(t, s, e)
                if e > s:
                    out[i].append(PiiSpan(s, e, span.type))
        return out
