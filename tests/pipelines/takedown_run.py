"""A small published run with web URLs, built without models in a few seconds.

An analysis (``RUN/analysis/``: one audio pack of real FLAC tones, segment and recording rows in
the real schemas, ``analysis.json``) is written directly, then ``run_refilter`` decides and
publishes it with the real registry and shard writer. Four recordings of three segments on three
hosts; shards of about two samples, so recordings share shards (keys sort by recording id):
takedowns rewrite some shards and delete others.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from filters.audio import SAMPLE_RATE, encode_flac
from filters.shards import write_tar
from pipelines import analysis_store as store
from pipelines.config import RunConfig, parse_config
from pipelines.curate import run_refilter
from schemas.analysis import (
    ANALYSIS_RECORDING_SCHEMA,
    ANALYSIS_REJECT_SCHEMA,
    ANALYSIS_SEGMENT_SCHEMA,
)
from schemas.keys import recording_id_for, segment_id_for

URLS = (
    "https://media.alpha.example/pod/ep1.mp3",
    "https://CDN.Alpha.Example/pod/ep2.mp3",  # same domain (subdomain), other case
    "https://beta.example.org/talks/t1.mp3",
    "http://gamma.example.net/a/b.mp3",
)
SENTENCES = ("the weather today will be sunny and warm", "tomorrow brings clouds and some rain",
             "every utterance needs a matching transcript")
PACK = "pack-00000000000000000000"
SEG_SECONDS = 1.6


def config(tmp: Path, extra: str = "") -> RunConfig:
    import yaml

    text = ("sources:\n  - name: web\n    type: local\n    path: " + str(tmp) + "\n"
            "curate:\n  quality:\n    mode: 'off'\n  shards:\n    target_size_mb: 0.06\n" + extra)
    return parse_config(yaml.safe_load(text), base_dir=tmp)


def _row(rid: str, uri: str, i: int, offset: int, size: int) -> dict:
    start = 0.5 + i * 2.0
    text = SENTENCES[i]
    row = {name: None for name in ANALYSIS_SEGMENT_SCHEMA.names}
    row.update(
        segment_id=segment_id_for(rid, i), recording_id=rid, index=i, source_uri=uri,
        source_name="web", page_url=uri.rsplit("/", 1)[0] + "/feed.xml", licence="CC-BY-4.0",
        declared_language="en", start=start, end=start + SEG_SECONDS, duration=SEG_SECONDS,
        source_text=text.capitalize() + ".", source_text_kind="timed",
        pseudo_label=text.capitalize() + ".", text="", label_source="none",
        task="transcribe", language="", language_prob=0.0, text_language="en",
        text_language_prob=0.95, audio_language="en", audio_language_prob=0.97,
        audio_language_probs=[{"language": "en", "prob": 0.97}], avg_logprob=-0.2,
        no_speech_prob=0.01, compression_ratio=1.3, speech_ratio=0.9, snr_db=30.0,
        clipping_ratio=0.0, loudness_lufs=-20.0, dnsmos=3.4, pii_spans=[], dedup_cluster="",
        verdicts=[], shard="", key="", label_coverage=1.0, label_uncovered_s=0.0,
        audio_pack=f"{PACK}.tar", audio_offset=offset, audio_bytes=size)
    return row


def build_published_run(root: Path) -> tuple[Path, RunConfig]:
    """(published run with its own analysis, config) under ``root``."""
    source, out = root / "source", root / "published"
    analysis = source / "analysis"
    for sub in ("audio", "segments", "recordings", "rejects"):
        (analysis / sub).mkdir(parents=True, exist_ok=True)
    cfg = config(root)
    rng = np.random.default_rng(7)
    samples, meta = [], []
    for n, uri in enumerate(URLS):
        rid = recording_id_for(uri)
        for i in range(len(SENTENCES)):
            t = np.arange(int(SEG_SECONDS * SAMPLE_RATE)) / SAMPLE_RATE
            tone = 0.3 * np.sin(2 * np.pi * (180 + 40 * n + 15 * i) * t)
            noise = 0.01 * rng.standard_normal(t.size)
            samples.append((segment_id_for(rid, i), encode_flac((tone + noise).astype(np.float32)),
                            None))
            meta.append((rid, uri, i))
    with open(analysis / "audio" / f"{PACK}.tar", "wb") as fh:
        info = write_tar(fh, samples)
    rows = [_row(rid, uri, i, *info.offsets[segment_id_for(rid, i)]) for rid, uri, i in meta]
    recordings = []
    for uri in URLS:
        rid = recording_id_for(uri)
        cues = [{"start": 0.5 + i * 2.0, "end": 0.5 + i * 2.0 + SEG_SECONDS,
                 "text": s.capitalize() + "."} for i, s in enumerate(SENTENCES)]
        rec = {name: None for name in ANALYSIS_RECORDING_SCHEMA.names}
        rec.update(recording_id=rid, source_uri=uri, audio_uri=uri, source_name="web",
                   page_url=uri.rsplit("/", 1)[0] + "/feed.xml", codec="mp3", duration=7.0,
                   sample_rate=16000, channels=1, transcript_format="vtt", cues=cues,
                   declared_language="en", licence="CC-BY-4.0", status="decoded",
                   n_segments=len(SENTENCES), short_speech_s=0.0, pack=PACK)
        recordings.append(rec)
    pq.write_table(pa.Table.from_pylist(rows, schema=ANALYSIS_SEGMENT_SCHEMA),
                   analysis / "segments" / f"{PACK}.parquet")
    pq.write_table(pa.Table.from_pylist([], schema=ANALYSIS_REJECT_SCHEMA),
                   analysis / "rejects" / f"{PACK}.parquet")
    pq.write_table(pa.Table.from_pylist(recordings, schema=ANALYSIS_RECORDING_SCHEMA),
                   analysis / "recordings" / f"{PACK}.parquet")
    store.write_settings(str(analysis), cfg)
    run_refilter(str(source), cfg, str(out))
    shutil.copytree(analysis, out / "analysis")  # a run that owns its analysis, as `run` leaves
    shutil.rmtree(source)
    return out, cfg
