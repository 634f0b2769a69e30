"""After the one shuffle: recording-level label decisions, then WebDataset shard writing.

Segments are keyed by a bucket of their recording id, so each bucket holds whole recordings
(needed to align an untimed transcript across its segments) and audio crosses exactly one
shuffle. Each bucket writes its kept segments, sorted by key, into parts of about the target
size; the launcher renames parts to ``shard-NNNNNN.tar`` in sorted order once the job is done.
"""

from __future__ import annotations

import logging
import posixpath
import uuid
from collections import defaultdict

import apache_beam as beam

from filters.audio import encode_flac
from filters.label_config import LabelConfig
from filters.label_decisions import decide_recording
from filters.shards import write_tar
from pipelines import io as sio
from pipelines.config import ShardConfig
from pipelines.stages.common import rejected
from schemas.arrow import segment_row
from schemas.reasons import Reason, Stage
from schemas.records import Recording, Reject, Segment

log = logging.getLogger(__name__)
PARTS = "parts"
PART_PREFIX = ".part-"


class DecideRecordings(beam.DoFn):
    """(bucket, {segments, meta}) -> (bucket, kept segments sorted by key) + rejects."""

    def __init__(self, config: LabelConfig):
        self.config = config

    def process(self, element):
        bucket, groups = element
        metas: dict[str, Recording] = {r.recording_id: r for r in groups["meta"]}
        by_recording: dict[str, list[Segment]] = defaultdict(list)
        for seg in groups["segments"]:
            by_recording[seg.recording_id].append(seg)
        kept: list[Segment] = []
        for rid in sorted(by_recording):
            segments = sorted(by_recording[rid], key=lambda s: s.index)
            audio = {s.segment_id: s.audio for s in segments}
            rec = metas.get(rid) or Recording(rid, segments[0].source_uri, "")
            keep, drop = decide_recording(rec, segments, self.config)
            seen = {s.segment_id for s in keep} | {r.id for r in drop}
            for seg in segments:  # nothing may vanish between the decision and the shard
                if seg.segment_id not in seen:
                    drop.append(Reject.for_segment(seg, Stage.LABEL, Reason.LABEL_DISAGREEMENT,
                                                   "no decision was made for this segment"))
            kept.extend(keep)
            for rej in drop:
                yield rejected(rej, audio.get(rej.id))
        kept.sort(key=lambda s: s.segment_id)
        yield bucket, kept


class WriteShards(beam.DoFn):
    """(bucket, sorted segments) -> segment manifest rows; part descriptions to ``parts``."""

    def __init__(self, shards_dir: str, config: ShardConfig):
        self.shards_dir = shards_dir
        self.config = config

    def _flush(self, bucket: int, part: int, batch: list[tuple[Segment, bytes]]):
        name = f"{PART_PREFIX}b{bucket:05d}-{part:05d}.tar"
        final = sio.join(self.shards_dir, name)
        fs, path = sio.fs_and_path(final)
        tmp = posixpath.join(posixpath.dirname(path), f".tmp-{uuid.uuid4().hex}.tar")
        fs.makedirs(posixpath.dirname(path), exist_ok=True)
        with fs.open(tmp, "wb") as fh:
            info = write_tar(fh, ((s.segment_id, flac, {**s.sample_metadata(), "key": s.segment_id})
                                  for s, flac in batch))
        fs.mv(tmp, path)
        yield beam.pvalue.TaggedOutput(PARTS, {"part": name, "nsamples": info.nsamples,
                                               "filesize": info.filesize, "md5sum": info.md5sum})
        for seg, _ in batch:
            row = segment_row(seg)
            row["shard"] = name
            row["key"] = seg.segment_id
            yield row

    def process(self, element):
        bucket, segments = element
        target = int(self.config.target_size_mb * 1024 * 1024)
        batch: list[tuple[Segment, bytes]] = []
        size, part = 0, 0
        for seg in segments:
            flac = encode_flac(seg.audio, self.config.flac_compression)
            batch.append((seg, flac))
            size += len(flac) + 2048
            if size >= target:
                yield from self._flush(bucket, part, batch)
                batch, size, part = [], 0, part + 1
        if batch:
            yield from self._flush(bucket, part, batch)
