"""The analyse phase's DoFns: one recording at a time, from bytes to committed analysis rows.

``AnalyseRecording`` decodes, segments and identifies the transcript's language; Whisper
(``pipelines.stages.asr``) labels all of a recording's segments together; ``MeasureAndCommit``
measures each candidate, encodes it once as FLAC and commits recordings in packs. Audio stays in
one fused chain of DoFns and crosses no shuffle.

A pack is committed by writing, in order, its audio tar, its segment and reject rows and last its
recording rows: a recording counts as analysed only once its row exists, so a worker killed
mid-pack leaves nothing that a rerun would trust (orphan files under other names are ignored).
Pack names are a hash of the recordings inside, so a retried bundle rewrites the same names.
"""

from __future__ import annotations

import hashlib
import io
import logging
import posixpath
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from filters.audio import AudioError
from filters.dedup.config import DedupConfig
from filters.vad import segment_speech_counted
from pipelines import io as sio
from pipelines import model_cache
from pipelines.config import DecodeConfig, LidConfig, SegmentConfig
from pipelines.sources.local import LocalItem, load_item
from pipelines.stages.isolated import borrow_decoder
from schemas.analysis import (
    ANALYSIS_RECORDING_SCHEMA,
    ANALYSIS_REJECT_SCHEMA,
    ANALYSIS_SEGMENT_SCHEMA,
    analysis_segment_row,
)
from schemas.arrow import recording_row, reject_row
from schemas.keys import segment_id_for
from schemas.reasons import Reason, Stage
from schemas.records import SAMPLE_RATE, Recording, Reject, Segment

log = logging.getLogger(__name__)
TRANSCRIPT_LID_CHARS = 5000  # a whole transcript's language is judged on its start
AUDIO, SEGMENTS, REJECTS, RECORDINGS = "audio", "segments", "rejects", "recordings"


@dataclass
class RecordingWork:
    """Everything analyse learned about one recording, passed between its fused DoFns."""

    recording: Recording
    status: str = "decoded"  # "decoded" or "rejected"
    segments: list[Segment] = field(default_factory=list)  # candidates, with audio
    rejects: list[tuple[Reject, np.ndarray | None]] = field(default_factory=list)
    n_segments: int = 0  # spans VAD produced (the segment ledger's input count)
    short_speech_s: float = 0.0
    transcript_language: tuple[str, float] = ("", 0.0)  # the whole transcript's fastText vote
    dedup: dict[str, Any] = field(default_factory=dict)  # the recording's PCM hash, fingerprint


class LoadLocalItem(beam.DoFn):
    """A listed local file -> (Recording, transcript reject or None)."""

    def process(self, item: LocalItem):
        yield load_item(item)


def _transcript_text(rec: Recording) -> str:
    text = rec.transcript_text or " ".join(c.text for c in rec.cues)
    return text[:TRANSCRIPT_LID_CHARS]


def text_lid() -> Any:
    """fastText lid.176, loaded once per worker process (``pipelines.model_cache``)."""
    from filters.text_lid import TextLanguageIdentifier, lid176_path

    path = str(lid176_path())
    return model_cache.shared(("fasttext-lid", path),
                              lambda: TextLanguageIdentifier(path).load())


def dnsmos_scorer() -> Any:
    """The DNSMOS scorer, built once per worker process and thread setting; None (with a
    warning) without speechmos/onnxruntime."""
    from filters import dnsmos

    if not dnsmos.available():
        log.warning("DNSMOS unavailable (speechmos or onnxruntime missing): not measured")
        return None
    threads = dnsmos.default_threads()
    return model_cache.shared(("dnsmos", str(dnsmos.model_path()), threads),
                              lambda: dnsmos.DnsmosScorer(threads=threads))


class AnalyseRecording(beam.DoFn):
    """(Recording, side reject) -> RecordingWork: read, decode (in a child process with a
    deadline), VAD-segment, and identify the transcript's language with one fastText model."""

    def __init__(self, decode: DecodeConfig, segment: SegmentConfig, lid: LidConfig,
                 isolate: bool = True):
        self.decode_cfg = decode
        self.segment_cfg = segment
        self.lid_cfg = lid
        self.isolate = isolate
        self._lid: Any = None

    def setup(self) -> None:
        import multiprocessing

        if self.isolate and multiprocessing.current_process().daemon:
            from pipelines.runners import DAEMON_HINT

            raise RuntimeError(f"analyse cannot isolate the decoder in this worker: {DAEMON_HINT}")
        self._lid = text_lid()

    def teardown(self) -> None:
        self._lid = None

    def _language(self, text: str | None) -> tuple[str, float]:
        text = (text or "").strip()
        if len(text) < self.lid_cfg.min_text_chars:
            return "", 0.0
        top = self._lid.predict(text, k=1)
        return (top[0][0], round(top[0][1], 4)) if top else ("", 0.0)

    def _decode(self, data: bytes):
        from filters.audio import decode_audio

        cfg = self.decode_cfg
        if self.isolate:
            with borrow_decoder(cfg.timeout_s) as decoder:
                return decoder.decode(data, cfg.max_duration_s, cfg.min_duration_s)
        return decode_audio(data, cfg.max_duration_s, cfg.min_duration_s)

    def process(self, element: tuple[Recording, Reject | None]):
        rec, side = element
        work = RecordingWork(rec, rejects=[(side, None)] if side is not None else [])
        try:
            data = sio.read_bytes(rec.audio_uri, self.decode_cfg.max_bytes)
            audio = self._decode(data)
        except sio.InputTooLarge as exc:
            yield self._rejected(work, Stage.DECODE, Reason.TOO_LARGE, str(exc))
            return
        except sio.NotAFile as exc:  # it changed since it was listed
            yield self._rejected(work, Stage.SOURCE, Reason.NOT_A_FILE, str(exc))
            return
        except AudioError as exc:
            yield self._rejected(work, Stage.DECODE, exc.reason, exc.detail)
            return
        except (OSError, ValueError) as exc:
            yield self._rejected(work, Stage.SOURCE, Reason.SOURCE_UNREADABLE,
                                 f"{type(exc).__name__}: {exc}")
            return
        del data
        from filters.dedup.measure import recording_measures

        work.dedup = recording_measures(audio.samples)
        rec = replace(rec, codec=audio.codec, duration=audio.duration,
                      sample_rate=audio.source_sample_rate, channels=audio.channels)
        work.recording = rec
        work.transcript_language = self._language(_transcript_text(rec))
        spans, work.short_speech_s = segment_speech_counted(audio.samples, self.segment_cfg,
                                                            rec.cues)
        work.n_segments = len(spans)
        if not spans:
            work.rejects.append((Reject.for_recording(
                rec, Stage.SEGMENT, Reason.NO_SPEECH, "voice activity detection found no speech"),
                None))
            yield work
            return
        kind = "timed" if rec.cues else ("untimed" if rec.transcript_text else "none")
        for index, span in enumerate(spans):
            clip = audio.samples[int(span.start * SAMPLE_RATE):int(span.end * SAMPLE_RATE)].copy()
            text = span.source_text if kind == "timed" else None
            text_language = (self._language(text) if kind == "timed"
                             else work.transcript_language if kind == "untimed" else ("", 0.0))
            seg = Segment(
                segment_id=segment_id_for(rec.recording_id, index),
                recording_id=rec.recording_id, index=index, source_uri=rec.source_uri,
                start=span.start, end=span.end, audio=clip,
                source_name=rec.source_name, page_url=rec.page_url, licence=rec.licence,
                declared_language=rec.declared_language, source_text=text,
                source_text_kind=kind, speech_ratio=span.speech_ratio,
                text_language=text_language[0], text_language_prob=text_language[1],
            )
            if span.duration < self.segment_cfg.min_segment_s:
                work.rejects.append((Reject.for_segment(
                    seg, Stage.SEGMENT, Reason.SEGMENT_TOO_SHORT,
                    f"{span.duration:.2f}s < segment.min_segment_s="
                    f"{self.segment_cfg.min_segment_s}"), clip))
                continue
            work.segments.append(seg)
        yield work

    @staticmethod
    def _rejected(work: RecordingWork, stage: str, reason: str, detail: str) -> RecordingWork:
        work.status = "rejected"
        work.rejects.append((Reject.for_recording(work.recording, stage, reason, detail), None))
        return work


def pack_name(recording_ids: list[str]) -> str:
    digest = hashlib.sha256("\n".join(sorted(recording_ids)).encode()).hexdigest()[:20]
    return f"pack-{digest}"


def _parquet(rows: list[dict[str, Any]], schema: pa.Schema) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), buf)
    return buf.getvalue()


class MeasureAndCommit(beam.DoFn):
    """RecordingWork -> committed packs under ``analysis_dir`` (see the module docstring).

    Audio is streamed into the pack's tar as it comes, so a worker holds at most one recording's
    audio plus thin rows; a pack closes at ``pack_target_mb`` of FLAC or at the bundle's end.
    Yields the ids of the recordings it committed (for progress and counting)."""

    def __init__(self, analysis_dir: str, pack_target_mb: float, flac_compression: int,
                 dedup: DedupConfig | None = None):
        self.analysis_dir = analysis_dir
        self.pack_target = int(pack_target_mb * 1024 * 1024)
        self.flac_compression = flac_compression
        self.dedup = dedup or DedupConfig()
        self._open: dict[str, Any] | None = None

    def setup(self) -> None:
        # DNSMOS loads once per worker process; without speechmos/onnxruntime its columns stay
        # null and the quality filter skips the DNSMOS check (it never drops for a missing measure).
        self._dnsmos = dnsmos_scorer()

    def start_bundle(self) -> None:
        self._open = None

    def _measured(self, segments: list[Segment]) -> list[Segment]:
        """Every quality measure of a recording's candidates; DNSMOS in one batch."""
        from filters.audio_quality import measure

        scores = (self._dnsmos.score([s.audio for s in segments])
                  if getattr(self, "_dnsmos", None) is not None and segments
                  else [None] * len(segments))
        out = []
        for seg, mos in zip(segments, scores, strict=True):
            m = measure(seg.audio)
            out.append(replace(
                seg, clipping_ratio=m.clipping_ratio, loudness_lufs=m.loudness_lufs,
                snr_db=m.snr_db, bandwidth_hz=m.bandwidth_hz, dc_offset=m.dc_offset,
                silence_ratio=m.silence_ratio, peak_dbfs=m.peak_dbfs,
                dnsmos=mos.ovrl if mos else None, dnsmos_sig=mos.sig if mos else None,
                dnsmos_bak=mos.bak if mos else None))
        return out

    def _start_pack(self) -> dict[str, Any]:
        import tarfile

        fs, base = sio.fs_and_path(sio.join(self.analysis_dir, AUDIO))
        fs.makedirs(base, exist_ok=True)
        tmp = posixpath.join(base, f".tmp-{uuid.uuid4().hex}.tar")
        fh = fs.open(tmp, "wb")
        from filters.shards import HashingWriter

        sink = HashingWriter(fh)
        tar = tarfile.open(fileobj=sink, mode="w|", format=tarfile.USTAR_FORMAT)
        return {"fs": fs, "base": base, "tmp": tmp, "fh": fh, "sink": sink, "tar": tar,
                "ids": [], "segments": [], "rejects": [], "recordings": [], "n_audio": 0}

    def _add_audio(self, pack: dict[str, Any], key: str, audio: np.ndarray) -> tuple[int, int]:
        from filters.audio import encode_flac
        from filters.shards import add_member

        flac = encode_flac(audio, self.flac_compression)
        offset = add_member(pack["tar"], f"{key}.flac", flac)
        pack["n_audio"] += 1
        return offset, len(flac)

    def process(self, work: RecordingWork):
        if self._open is None:
            self._open = self._start_pack()
        pack = self._open
        rid = work.recording.recording_id
        pack["ids"].append(rid)
        from filters.dedup.measure import segment_measures

        measured = self._measured(work.segments)
        dedup = segment_measures([(s.audio, s.source_text, s.pseudo_label) for s in measured],
                                 self.dedup)
        for seg, extra in zip(measured, dedup, strict=True):
            offset, size = self._add_audio(pack, seg.segment_id, seg.audio)
            # only the thin row waits for the commit: the audio is already in the tar
            pack["segments"].append((replace(seg, audio=None), offset, size, extra))
        for rej, audio in work.rejects:
            ref = self._add_audio(pack, rej.id, audio) if audio is not None else (0, 0)
            pack["rejects"].append((rej, ref, audio is not None))
        pack["recordings"].append((work.recording, work.status, work.n_segments,
                                   work.short_speech_s, work.dedup))
        yield rid
        if pack["sink"].size >= self.pack_target:
            self._commit()

    def finish_bundle(self) -> None:
        if self._open is not None:
            self._commit()

    def _commit(self) -> None:
        pack, self._open = self._open, None
        name = pack_name(pack["ids"])
        pack["tar"].close()
        pack["fh"].close()
        fs = pack["fs"]
        audio_name = f"{name}.tar"
        fs.mv(pack["tmp"], posixpath.join(pack["base"], audio_name))
        seg_rows = [analysis_segment_row(s, audio_name, off, size, extra)
                    for s, off, size, extra in pack["segments"]]
        rej_rows = []
        for rej, (off, size), has_audio in pack["rejects"]:
            row = reject_row(rej)
            row.update(audio_pack=audio_name if has_audio else "", audio_offset=off,
                       audio_bytes=size)
            rej_rows.append(row)
        rec_rows = []
        for rec, status, n, short, dedup in pack["recordings"]:
            row = recording_row(rec)
            row.update(status=status, n_segments=n, short_speech_s=round(short, 3), pack=name,
                       pcm_sha256=dedup.get("pcm_sha256", ""), audio_fp=dedup.get("audio_fp"))
            rec_rows.append(row)
        for table, rows, schema in ((SEGMENTS, seg_rows, ANALYSIS_SEGMENT_SCHEMA),
                                    (REJECTS, rej_rows, ANALYSIS_REJECT_SCHEMA),
                                    (RECORDINGS, rec_rows, ANALYSIS_RECORDING_SCHEMA)):
            sio.write_bytes_atomic(sio.join(self.analysis_dir, table, f"{name}.parquet"),
                                   _parquet(rows, schema))
        log.debug("committed %s: %d recordings, %d segments", name, len(rec_rows), len(seg_rows))
