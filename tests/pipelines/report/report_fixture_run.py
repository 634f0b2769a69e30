"""Build small but complete run directories for the report tests, exactly as the curate
pipeline's contract describes them (manifests, shards, shard index, stats, reject samples).

Audio is espeak-ng speech when espeak-ng is installed (a sine sweep otherwise), written as FLAC.
The rows returned alongside let tests compute expected numbers straight from what was written.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import soundfile as sf

from schemas.arrow import REJECT_SCHEMA, SEGMENT_SCHEMA, table
from schemas.keys import segment_id_for, shard_name

SR = 16_000
LANGS = ["en", "en", "de", "fr", ""]
SOURCES = ["podcast-a", "podcast-b", "local"]
LICENCES = ["CC-BY-4.0", "CC0-1.0", ""]
LABEL_SOURCES = ["source", "pseudo", "pseudo", "translation"]
REASONS = [("decode", "corrupt_audio"), ("segment", "no_speech"), ("quality", "low_quality"),
           ("dedup", "duplicate"), ("pii", "pii"), ("label", "label_disagreement")]


@dataclass
class FixtureRun:
    path: Path
    segments: list[dict[str, Any]]
    rejects: list[dict[str, Any]]
    stats: dict[str, Any]
    shards: dict[str, Any]
    reject_audio: dict[str, list[str]] = field(default_factory=dict)


def speech_wave(text: str = "The quick brown fox jumps over the lazy dog near the river bank.",
                seconds: float = 4.0) -> np.ndarray:
    """Real synthesised speech from espeak-ng (16 kHz mono float32), or a sweep without it."""
    exe = shutil.which("espeak-ng")
    if exe:
        wav = subprocess.run([exe, "--stdout", text], capture_output=True, check=True,
                             timeout=60).stdout
        audio, sr = sf.read(io.BytesIO(wav), dtype="float32")
        if sr != SR:
            idx = np.linspace(0, len(audio) - 1, int(len(audio) * SR / sr))
            audio = np.interp(idx, np.arange(len(audio)), audio).astype("float32")
        return audio
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * (200 + 100 * t) * t)).astype("float32")


def flac_bytes(audio: np.ndarray) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, audio, SR, format="FLAC")
    return buf.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def make_run(path: Path, n_segments: int = 40, n_rejects: int = 30, seed: int = 1,
             audio_segments: int | None = None, wave: np.ndarray | None = None,
             dnsmos: bool = False) -> FixtureRun:
    """Write a run directory at ``path``. ``audio_segments`` limits how many kept segments get
    real audio in the shard (all by default; a large run keeps the rest as tiny silent FLACs
    only where they are sampled, which is all the report reads)."""
    rng = random.Random(seed)
    wave = speech_wave() if wave is None else wave
    (path / "manifest").mkdir(parents=True, exist_ok=True)
    (path / "shards").mkdir(exist_ok=True)
    segs: list[dict[str, Any]] = []
    for i in range(n_segments):
        rec = f"{rng.randrange(16 ** 8):08x}rec{i % 7:05d}"[:16]
        sid = segment_id_for(rec, i)
        dur = round(rng.uniform(1.0, 12.0), 3)
        spans = [{"start": 0, "end": 5, "type": rng.choice(["email", "phone"])}] \
            if i % 9 == 0 else []
        segs.append({
            "segment_id": sid, "recording_id": rec, "index": i, "source_uri": f"file:///a/{rec}",
            "source_name": SOURCES[i % len(SOURCES)], "page_url": "",
            "licence": LICENCES[i % len(LICENCES)], "declared_language": "",
            "start": 0.0, "end": dur, "duration": dur,
            "source_text": f"source text number {i}" if i % 4 else None,
            "source_text_kind": "timed" if i % 4 else "none",
            "pseudo_label": f"pseudo label number {i}", "text": f"chosen label <b>{i}</b>",
            "label_source": LABEL_SOURCES[i % len(LABEL_SOURCES)], "task": "transcribe",
            "language": LANGS[i % len(LANGS)], "language_prob": rng.uniform(0.5, 1.0),
            "text_language": "", "text_language_prob": 0.0, "audio_language": "",
            "audio_language_prob": 0.0, "audio_language_probs": [],
            "avg_logprob": -rng.uniform(0, 1), "no_speech_prob": rng.uniform(0, 0.3),
            "compression_ratio": rng.uniform(1, 2), "cer": rng.uniform(0, 0.3) if i % 4 else None,
            "wer": None, "speech_ratio": rng.uniform(0.5, 1),
            "snr_db": rng.uniform(5, 40) if i % 3 else None, "clipping_ratio": 0.0,
            "loudness_lufs": rng.uniform(-35, -15), "chars_per_second": rng.uniform(5, 20),
            "dnsmos": rng.uniform(2, 4.5) if dnsmos else None, "pii_spans": spans,
            "dedup_cluster": f"c{i % 5:03d}" if i % 2 == 0 else "",
            "verdicts": [], "shard": shard_name(i % 2), "key": sid,
        })
    rejs: list[dict[str, Any]] = []
    for j in range(n_rejects):
        stage, reason = REASONS[j % len(REASONS)]
        dur = round(rng.uniform(0.5, 9.0), 3)
        detail = {"duplicate": f"near duplicate of cluster c{j % 5:03d}",
                  "pii": "email address in text"}.get(reason, f"{reason} detail {j}")
        rejs.append({
            "id": f"rej{j:05d}-{reason}".replace("_", "-"), "stage": stage, "reason": reason,
            "detail": detail, "recording_id": f"r{j:03d}", "source_uri": "",
            "source_name": SOURCES[j % len(SOURCES)], "page_url": "",
            "start": 0.0, "end": dur, "duration": dur, "language": LANGS[j % len(LANGS)],
            "text": f"dropped text {j}" if j % 2 else "", "pseudo_label": "",
        })
    pq.write_table(table(segs, SEGMENT_SCHEMA), path / "manifest" / "segments.parquet")
    pq.write_table(table(rejs, REJECT_SCHEMA), path / "manifest" / "rejects.parquet")

    limit = n_segments if audio_segments is None else audio_segments
    shardlist = []
    for s in sorted({r["shard"] for r in segs}):
        members = [r for r in segs if r["shard"] == s]
        tar_path = path / "shards" / s
        with tarfile.open(tar_path, "w") as tar:
            for k, r in enumerate(sorted(members, key=lambda r: r["key"])):
                if k < limit:
                    clip = wave[: int(min(r["duration"], len(wave) / SR) * SR)]
                    _add(tar, f"{r['key']}.flac", flac_bytes(clip))
                _add(tar, f"{r['key']}.json", json.dumps({"text": r["text"]}).encode())
        shardlist.append({"url": f"../shards/{s}", "nsamples": len(members),
                          "filesize": tar_path.stat().st_size, "md5sum": "0" * 32})
    shards = {"__kind__": "wids-shard-index-v1", "wids_version": 1, "shardlist": shardlist,
              "name": "fixture"}
    (path / "manifest" / "shards.json").write_text(json.dumps(shards))

    reject_audio: dict[str, list[str]] = {}
    for r in rejs:
        if r["reason"] in ("no_speech", "low_quality", "duplicate") and \
                len(reject_audio.get(r["reason"], [])) < 4:
            d = path / "samples" / "rejected" / r["reason"]
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{r['id']}.flac").write_bytes(flac_bytes(wave[: SR * 2]))
            reject_audio.setdefault(r["reason"], []).append(r["id"])

    by_reason: dict[str, dict[str, dict[str, float]]] = {}
    for r in rejs:
        e = by_reason.setdefault(r["stage"], {}).setdefault(r["reason"],
                                                            {"count": 0, "hours": 0.0})
        e["count"] += 1
        e["hours"] += r["duration"] / 3600
    kept_h = sum(r["duration"] for r in segs) / 3600
    stats = {
        "run": {"started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:01:00Z",
                "wall_s": 60.5, "runner": "DirectRunner", "config_hash": "ab" * 32,
                "asr_model": "base", "compute_type": "int8",
                "versions": {"speechcurate": "0.1.0", "apache-beam": "2.77.0"}},
        "input": {"recordings": 12, "hours": round(kept_h * 1.5, 6),
                  "sources": {"podcast-a": {"recordings": 6, "hours": 0.1}}},
        "stages": [
            {"stage": "decode", "unit": "recordings", "in": {"count": 12, "hours": kept_h * 1.5},
             "out": {"count": 10, "hours": kept_h * 1.3}, "rejected": by_reason.get("decode", {})},
            {"stage": "segment", "unit": "segments", "in": {"count": 80, "hours": kept_h * 1.3},
             "out": {"count": 70, "hours": kept_h * 1.2},
             "rejected": by_reason.get("segment", {})},
        ],
        "kept": {"segments": len(segs), "hours": kept_h, "recordings": 7},
        "rejects": {"count": len(rejs)},
        "shards": {"count": len(shardlist)},
    }
    (path / "stats.json").write_text(json.dumps(stats))
    return FixtureRun(path, segs, rejs, stats, shards, reject_audio)
