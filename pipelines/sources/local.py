"""The ``local`` source: a directory tree of audio files with sidecar transcripts, or a TSV/JSONL
manifest with ``audio``, ``text`` and optional ``language`` columns.

Listing happens on the launcher (it is cheap and lets a missing directory fail before the job
starts); reading and parsing each transcript happens in the pipeline, where a bad one becomes a
``Reject`` and the audio still goes on with only a pseudo-label.

Listing fails closed, and everything it refuses is a ``Reject`` of stage ``source``:

* only regular files (after resolving symlinks) are listed; a FIFO, a device (a link to
  ``/dev/zero``), a socket or a directory named like audio is ``not_a_file`` and never opened;
* a manifest's paths resolve against the manifest's directory and must stay inside it or one of
  the source's ``roots`` (after resolving symlinks), unless ``allow_outside_roots`` is set:
  otherwise ``path_outside_root``; a row with an unknown ``language`` is ``manifest_row_invalid``;
* the same audio listed again (twice in a manifest, in a directory and a manifest, by two
  sources) keeps its first listing; each later one is ``duplicate_listing``, named
  ``{recording_id}-dup{n}``, with the first listing in its detail.
"""

from __future__ import annotations

import csv
import io
import json
import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

from filters.label_config import language_problem
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


# recording id -> where its audio was listed, the first (kept) listing first; shared by every
# source of one run so that a file listed twice anywhere is caught
Seen = dict[str, list[str]]


def _stem(path: str) -> str:
    return posixpath.splitext(path)[0]


def _claim(seen: Seen, uri: str, where: str, source_name: str) -> Reject | None:
    """Record that ``uri`` was listed at ``where``; a ``duplicate_listing`` reject if it was
    listed before. The reject's id differs from the kept recording's, which it names."""
    rid = recording_id_for(uri)
    places = seen.setdefault(rid, [])
    places.append(where)
    if len(places) == 1:
        return None
    return Reject(id=f"{rid}-dup{len(places) - 1}", stage=Stage.SOURCE,
                  reason=Reason.DUPLICATE_LISTING,
                  detail=f"{where} lists {uri} again; the first listing, {places[0]}, is kept "
                         f"(recording {rid})",
                  recording_id=rid, source_uri=uri, source_name=source_name)


def _not_a_file(uri: str, kind: str, where: str, source_name: str, stage: Stage = Stage.SOURCE,
                rid: str | None = None) -> Reject:
    rid = rid or recording_id_for(uri)
    return Reject(id=rid, stage=stage, reason=Reason.NOT_A_FILE,
                  detail=f"{uri} is a {kind}, not a regular file; it is not read (listed by "
                         f"{where})",
                  recording_id=rid, source_uri=uri, source_name=source_name)


def list_directory(cfg: LocalSourceConfig, seen: Seen | None = None,
                   ) -> tuple[list[LocalItem], list[Reject]]:
    """All audio files under ``cfg.path`` (recursive), each paired with a same-stem transcript;
    files that are not regular files and audio listed before are rejects."""
    seen = {} if seen is None else seen
    fs, root = sio.fs_and_path(cfg.path)
    if not fs.isdir(root):
        raise ConfigError(f"sources[{cfg.name}].path: directory {cfg.path} does not exist "
                          "(or is not a directory)")
    scheme = cfg.path.split("://", 1)[0] + "://" if "://" in cfg.path else ""

    def uri_of(f: str) -> str:
        return scheme + f if scheme and "://" not in f else f

    where = f"source {cfg.name!r} (directory {cfg.path})"
    files = sorted(fs.find(root))
    rejects: list[Reject] = []
    kinds: dict[str, str] = {}  # only files that matter (audio or transcript) are looked at
    for f in files:
        ext = posixpath.splitext(f)[1].lower()
        if ext in TRANSCRIPT_EXTENSIONS or ext in cfg.extensions:
            kinds[f] = sio.file_kind(uri_of(f)) if sio.is_local(fs) else "file"
    by_stem: dict[str, str] = {}
    for f in files:
        ext = posixpath.splitext(f)[1].lower()
        if ext in TRANSCRIPT_EXTENSIONS:
            if kinds[f] not in ("file", "missing"):
                if ext not in cfg.extensions:  # an audio extension is rejected below
                    rejects.append(_not_a_file(uri_of(f), kinds[f], where, cfg.name,
                                               Stage.TRANSCRIPT))
                continue
            stem = _stem(f)
            current = by_stem.get(stem)
            if current is None or TRANSCRIPT_EXTENSIONS.index(ext) < TRANSCRIPT_EXTENSIONS.index(
                    posixpath.splitext(current)[1].lower()):
                by_stem[stem] = f
    items = []
    for f in files:
        if posixpath.splitext(f)[1].lower() not in cfg.extensions:
            continue
        uri = uri_of(f)
        duplicate = _claim(seen, uri, where, cfg.name)
        if duplicate is not None:
            rejects.append(duplicate)
            continue
        if kinds[f] not in ("file", "missing"):  # missing (a dangling link): unreadable later
            rejects.append(_not_a_file(uri, kinds[f], where, cfg.name))
            continue
        transcript = by_stem.get(_stem(f), "")
        items.append(LocalItem(
            audio_uri=uri,
            source_name=cfg.name,
            transcript_uri=(scheme + transcript if scheme and transcript else transcript),
            transcript_format=posixpath.splitext(transcript)[1].lower().lstrip(".")
            if transcript else "",
            language=cfg.language,
            licence=cfg.licence,
        ))
    return items, rejects


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


def _local_path(uri: str) -> str | None:
    """The local path of ``uri`` (a plain path or ``file://``), or None for another scheme."""
    if uri.startswith("file://"):
        return uri[len("file://"):]
    return None if "://" in uri else uri


def _inside(uri: str, roots: list[str]) -> bool:
    """Whether ``uri`` lies inside one of ``roots``: local paths compared after resolving
    symlinks and ``..``, URLs by scheme and normalised path."""
    local = _local_path(uri)
    for root in roots:
        root_local = _local_path(root)
        if local is not None and root_local is not None:
            path, top = os.path.realpath(local), os.path.realpath(root_local)
        elif local is None and root_local is None and (
                uri.split("://", 1)[0] == root.split("://", 1)[0]):
            path = posixpath.normpath("/" + uri.split("://", 1)[1])
            top = posixpath.normpath("/" + root.split("://", 1)[1])
        else:
            continue
        if path == top or path.startswith(top.rstrip("/") + "/"):
            return True
    return False


def _resolve(audio: str, base: str) -> str:
    """A manifest's ``audio`` value as a URI: relative paths against the manifest's directory,
    local paths normalised (``a/../b.wav`` is ``b.wav``) so one file has one recording id."""
    if "://" in audio:
        return audio
    if posixpath.isabs(audio):
        return posixpath.normpath(audio)
    joined = sio.join(base, audio)
    if "://" in joined:
        scheme, rest = joined.split("://", 1)
        lead = "/" if rest.startswith("/") else ""
        return f"{scheme}://{lead}{posixpath.normpath(rest).lstrip('/')}"
    return posixpath.normpath(joined)


def _row_reject(cfg: LocalSourceConfig, n: int, reason: Reason, detail: str,
                uri: str | None = None) -> Reject:
    """A reject of manifest row ``n``, with an id of its own (the row, not the audio)."""
    rid = recording_id_for(f"{cfg.manifest}#{n}")
    return Reject(id=rid, stage=Stage.SOURCE, reason=reason, detail=detail, recording_id=rid,
                  source_uri=uri or f"{cfg.manifest}#{n}", source_name=cfg.name)


def list_manifest(cfg: LocalSourceConfig, seen: Seen | None = None,
                  ) -> tuple[list[LocalItem], list[Reject]]:
    """Items of a TSV/JSONL manifest; bad rows become rejects (the job goes on)."""
    seen = {} if seen is None else seen
    where_cfg = f"sources[{cfg.name}].manifest"
    try:
        raw = sio.read_bytes(cfg.manifest, MAX_MANIFEST_BYTES)
    except FileNotFoundError as exc:
        raise ConfigError(f"{where_cfg}: {cfg.manifest} does not exist") from exc
    except sio.InputTooLarge as exc:
        raise ConfigError(f"{where_cfg}: {cfg.manifest} is over {MAX_MANIFEST_BYTES >> 20} MiB; "
                          "split it into several manifest sources") from exc
    except OSError as exc:  # a FIFO, a device, a directory, unreadable, too slow
        raise ConfigError(f"{where_cfg}: cannot read {cfg.manifest} ({exc}); "
                          "give a regular TSV/JSONL file") from exc
    try:
        data = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where_cfg}: {cfg.manifest} is not UTF-8") from exc
    base = posixpath.dirname(cfg.manifest)
    roots = [base, *cfg.roots]
    items, rejects = [], []
    for n, row in enumerate(_manifest_rows(cfg, data), start=1):
        audio = row.get("audio") if "__error__" not in row else None
        if not isinstance(audio, str) or not audio.strip():
            rejects.append(_row_reject(cfg, n, Reason.MANIFEST_ROW_INVALID,
                                       row.get("__error__") or f"row {n}: missing `audio`"))
            continue
        language = row.get("language")
        language = "" if language is None else language
        problem = language_problem(language.strip() if isinstance(language, str) else language)
        if problem is not None:
            rejects.append(_row_reject(cfg, n, Reason.MANIFEST_ROW_INVALID,
                                       f"row {n}: `language` {problem} (or leave it empty)"))
            continue
        uri = _resolve(audio.strip(), base)
        if not cfg.allow_outside_roots and not _inside(uri, roots):
            rejects.append(_row_reject(
                cfg, n, Reason.PATH_OUTSIDE_ROOT,
                f"row {n}: {audio.strip()!r} resolves to {uri}, outside the manifest's directory"
                f"{' and roots ' + ', '.join(cfg.roots) if cfg.roots else ''}; add its directory "
                f"to the source's `roots` or set `allow_outside_roots: true`", uri))
            continue
        where = f"source {cfg.name!r} ({cfg.manifest} row {n})"
        duplicate = _claim(seen, uri, where, cfg.name)
        if duplicate is not None:
            rejects.append(duplicate)
            continue
        kind = sio.file_kind(uri) if _local_path(uri) is not None else "file"
        if kind not in ("file", "missing"):  # missing: source_unreadable when analysed
            rejects.append(_not_a_file(uri, kind, where, cfg.name))
            continue
        text = row.get("text")
        items.append(LocalItem(
            audio_uri=uri, source_name=cfg.name,
            inline_text=text if isinstance(text, str) and text.strip() else None,
            transcript_format="manifest" if isinstance(text, str) and text.strip() else "",
            language=(language.strip() if isinstance(language, str) else "") or cfg.language,
            licence=cfg.licence,
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
