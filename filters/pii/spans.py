"""PII types, found spans and typed-placeholder redaction.

A span is a pair of character offsets into the text it was found in (the original text, never a
normalised copy), so a caller can map it to word times and cut the same words from the audio.
Overlapping finds are resolved by type priority: the more specific, checksum-validated types
win over the looser ones (an email's local part is not also a PERSON; a card is not a PHONE).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PII_TYPES: tuple[str, ...] = ("PHONE", "EMAIL", "CARD", "IBAN", "IP", "URL", "NATIONAL_ID",
                              "ADDRESS", "PERSON")

# Which type keeps a region claimed by two detectors: earlier wins.
PRIORITY: tuple[str, ...] = ("EMAIL", "URL", "IBAN", "CARD", "NATIONAL_ID", "IP", "PHONE",
                             "ADDRESS", "PERSON")
_RANK = {t: i for i, t in enumerate(PRIORITY)}


@dataclass(frozen=True, order=True)
class PiiSpan:
    """One piece of personal data: ``text[start:end]`` is of ``type`` (one of ``PII_TYPES``)."""

    start: int  # first character, offset into the text given to the detector
    end: int  # one past the last character
    type: str  # one of PII_TYPES


def placeholder(pii_type: str) -> str:
    """The typed placeholder a redacted span becomes: ``<PHONE>``, ``<PERSON>``, ..."""
    return f"<{pii_type}>"


def redact_text(text: str, spans: Sequence[PiiSpan]) -> str:
    """``text`` with each span replaced by its typed placeholder.

    Spans may come in any order; overlapping ones are resolved first (see ``resolve``), and two
    adjacent spans of one type collapse into one placeholder so a phone number split into pieces
    reads as one ``<PHONE>``."""
    out: list[str] = []
    pos = 0
    last_type = ""
    for span in resolve(spans):
        start, end = max(span.start, pos), min(span.end, len(text))
        if start >= end:
            continue
        gap = text[pos:start]
        if out and last_type == span.type and not gap.strip(" ,.-"):
            pos = end
            continue
        out.append(gap)
        out.append(placeholder(span.type))
        last_type = span.type
        pos = end
    out.append(text[pos:])
    return "".join(out)


def resolve(spans: Iterable[PiiSpan]) -> list[PiiSpan]:
    """Non-overlapping spans in text order: same-type overlaps merge, and where types clash the
    one earlier in ``PRIORITY`` keeps the region (longer spans break ties)."""
    merged: dict[str, list[PiiSpan]] = {}
    for span in sorted(spans):
        if span.end <= span.start:
            continue
        runs = merged.setdefault(span.type, [])
        if runs and span.start < runs[-1].end:
            runs[-1] = PiiSpan(runs[-1].start, max(runs[-1].end, span.end), span.type)
        else:
            runs.append(span)
    ordered = sorted((s for runs in merged.values() for s in runs),
                     key=lambda s: (_RANK.get(s.type, len(_RANK)), -(s.end - s.start), s.start))
    kept: list[PiiSpan] = []
    for span in ordered:
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(kept)
