"""The publish phase's DoFns: stream kept candidates from the analysis packs into final shards.

Each shard is written by one DoFn call from its plan rows (sorted keys): every sample's FLAC is
read by byte range from its pack, edited if the plan asks (``filters.audio_edits``), and streamed
into a temporary tar that is renamed when complete. A worker holds one sample's audio at a time,
whatever the size of the corpus.
"""

from __future__ import annotations

import posixpath
import uuid
from typing import Any

import apache_beam as beam

from filters.anonymise_config import AnonymiseConfig, alpha_for, voice_key
from filters.audio_edits import DEFAULT_FADE_MS
from filters.shards import write_tar
from pipelines import io as sio
from schemas.analysis import audio_ref
from schemas.arrow import SEGMENT_SCHEMA
from schemas.keys import shard_name

SAMPLE_FIELDS = [n for n in SEGMENT_SCHEMA.names if n != "shard"]
REJECT_SAMPLE_COMPRESSION = 5  # FLAC level of re-encoded reject samples (for listening only)


def read_audio(analysis_dir: str, row: dict[str, Any]) -> bytes:
    pack, offset, size = audio_ref(row)
    fs, path = sio.fs_and_path(sio.join(analysis_dir, "audio", pack))
    data = fs.cat_file(path, start=offset, end=offset + size)
    if len(data) != size:
        raise OSError(f"{pack}: expected {size} bytes at {offset}, read {len(data)}")
    return data


def edited_audio(flac: bytes, edits: list[dict[str, Any]], compression: int,
                 alpha: float | None = None, fade_ms: float = DEFAULT_FADE_MS) -> bytes:
    """The published audio: the plan's edits, then (``alpha`` given) the voice anonymised, then
    the edits once more. Editing first keeps edited speech out of the anonymiser's frames;
    editing again keeps a silenced span silent inside its fades (a warped frame overlapping it
    would ring into it) and a tone the exact tone."""
    if not edits and alpha is None:
        return flac
    from filters.audio import decode_flac, encode_flac
    from filters.audio_edits import apply_edits

    spans = [(e["start"], e["end"], e["action"]) for e in edits]
    samples = apply_edits(decode_flac(flac), spans, fade_ms)
    if alpha is not None:
        from filters.anonymise import anonymise

        samples = apply_edits(anonymise(samples, alpha), spans, fade_ms)
    return encode_flac(samples, compression)


def sample_metadata(row: dict[str, Any], publish_alpha: bool = True) -> dict[str, Any]:
    meta = {name: row.get(name) for name in SAMPLE_FIELDS}
    meta["key"] = row["segment_id"]
    if not publish_alpha:
        meta["anonymise_alpha"] = None
    return meta


def shard_ranges(starts: list[str]) -> list[tuple[int, str, str | None]]:
    """(index, its first segment id, the next shard's or None) of each shard: all a publish
    task is handed to find its rows in the plan, so the job graph holds one small element a
    shard, never the plan rows."""
    return [(i, first, starts[i + 1] if i + 1 < len(starts) else None)
            for i, first in enumerate(starts)]


class ReadShardPlan(beam.DoFn):
    """(index, first id, next first id) -> (index, the plan rows of that shard).

    Reads ``RUN/plan/segments.parquet`` (sorted by segment id, in row groups of
    ``pipelines.manifests.PLAN_ROW_GROUP``) with the shard's id range as a filter, so only the
    row groups that meet it are read; ``index_column`` (``shard_index`` or ``ssl_index``) picks
    the shard's rows among them. The plan stays in storage: the launcher never ships it."""

    def __init__(self, plan_uri: str, index_column: str):
        self.plan_uri = plan_uri
        self.index_column = index_column

    def process(self, element):
        import pyarrow.parquet as pq

        index, first, following = element
        filters = [(self.index_column, "==", index), ("segment_id", ">=", first)]
        if following is not None:
            filters.append(("segment_id", "<", following))
        fs, path = sio.fs_and_path(self.plan_uri)
        yield index, pq.read_table(path, filesystem=fs, filters=filters).to_pylist()


class WriteShard(beam.DoFn):
    """(shard index, plan rows) -> one row describing the written shard (size, md5, keys)."""

    def __init__(self, analysis_dir: str, shards_dir: str, flac_compression: int,
                 anonymise: AnonymiseConfig | None = None, fade_ms: float = DEFAULT_FADE_MS):
        self.analysis_dir = analysis_dir
        self.shards_dir = shards_dir
        self.flac_compression = flac_compression
        self.anonymise = anonymise or AnonymiseConfig()
        self.fade_ms = fade_ms

    def sample(self, row: dict[str, Any]) -> tuple[str, bytes, dict[str, Any]]:
        """(key, published FLAC, JSON metadata) of one kept plan row."""
        audio = edited_audio(read_audio(self.analysis_dir, row), row.get("audio_edits") or [],
                             self.flac_compression, row.get("anonymise_alpha"), self.fade_ms)
        return row["segment_id"], audio, sample_metadata(row, self.anonymise.publish_alpha)

    def process(self, element):
        index, rows = element
        rows = sorted(rows, key=lambda r: r["segment_id"])
        name = shard_name(index)
        fs, path = sio.fs_and_path(sio.join(self.shards_dir, name))
        tmp = posixpath.join(posixpath.dirname(path), f".tmp-{uuid.uuid4().hex}.tar")
        fs.makedirs(posixpath.dirname(path), exist_ok=True)
        with fs.open(tmp, "wb") as fh:
            info = write_tar(fh, (self.sample(r) for r in rows))
        fs.mv(tmp, path)
        yield {"index": index, "shard": name, "nsamples": info.nsamples,
               "filesize": info.filesize, "md5sum": info.md5sum,
               "keys": sorted(info.offsets)}


class WriteSslShard(WriteShard):
    """(ssl shard index, ssl plan rows) -> one ``RUN/ssl/`` shard: audio and JSON without any
    text (``filters.ssl_speech``). A drop has no α from decide; with anonymisation on, its voice
    gets the α it would have had (the same draw as reject samples), so ``ssl/`` never carries a
    voice the labelled shards disguise. An ssl row has no audio edits (PII rules it out)."""

    @staticmethod
    def alpha(row: dict[str, Any], anonymise: AnonymiseConfig) -> float | None:
        return alpha_for(voice_key(row, anonymise), anonymise) if anonymise.enabled else None

    @staticmethod
    def metadata(row: dict[str, Any], anonymise: AnonymiseConfig) -> dict[str, Any]:
        from filters.ssl_speech import ssl_metadata

        alpha = WriteSslShard.alpha(row, anonymise)
        return ssl_metadata(row, alpha if anonymise.publish_alpha else None)

    def sample(self, row: dict[str, Any]) -> tuple[str, bytes, dict[str, Any]]:
        audio = edited_audio(read_audio(self.analysis_dir, row), [], self.flac_compression,
                             self.alpha(row, self.anonymise), self.fade_ms)
        return row["segment_id"], audio, self.metadata(row, self.anonymise)


class WriteRejectSamples(beam.DoFn):
    """(reason, [(id, audio ref row)]) -> RUN/samples/rejected/<reason>/<id>.flac for listening."""

    def __init__(self, analysis_dir: str, samples_dir: str,
                 anonymise: AnonymiseConfig | None = None, fade_ms: float = DEFAULT_FADE_MS):
        self.analysis_dir = analysis_dir
        self.samples_dir = samples_dir
        self.anonymise = anonymise or AnonymiseConfig()
        self.fade_ms = fade_ms

    def process(self, element):
        reason, picks = element
        for reject_id, ref in picks:
            audio = read_audio(self.analysis_dir, ref)
            alpha = None
            if self.anonymise.enabled:  # a reject's voice is as private as a kept one's
                alpha = alpha_for(voice_key(ref, self.anonymise), self.anonymise)
            edits = ref.get("audio_edits") or []  # its PII words (decide's drops)
            if edits or alpha is not None:
                audio = edited_audio(audio, edits, REJECT_SAMPLE_COMPRESSION, alpha,
                                     self.fade_ms)
            sio.write_bytes_atomic(sio.join(self.samples_dir, reason, f"{reject_id}.flac"),
                                   audio)
