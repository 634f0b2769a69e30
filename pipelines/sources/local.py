"""The ``local`` source: a directory tree of audio files with sidecar transcripts, or a TSV/JSONL
manifest with ``audio``, ``text`` and optional ``language`` columns.

Listing happens on the launcher (it is cheap and lets a missing directory fail before the job
starts); reading and parsing each transcript happens in the pipeline, where a bad one becomes a
``Reject`` and the audio still goes on with only a pseudo-label.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

from filters.transcripts import TranscriptError, parse_transcript
from pipelines import io as sio
from pipelines.config import ConfigError, LocalSourceConfig
from schemas.keys import recording_id_for
from schemas.reasons import Reason, Stage
from schemas.records import Recording, Reject

TRANSCRIPT_EXTENSIONS = (".vtt", ".srt", ".txt")  # preference order: timed formats first
MAX_MANIFEST_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class LocalItem:
    """One audio file found by listing, before its transcript is read."""

    audio_uri: str
    source_name: str
    transcript_uri: str = ""
    transcript_format: str = ""
    inline_text: str | None = None  # text given in a manifest row
    language: str = ""
    licence: str = ""


def _stem(path: str) -> str:
    return posixpath.splitext(path)[0]


def list_directory(cfg: LocalSourceConfig) -> list[LocalItem]:
    """All audio files under ``cfg.path`` (recursive), each paired with a same-stem transcript."""
    fs, root = sio.fs_and_path(cfg.path)
    if not fs.isdir(root):
        raise ConfigError(f"sources[{cfg.name}].path: directory {cfg.path} does not exist "
                          "(or is not a directory)")
    files = sorted(fs.find(root))
    by_stem: dict[str, str] = {}
    for f in files:
        ext = posixpath.splitext(f)[1].lower()
        if ext in TRANSCRIPT_EXTENSIONS:
            stem = _stem(f)
            current = by_stem.get(stem)
            if current is None or TRANSCRIPT_EXTENSIONS.index(ext) < TRANSCRIPT_EXTENSIONS.index(
                    posixpath.splitext(current)[1].lower()):
                by_stem[stem] = f
    scheme = cfg.path.split("://", 1)[0] + "://" if "://" in cfg.path else ""
    items = []
    for f in files:
        if posixpath.splitext(f)[1].lower() not in cfg.extensions:
            continue
        transcript = by_stem.get(_stem(f), "")
        items.append(LocalItem(
            audio_uri=scheme + f if scheme and "://" not in f else f,
            source_name=cfg.name,
            transcript_uri=(scheme + transcript if scheme and transcript else transcript),
            transcript_format=posixpath.splitext(transcript)[1].lower().lstrip(".")
            if transcript else "",
            language=cfg.language,
            licence=cfg.licence,
        ))
    return items


def _manifest_rows(cfg: LocalSourceConfig, data: str) -> Iterator[dict]:
    if cfg.manifest.lower().endswith((".jsonl", ".json")):
        for n, line in enumerate(data.splitlines(), start=1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield {"__error__": f"line {n}: invalid JSON: {exc}"}
                    continue
                yield row if isinstance(row, dict) else {"__error__": f"line {n}: not an object"}
    else:
        reader = csv.DictReader(io.StringIO(data), delimiter="\t")
        if not reader.fieldnames or "audio" not in reader.fieldnames:
            raise ConfigError(f"sources[{cfg.name}].manifest: {cfg.manifest} needs a header row "
                              "with an `audio` column (and optional `text`, `language`)")
        yield from reader


def list_manifest(cfg: LocalSourceConfig) -> tuple[list[LocalItem], list[Reject]]:
    """Items of a TSV/JSONL manifest; bad rows become rejects (the job goes on)."""
    try:
        raw = sio.read_bytes(cfg.manifest, MAX_MANIFEST_BYTES)
    except FileNotFoundError as exc:
        raise ConfigError(f"sources[{cfg.name}].manifest: {cfg.manifest} does not exist") from exc
    try:
        data = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"sources[{cfg.name}].manifest: {cfg.manifest} is not UTF-8") from exc
    base = posixpath.dirname(cfg.manifest)
    items, rejects = [], []
    for n, row in enumerate(_manifest_rows(cfg, data), start=1):
        audio = row.get("audio") if "__error__" not in row else None
        if not isinstance(audio, str) or not audio.strip():
            detail = row.get("__error__") or f"row {n}: missing `audio`"
            rid = recording_id_for(f"{cfg.manifest}#{n}")
            rejects.append(Reject(id=rid, stage=Stage.SOURCE, reason=Reason.MANIFEST_ROW_INVALID,
                                  detail=detail, recording_id=rid,
                                  source_uri=f"{cfg.manifest}#{n}", source_name=cfg.name))
            continue
        audio = audio.strip()
        uri = audio if ("://" in audio or posixpath.isabs(audio)) else sio.join(base, audio)
        text = row.get("text")
        items.append(LocalItem(
            audio_uri=uri, source_name=cfg.name,
            inline_text=text if isinstance(text, str) and text.strip() else None,
            transcript_format="manifest" if isinstance(text, str) and text.strip() else "",
            language=str(row.get("language") or cfg.language or ""), licence=cfg.licence,
        ))
    return items, rejects


def load_item(item: LocalItem) -> tuple[Recording, Reject | None]:
    """Read the item's transcript (if any) into a Recording. A transcript that cannot be used is
    reported as a reject of the transcript file; the audio still goes on without it."""
    rec = Recording(
        recording_id=recording_id_for(item.audio_uri), source_uri=item.audio_uri,
        audio_uri=item.audio_uri, source_name=item.source_name,
        declared_language=item.language, licence=item.licence,
    )
    if item.inline_text is not None:
        return _with_text(rec, item.inline_text, "manifest"), None
    if not item.transcript_uri:
        return rec, None
    try:
        data = sio.read_bytes(item.transcript_uri, 20 * 1024 * 1024)
        transcript = parse_transcript(data, item.transcript_format, item.transcript_uri)
    except TranscriptError as exc:
        return rec, _transcript_reject(rec, item, exc.reason, exc.detail)
    except OSError as exc:
        return rec, _transcript_reject(rec, item, Reason.TRANSCRIPT_UNREADABLE, str(exc))
    from dataclasses import replace

    return replace(rec, transcript_text=transcript.text, cues=transcript.cues,
                   transcript_format=transcript.format), None


def _with_text(rec: Recording, text: str, fmt: str) -> Recording:
    from dataclasses import replace

    from filters.transcripts import clean_text

    return replace(rec, transcript_text=clean_text(text), transcript_format=fmt)


def _transcript_reject(rec: Recording, item: LocalItem, reason: str, detail: str) -> Reject:
    return Reject(id=f"{rec.recording_id}-transcript", stage=Stage.TRANSCRIPT, reason=reason,
                  detail=f"{detail} (audio kept without a transcript)",
                  recording_id=rec.recording_id, source_uri=item.transcript_uri,
                  source_name=rec.source_name)
