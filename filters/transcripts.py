"""Reading transcripts: plain text, WebVTT and SubRip, into text plus timed cues.

Parsing is done by webvtt-py and pysrt; this module only decodes bytes safely, strips markup,
and turns every failure into a :class:`TranscriptError` with a reason code.
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass

from schemas.reasons import Reason, RejectError
from schemas.records import Cue

MAX_TRANSCRIPT_BYTES = 20 * 1024 * 1024
_TAG_RE = re.compile(r"<[^>]*>")
_SPACE_RE = re.compile(r"\s+")
TIMED_FORMATS = ("vtt", "srt")


class TranscriptError(RejectError):
    """A transcript that cannot be used."""


@dataclass(frozen=True)
class Transcript:
    text: str
    cues: tuple[Cue, ...] = ()
    format: str = "txt"


def decode_text(data: bytes, what: str = "transcript") -> str:
    """Decode UTF-8 (with or without BOM); anything else is a TranscriptError, never a guess."""
    if len(data) > MAX_TRANSCRIPT_BYTES:
        raise TranscriptError(Reason.TRANSCRIPT_MALFORMED,
                              f"{what} is {len(data)} bytes, over {MAX_TRANSCRIPT_BYTES}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TranscriptError(Reason.TRANSCRIPT_NOT_UTF8, f"{what} is not UTF-8: {exc}") from exc
    if "\x00" in text:
        raise TranscriptError(Reason.TRANSCRIPT_MALFORMED, f"{what} contains NUL bytes")
    return text


def clean_text(text: str) -> str:
    """Remove markup (VTT voice/style tags, HTML), unescape entities, collapse whitespace."""
    return _SPACE_RE.sub(" ", html.unescape(_TAG_RE.sub(" ", text))).strip()


def _finish(cues: list[Cue], fmt: str) -> Transcript:
    cues = sorted((c for c in cues if c.text and c.end > c.start), key=lambda c: (c.start, c.end))
    if not cues:
        raise TranscriptError(Reason.TRANSCRIPT_MALFORMED, f"{fmt} has no usable cues")
    return Transcript(text=" ".join(c.text for c in cues), cues=tuple(cues), format=fmt)


def parse_vtt(text: str) -> Transcript:
    import webvtt
    from webvtt.errors import MalformedFileError

    try:
        captions = webvtt.from_buffer(io.StringIO(text))
        cues = [
            Cue(c.start_time.in_milliseconds() / 1000.0, c.end_time.in_milliseconds() / 1000.0,
                clean_text(c.text))
            for c in captions
        ]
    except (MalformedFileError, ValueError, IndexError, AttributeError) as exc:
        raise TranscriptError(Reason.TRANSCRIPT_MALFORMED, f"invalid WebVTT: {exc}") from exc
    return _finish(cues, "vtt")


def parse_srt(text: str) -> Transcript:
    import pysrt

    try:
        subs = pysrt.from_string(text, error_handling=pysrt.ERROR_RAISE)
    except (pysrt.Error, ValueError, IndexError, AttributeError) as exc:
        raise TranscriptError(Reason.TRANSCRIPT_MALFORMED, f"invalid SubRip: {exc}") from exc
    cues = [
        Cue(s.start.ordinal / 1000.0, s.end.ordinal / 1000.0, clean_text(s.text)) for s in subs
    ]
    return _finish(cues, "srt")


def parse_plain(text: str) -> Transcript:
    cleaned = clean_text(text)
    if not cleaned:
        raise TranscriptError(Reason.TRANSCRIPT_MALFORMED, "transcript is empty")
    return Transcript(text=cleaned, cues=(), format="txt")


PARSERS = {"vtt": parse_vtt, "srt": parse_srt, "txt": parse_plain}


def parse_transcript(data: bytes, fmt: str, what: str = "transcript") -> Transcript:
    """Parse transcript bytes of format ``fmt`` (txt, vtt, srt)."""
    parser = PARSERS.get(fmt)
    if parser is None:
        raise TranscriptError(Reason.TRANSCRIPT_MALFORMED, f"unsupported transcript format {fmt}")
    return parser(decode_text(data, what))


def cues_text_between(cues: tuple[Cue, ...], start: float, end: float) -> str:
    """Text of the cues whose midpoint lies in [start, end): a segment's slice of a timed text."""
    parts = [c.text for c in cues if start <= (c.start + c.end) / 2 < end]
    return " ".join(parts).strip()
