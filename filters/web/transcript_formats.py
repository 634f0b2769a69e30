"""Transcript formats found on the web, beyond the txt/vtt/srt handled by filters.transcripts.

Podcasting 2.0 ``<podcast:transcript>`` links name a MIME type; pages name a file. This module
maps both to a format, parses the Podcasting 2.0 JSON and HTML transcript formats, and ranks
formats so a timed transcript is chosen over plain text when an episode offers several.

Labels are plain text. The shared cleaner strips tags *before* it unescapes entities, so a cue
written ``&lt;script&gt;alert(1)&lt;/script&gt;`` would come out as ``<script>alert(1)</script>``;
:func:`read_web_transcript` strips again after unescaping (script/style blocks whole, then tags)
and counts the labels that held such markup.
"""

from __future__ import annotations

import json
import math
import re

from filters.transcripts import (
    Transcript,
    TranscriptError,
    clean_text,
    decode_text,
    parse_transcript,
)
from filters.web.urls import url_extension
from schemas.reasons import Reason
from schemas.records import Cue

# Lower is better: timed formats first.
FORMAT_RANK = {"vtt": 0, "srt": 1, "json": 2, "html": 3, "txt": 4}

_MIME_FORMATS = {
    "text/vtt": "vtt",
    "application/x-subrip": "srt",
    "application/srt": "srt",
    "text/srt": "srt",
    "text/x-srt": "srt",
    "application/json": "json",
    "text/json": "json",
    "text/html": "html",
    "text/plain": "txt",
}
# Markup that unescaping revealed: <script>/<style> blocks with their content, then any tag,
# comment or processing instruction ("<" directly followed by a name, "/", "!" or "?", so
# "a < b > c" is left alone).
_MARKUP_BLOCK = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_MARKUP_TAG = re.compile(r"</?[A-Za-z!?][^<>]*>")
_EXT_FORMATS = {"vtt": "vtt", "webvtt": "vtt", "srt": "srt", "json": "json", "html": "html",
                "htm": "html", "txt": "txt"}


def transcript_format_for(url: str, mime: str = "") -> str:
    """Format of a transcript from its declared MIME type, else its extension ('' unknown)."""
    mime = (mime or "").split(";", 1)[0].strip().lower()
    if mime in _MIME_FORMATS:
        return _MIME_FORMATS[mime]
    return _EXT_FORMATS.get(url_extension(url), "")


def best_first(candidates: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Sort ``(url, format)`` pairs so the preferred (timed) formats come first."""
    return sorted(candidates, key=lambda c: FORMAT_RANK.get(c[1], 9))


def _seconds(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TranscriptError(Reason.TRANSCRIPT_MALFORMED, f"{where} is not a number")
    try:
        out = float(value)
    except ValueError as exc:
        raise TranscriptError(Reason.TRANSCRIPT_MALFORMED, f"{where} is not a number") from exc
    if not math.isfinite(out) or out < 0:
        raise TranscriptError(Reason.TRANSCRIPT_MALFORMED, f"{where} out of range")
    return out


def parse_podcast_json(text: str) -> Transcript:
    """Podcasting 2.0 JSON transcript: ``{"segments": [{"startTime", "endTime", "body"}]}``."""
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise TranscriptError(Reason.TRANSCRIPT_MALFORMED, f"invalid JSON: {exc}") from exc
    segments = doc.get("segments") if isinstance(doc, dict) else None
    if not isinstance(segments, list):
        raise TranscriptError(Reason.TRANSCRIPT_MALFORMED, "JSON transcript has no segments list")
    cues = []
    for i, seg in enumerate(segments):
        if not isinstance(seg, dict) or not isinstance(seg.get("body", ""), str):
            raise TranscriptError(Reason.TRANSCRIPT_MALFORMED, f"segment {i} is not an object")
        start = _seconds(seg.get("startTime"), f"segments[{i}].startTime")
        end = _seconds(seg.get("endTime"), f"segments[{i}].endTime")
        body = clean_text(seg.get("body", ""))
        if body and end > start:
            cues.append(Cue(start, end, body))
    # Word-level transcripts repeat one word per segment; merging them is the segmenter's job.
    cues.sort(key=lambda c: (c.start, c.end))
    if not cues:
        raise TranscriptError(Reason.TRANSCRIPT_MALFORMED, "JSON transcript has no usable segments")
    return Transcript(text=" ".join(c.text for c in cues), cues=tuple(cues), format="json")


def parse_html_transcript(text: str) -> Transcript:
    """An HTML transcript page: the visible text of its body (scripts and styles dropped). A page
    libxml2 could not read to the end (nested too deep ...) is refused, not cut short."""
    from lxml.etree import ParserError

    from filters.web.xml import TruncatedDocument, html_document

    try:
        doc = html_document(text)
    except TruncatedDocument as exc:
        raise TranscriptError(Reason.TRANSCRIPT_MALFORMED,
                              f"HTML transcript not read to the end: {exc}") from exc
    except (ParserError, ValueError) as exc:
        raise TranscriptError(Reason.TRANSCRIPT_MALFORMED, f"invalid HTML: {exc}") from exc
    for bad in doc.xpath("//script|//style|//noscript|//head"):
        bad.drop_tree()
    cleaned = clean_text(doc.text_content())
    if not cleaned:
        raise TranscriptError(Reason.TRANSCRIPT_MALFORMED, "HTML transcript has no text")
    return Transcript(text=cleaned, cues=(), format="html")


def plain_label(text: str) -> tuple[str, bool]:
    """``text`` (already unescaped) without markup, and whether it held any."""
    stripped = _MARKUP_TAG.sub(" ", _MARKUP_BLOCK.sub(" ", text))
    if stripped == text:
        return text, False
    return " ".join(stripped.split()), True


def plain_transcript(t: Transcript) -> tuple[Transcript, int]:
    """The transcript with every label (cue, or the whole text when untimed) in plain text, and
    how many labels held markup. Cues left empty are dropped; a transcript left empty is a
    TranscriptError."""
    if t.cues:
        cues, held = [], 0
        for cue in t.cues:
            text, had = plain_label(cue.text)
            held += had
            if text:
                cues.append(Cue(cue.start, cue.end, text))
        if not held:
            return t, 0
        if not cues:
            raise TranscriptError(Reason.TRANSCRIPT_MALFORMED,
                                  f"{t.format} transcript has no text once markup is removed")
        return Transcript(text=" ".join(c.text for c in cues), cues=tuple(cues),
                          format=t.format), held
    text, had = plain_label(t.text)
    if not had:
        return t, 0
    if not text:
        raise TranscriptError(Reason.TRANSCRIPT_MALFORMED,
                              f"{t.format} transcript has no text once markup is removed")
    return Transcript(text=text, cues=(), format=t.format), 1


def read_web_transcript(data: bytes, fmt: str,
                        what: str = "transcript") -> tuple[Transcript, int]:
    """Parse transcript bytes of any web format (vtt, srt, txt, json, html) into plain-text
    labels; also return how many labels held markup (removed)."""
    if fmt == "json":
        parsed = parse_podcast_json(decode_text(data, what))
    elif fmt == "html":
        parsed = parse_html_transcript(decode_text(data, what))
    else:
        parsed = parse_transcript(data, fmt, what)
    return plain_transcript(parsed)


def parse_web_transcript(data: bytes, fmt: str, what: str = "transcript") -> Transcript:
    """Parse transcript bytes of any web format into plain-text labels."""
    return read_web_transcript(data, fmt, what)[0]
