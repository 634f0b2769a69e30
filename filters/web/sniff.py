"""Content sniffing from magic bytes: what a body *is*, whatever its URL or Content-Type says.

An HTML error page served as ``episode.mp3`` with ``Content-Type: audio/mpeg`` must become a
``not_audio`` reject, not a "recording" that fails later in decode.
"""

from __future__ import annotations

# Media types the crawler accepts as audio (video containers carry audio tracks too).
AUDIO_TYPES = frozenset({
    "audio/mpeg", "audio/ogg", "audio/flac", "audio/wav", "audio/mp4", "audio/aac",
    "audio/webm", "audio/amr", "audio/aiff", "video/mp4", "video/webm", "video/ogg",
})


def _is_mp3_frame(head: bytes) -> bool:
    if len(head) < 4 or head[0] != 0xFF or (head[1] & 0xE0) != 0xE0:
        return False
    version = (head[1] >> 3) & 0x03
    layer = (head[1] >> 1) & 0x03
    bitrate = head[2] >> 4
    rate = (head[2] >> 2) & 0x03
    return version != 1 and layer != 0 and bitrate not in (0, 15) and rate != 3


def sniff_media_type(data: bytes) -> str:
    """The media type the leading bytes of ``data`` show, or '' when unrecognised."""
    head = data[:64]
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    if head.startswith(b"OggS"):
        # Ogg with a Theora stream is video; Vorbis/Opus/FLAC-in-Ogg are audio.
        return "video/ogg" if b"\x80theora" in data[:512] else "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio/aiff"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "audio/mp4" if brand in (b"M4A ", b"M4B ", b"M4P ", b"F4A ") else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if b"webm" in data[:64] else "video/x-matroska"
    if head.startswith(b"#!AMR"):
        return "audio/amr"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xF6) == 0xF0:
        return "audio/aac"  # ADTS
    if _is_mp3_frame(head):
        return "audio/mpeg"
    text = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "text/html"
    if text.startswith(b"<?xml") or text.startswith(b"<rss") or text.startswith(b"<feed"):
        return "application/xml"
    if text.startswith(b"webvtt"):
        return "text/vtt"
    if text.startswith((b"{", b"[")):
        return "application/json"
    if head.startswith(b"\x1f\x8b"):
        return "application/gzip"
    if head.startswith(b"%PDF"):
        return "application/pdf"
    return ""


def is_audio(media_type: str) -> bool:
    return media_type in AUDIO_TYPES or media_type == "video/x-matroska"
