"""Reading and guarding ``RUN/analysis/``: which recordings are committed, their rows, and the
settings the analysis was made with.

A recording is committed when its row is in a pack's ``recordings/*.parquet`` (written last). A
recording committed twice (a retried bundle that regrouped its pack) is owned by the pack whose
name sorts first; rows of other packs for it are ignored, so nothing is counted twice.
"""

from __future__ import annotations

import dataclasses
import io
import json
import posixpath
from typing import Any

import pyarrow.parquet as pq

from filters.audio_fingerprint import FINGERPRINT_VERSION
from filters.audio_quality import SNR_METHOD
from filters.dedup.config import ANALYSE_FIELDS
from pipelines import io as sio
from pipelines.config import ConfigError, RunConfig

CONFIG_FILE = "analysis.json"
# Versions of measures whose definition is code, not config: a stored analysis made with another
# definition (e.g. WADA-SNR before the band-quantile SNR) cannot be mixed with a new one.
MEASURE_VERSIONS = {"measure.snr_db": SNR_METHOD, "measure.audio_fingerprint": FINGERPRINT_VERSION}
# Settings that change no result (throughput knobs) and so never block a resume or a refilter.
THROUGHPUT_ONLY = {"asr.batch_size", "asr.cpu_threads", "asr.encoder_cache_mb",
                   "decode.timeout_s", "shards.target_size_mb", "shards.writers"}


def analysis_settings(config: RunConfig) -> dict[str, Any]:
    """The settings an analysis depends on, flattened (``asr.beam_size`` -> 5), and the versions
    of the measures it stored (``measure.snr_db``)."""
    cur = config.curate
    sections = {"decode": cur.decode, "segment": cur.segment, "asr": cur.asr,
                "lid": {"min_text_chars": cur.lid.min_text_chars},
                # the MinHash settings change the stored signatures (filters/dedup/config.py)
                "dedup": {k: getattr(cur.dedup, k) for k in ANALYSE_FIELDS},
                "shards": {"flac_compression": cur.shards.flac_compression}}
    flat: dict[str, Any] = dict(MEASURE_VERSIONS)
    for name, value in sections.items():
        data = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
        for key, v in data.items():
            if f"{name}.{key}" not in THROUGHPUT_ONLY:
                flat[f"{name}.{key}"] = list(v) if isinstance(v, tuple) else v
    return flat


def check_settings(analysis_dir: str, config: RunConfig, what: str) -> None:
    """Fail, naming every field, when ``config`` would analyse differently than ``analysis_dir``
    was analysed (resuming or refiltering it would then mix two kinds of labels)."""
    uri = sio.join(analysis_dir, CONFIG_FILE)
    if not sio.exists(uri):
        return
    stored = json.loads(sio.read_bytes(uri))
    current = analysis_settings(config)
    diffs = [f"{k if k.startswith('measure.') else 'curate.' + k}: "
             f"{stored.get(k)!r} -> {current.get(k)!r}"
             for k in sorted(set(stored) | set(current)) if stored.get(k) != current.get(k)]
    if diffs:
        raise ConfigError(
            f"{what}: {analysis_dir} was analysed with other settings ({'; '.join(diffs)}). "
            "These change labels, so the analysis cannot be reused: use a new --out (or --force "
            "to analyse again from scratch)")


def write_settings(analysis_dir: str, config: RunConfig) -> None:
    sio.write_text_atomic(sio.join(analysis_dir, CONFIG_FILE),
                          json.dumps(analysis_settings(config), indent=1, sort_keys=True))


def _read(uri: str, columns: list[str] | None = None) -> list[dict[str, Any]]:
    return pq.read_table(io.BytesIO(sio.read_bytes(uri)), columns=columns).to_pylist()


def committed_packs(analysis_dir: str) -> list[str]:
    """Names of committed packs (their recordings file exists), sorted."""
    files = sio.glob(sio.join(analysis_dir, "recordings", "pack-*.parquet"))
    return sorted(posixpath.basename(f).removesuffix(".parquet") for f in files)


def owners(analysis_dir: str) -> dict[str, str]:
    """``{recording_id: pack}`` of every committed recording (the first pack wins)."""
    out: dict[str, str] = {}
    for pack in committed_packs(analysis_dir):
        uri = sio.join(analysis_dir, "recordings", f"{pack}.parquet")
        for row in _read(uri, ["recording_id"]):
            out.setdefault(row["recording_id"], pack)
    return out


def pack_rows(analysis_dir: str, table: str, pack: str, owner: dict[str, str],
              columns: list[str] | None = None) -> list[dict[str, Any]]:
    """Rows of one pack's ``table`` for the recordings that pack owns (and ``owner`` lists)."""
    if columns is not None and "recording_id" not in columns:
        columns = [*columns, "recording_id"]
    rows = _read(sio.join(analysis_dir, table, f"{pack}.parquet"), columns)
    return [r for r in rows if owner.get(r["recording_id"]) == pack]


def all_rows(analysis_dir: str, table: str, owner: dict[str, str],
             columns: list[str] | None = None) -> list[dict[str, Any]]:
    return [row for pack in sorted(set(owner.values()))
            for row in pack_rows(analysis_dir, table, pack, owner, columns)]
