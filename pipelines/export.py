"""``speechcurate export RUN --format lhotse|nemo|hf``: a run's shards in other toolkits' formats.

The shards already are WebDataset (``wids``, ``webdataset`` and Hugging Face ``datasets`` read
``manifest/shards.json`` / the tars as they are; ``tests/pipelines/test_consumers.py``). Export
writes what the other toolkits need, from the published shards and ``segments.parquet`` only, so
nothing that publish kept back can leak:

``lhotse``
    Lhotse Shar, one shard per run shard: ``cuts.NNNNNN.jsonl.gz`` (``MonoCut`` with one
    supervision: text, language; task, label source, licence and source times under
    ``custom``) and ``recording.NNNNNN.tar`` (``KEY.flac`` then ``KEY.json``: the FLAC bytes
    copied as they are, and the Shar ``Recording`` placeholder). ``CutSet.from_shar(in_dir=OUT)``
    reads it. The audio is copied: Shar's tars pair each file with a lhotse manifest, ours with
    our metadata.
``nemo``
    NeMo tarred-dataset manifests that reference the run's tars in place (no copy):
    ``tarred_audio_manifest.json`` and ``sharded_manifests/manifest_N.json`` (JSON lines:
    ``audio_filepath`` = the member name in the tar, ``duration``, ``text``, ``shard_id``,
    ``lang`` and Canary's ``source_lang``, ``target_lang``, ``task`` = asr|ast, ``pnc``), and
    ``nemo_config.yaml`` with ``tarred_audio_filepaths`` in NeMo's ``_OP_..._CL_`` brace form.
    NeMo matches a manifest line to a tar member by the file name without extension, which is
    the sample key, so the shards need no change.
``hf``
    A Hugging Face dataset repository: ``README.md`` (a dataset card with the run's figures,
    languages, licences, filters and reject reasons, and a ``configs`` header pointing
    ``datasets`` at the tars), ``data/train/shard-*.tar`` (hard links when possible, else
    copies) and ``metadata/segments.parquet``.

Each export is written to a temporary directory and renamed into place, so a failed export never
leaves a half-written one, and a rerun replaces the previous export whole.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMATS = ("lhotse", "nemo", "hf")
SAMPLE_RATE = 16_000
TAR_MTIME = 946684800  # the shards' fixed mtime (2000-01-01): reproducible exports


@dataclass(frozen=True)
class ExportResult:
    format: str
    path: Path
    samples: int
    files: int

    def render(self) -> str:
        return f"export: {self.samples} segment(s) as {self.format} in {self.path} " \
               f"({self.files} file(s))"


# ---------------------------------------------------------------------------- reading a run


def shard_list(run_dir: Path, index: str = "manifest/shards.json") -> list[Path]:
    """The run's tars in shards.json order (``index="ssl/shards.json"``: its ``ssl/`` tars)."""
    index_path = run_dir / index
    if not index_path.is_file():
        raise FileNotFoundError(f"{index_path}: not a published run (no manifest/shards.json)")
    index = json.loads(index_path.read_text(encoding="utf-8"))
    return [(index_path.parent / entry["url"]).resolve() for entry in index["shardlist"]]


def read_segments(run_dir: Path) -> dict[str, dict[str, Any]]:
    import pyarrow.parquet as pq

    rows = pq.read_table(run_dir / "manifest" / "segments.parquet").to_pylist()
    return {row["segment_id"]: row for row in rows}


def tar_samples(path: Path) -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    """(key, FLAC bytes, metadata) of each sample of a shard, in tar order."""
    pending: dict[str, dict[str, bytes]] = {}
    with tarfile.open(path) as tar:
        for member in tar:
            if not member.isfile():
                continue
            key, _, ext = member.name.partition(".")
            fh = tar.extractfile(member)
            pending.setdefault(key, {})[ext] = fh.read() if fh else b""
            sample = pending[key]
            if "flac" in sample and "json" in sample:
                del pending[key]
                yield key, sample["flac"], json.loads(sample["json"])


def flac_frames(data: bytes) -> int:
    import soundfile as sf

    info = sf.info(io.BytesIO(data))
    if info.samplerate != SAMPLE_RATE or info.channels != 1:
        raise ValueError(f"expected 16 kHz mono FLAC, got {info.samplerate} Hz "
                         f"x {info.channels}")
    return int(info.frames)


# ---------------------------------------------------------------------------- writing helpers


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = TAR_MTIME
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


def _jsonl(rows: Sequence[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


# ---------------------------------------------------------------------------- lhotse


def _lhotse(run_dir: Path, out: Path, final: Path) -> int:
    samples = 0
    for i, shard in enumerate(shard_list(run_dir)):
        cuts = []
        with tarfile.open(out / f"recording.{i:06d}.tar", "w", format=tarfile.USTAR_FORMAT) \
                as tar:
            for key, flac, meta in tar_samples(shard):
                frames = flac_frames(flac)
                duration = frames / SAMPLE_RATE
                recording = {"id": key,
                             "sources": [{"type": "shar", "channels": [0], "source": ""}],
                             "sampling_rate": SAMPLE_RATE, "num_samples": frames,
                             "duration": duration, "channel_ids": [0]}
                _add(tar, f"{key}.flac", flac)
                _add(tar, f"{key}.json", (json.dumps(recording) + "\n").encode("utf-8"))
                custom = {"task": meta.get("task"), "label_source": meta.get("label_source"),
                          "licence": meta.get("licence"),
                          "source_recording_id": meta.get("recording_id"),
                          "source_start": meta.get("start"), "source_end": meta.get("end")}
                supervision = {"id": key, "recording_id": key, "start": 0.0,
                               "duration": duration, "channel": 0, "text": meta.get("text", ""),
                               "language": meta.get("language") or None, "custom": custom}
                cuts.append({"id": key, "start": 0.0, "duration": duration, "channel": 0,
                             "supervisions": [supervision], "recording": recording,
                             "type": "MonoCut"})
                samples += 1
        with open(out / f"cuts.{i:06d}.jsonl.gz", "wb") as raw, \
                gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(_jsonl(cuts))
    return samples


# ---------------------------------------------------------------------------- NeMo


def nemo_entry(key: str, duration: float, meta: dict[str, Any], shard_id: int) -> dict[str, Any]:
    """One tarred-manifest line (NeMo ASR fields, plus Canary's multitask fields)."""
    language = meta.get("language") or ""
    translate = meta.get("task") == "translate"
    return {"audio_filepath": f"{key}.flac", "duration": round(duration, 6),
            "text": meta.get("text", ""), "shard_id": shard_id, "lang": language,
            "source_lang": language, "target_lang": "en" if translate else language,
            "task": "ast" if translate else "asr", "pnc": "yes"}


def brace_pattern(paths: Sequence[Path]) -> str | None:
    """``DIR/shard-_OP_000000..000003_CL_.tar`` when the shards are numbered without gaps."""
    if not paths:
        return None
    names = [p.name for p in paths]
    parents = {p.parent for p in paths}
    try:
        numbers = [int(n.removeprefix("shard-").removesuffix(".tar")) for n in names]
    except ValueError:
        return None
    expected = [f"shard-{n:06d}.tar" for n in numbers]
    if len(parents) != 1 or names != expected or numbers != list(
            range(numbers[0], numbers[0] + len(numbers))):
        return None
    return f"{paths[0].parent}/shard-_OP_{numbers[0]:06d}..{numbers[-1]:06d}_CL_.tar"


def _nemo(run_dir: Path, out: Path, final: Path) -> int:
    """Write into ``out``; ``final`` is where the export will live (paths in the config)."""
    import yaml

    shards = shard_list(run_dir)
    (out / "sharded_manifests").mkdir()
    everything = []
    for i, shard in enumerate(shards):
        entries = [nemo_entry(key, flac_frames(flac) / SAMPLE_RATE, meta, i)
                   for key, flac, meta in tar_samples(shard)]
        (out / "sharded_manifests" / f"manifest_{i}.json").write_bytes(_jsonl(entries))
        everything += entries
    (out / "tarred_audio_manifest.json").write_bytes(_jsonl(everything))
    pattern = brace_pattern(shards)
    config = {
        "train_ds": {
            "manifest_filepath": str(final.resolve() / "tarred_audio_manifest.json"),
            "tarred_audio_filepaths": pattern or [str(p) for p in shards],
            "is_tarred": True, "shard_strategy": "scatter", "sample_rate": SAMPLE_RATE,
            "max_duration": 30.0,
        },
    }
    note = ("# NeMo ASR dataset settings for this run (merge into model.train_ds).\n"
            "# Paths are absolute as exported; shard_strategy scatter gives every rank its own "
            "tars.\n")
    (out / "nemo_config.yaml").write_text(note + yaml.safe_dump(config, sort_keys=False),
                                          encoding="utf-8")
    return len(everything)


# ---------------------------------------------------------------------------- Hugging Face


def _licence_id(licence: str) -> str:
    return licence.strip().lower() if licence.strip() else "unknown"


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return name
    return "n>10M"


def dataset_card(run_dir: Path, segments: dict[str, dict[str, Any]], n_shards: int,
                 n_ssl_shards: int = 0) -> str:
    """README.md with the YAML header ``datasets`` and the Hub read, and the run's figures."""
    import yaml

    stats_path = run_dir / "stats.json"
    stats = json.loads(stats_path.read_text(encoding="utf-8")) if stats_path.is_file() else {}
    rows = list(segments.values())
    hours = sum(float(r.get("duration") or 0) for r in rows) / 3600
    by_lang: dict[str, list[float]] = {}
    by_licence: dict[str, list[float]] = {}
    by_task: dict[str, int] = {}
    verdicts: dict[str, list[int]] = {}
    for r in rows:
        for table, name in ((by_lang, r.get("language") or "?"),
                            (by_licence, r.get("licence") or "unknown")):
            entry = table.setdefault(name, [0, 0.0])
            entry[0] += 1
            entry[1] += float(r.get("duration") or 0) / 3600
        by_task[r.get("task") or "transcribe"] = by_task.get(r.get("task") or "transcribe", 0) + 1
        for v in r.get("verdicts") or ():
            counts = verdicts.setdefault(v["filter"], [0, 0])
            counts[0] += 1
            counts[1] += int(bool(v.get("reason")))
    licences = sorted(by_licence)
    header = {
        "license": _licence_id(licences[0]) if len(licences) == 1 else "other",
        "language": sorted(lang for lang in by_lang if lang != "?"),
        "task_categories": ["automatic-speech-recognition"],
        "size_categories": [_size_category(len(rows))],
        "pretty_name": f"speechcurate run {run_dir.name}",
        "tags": ["speech", "webdataset", "speechcurate"],
        "configs": [{"config_name": "default",
                     "data_files": [{"split": "train", "path": "data/train/*.tar"}]}],
    }
    if n_ssl_shards:  # curate.ssl: audio-only shards, a config of their own
        header["configs"].append({"config_name": "ssl", "data_files": [
            {"split": "train", "path": "data/ssl/*.tar"}]})
    if len(licences) > 1:
        header["license_name"] = "mixed: see the Licences table"
    run = stats.get("run", {})
    lines = ["---", yaml.safe_dump(header, sort_keys=False).strip(), "---", "",
             f"# speechcurate run `{run_dir.name}`", "",
             "Speech segments (16 kHz mono FLAC, at most 30 s) with transcripts, curated by "
             "speechcurate: crawled or local audio, segmented, language-identified, "
             "pseudo-labelled with Whisper, filtered, and written as WebDataset shards "
             "(`KEY.flac` + `KEY.json`).", "",
             "## Figures", "",
             "| | |", "|---|---|",
             f"| segments | {len(rows)} |",
             f"| hours | {hours:.4f} |",
             f"| recordings | {len({r.get('recording_id') for r in rows})} |",
             f"| shards | {n_shards} |",
             f"| tasks | {', '.join(f'{k}: {v}' for k, v in sorted(by_task.items()))} |",
             f"| input recordings | {stats.get('input', {}).get('recordings', '?')} |",
             f"| input hours | {stats.get('input', {}).get('hours', '?')} |",
             f"| Whisper model for pseudo-labels | {run.get('asr_model', '?')} |",
             f"| config hash | `{run.get('config_hash', '?')}` |",
             f"| curated at | {run.get('started_at', '?')} |", "",
             "## Languages", "", "| language | segments | hours |", "|---|---|---|"]
    lines += [f"| {k} | {v[0]} | {v[1]:.4f} |" for k, v in sorted(by_lang.items())]
    lines += ["", "## Licences", "",
              "Each segment carries the licence of its source (`licence` in its JSON); "
              "use each segment under its own licence.", "",
              "| licence | segments | hours |", "|---|---|---|"]
    lines += [f"| {k} | {v[0]} | {v[1]:.4f} |" for k, v in sorted(by_licence.items())]
    lines += ["", "## Filters", "",
              "Every kept segment passed these filters; its `verdicts` list each one's detail "
              "(a verdict with a reason is a flag that did not drop the segment).", "",
              "| filter | segments judged | flagged |", "|---|---|---|"]
    lines += [f"| {k} | {v[0]} | {v[1]} |" for k, v in sorted(verdicts.items())]
    rejects = stats.get("rejects", {}).get("by_reason", {})
    lines += ["", "## What was dropped", "",
              f"{stats.get('rejects', {}).get('count', 0)} recording(s)/segment(s) were "
              "rejected, by reason:", "", "| reason | count |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(rejects.items())]
    ssl = stats.get("ssl") or {}
    if n_ssl_shards:
        lines += ["", "## Unlabelled speech (config `ssl`)", "",
                  f"{ssl.get('segments', '?')} segment(s), {ssl.get('hours', 0):.4f} hours in "
                  f"{n_ssl_shards} shard(s) (`data/ssl/`): clean speech dropped from the "
                  "labelled data only because no label could be trusted, for self-supervised "
                  "pretraining. Audio and provenance only (`KEY.flac` + `KEY.json`, no text); "
                  "`metadata/ssl_segments.parquet` lists them. Load with "
                  "`load_dataset(\"PATH_OR_REPO\", \"ssl\", split=\"train\")`.", "",
                  "| label reject reason | segments | hours |", "|---|---|---|"]
        lines += [f"| {k} | {v['segments']} | {v['hours']:.4f} |"
                  for k, v in sorted((ssl.get("by_reason") or {}).items())]
    lines += ["", "## Loading", "", "```python",
              "from datasets import load_dataset",
              "ds = load_dataset(\"PATH_OR_REPO\", split=\"train\", streaming=True)",
              "# decoding the `flac` column needs torchcodec (datasets >= 4)",
              "```", "",
              "`metadata/segments.parquet` holds one row per segment (the same fields as each "
              "sample's JSON) for inspection without opening the tars.", ""]
    return "\n".join(lines)


def _hf(run_dir: Path, out: Path, final: Path) -> int:
    shards = shard_list(run_dir)
    segments = read_segments(run_dir)
    data = out / "data" / "train"
    data.mkdir(parents=True)
    for shard in shards:
        target = data / shard.name
        try:
            os.link(shard, target)
        except OSError:
            shutil.copy2(shard, target)
    (out / "metadata").mkdir()
    shutil.copy2(run_dir / "manifest" / "segments.parquet", out / "metadata" / "segments.parquet")
    ssl = (shard_list(run_dir, "ssl/shards.json") if (run_dir / "ssl" / "shards.json").is_file()
           else [])
    if ssl:
        (out / "data" / "ssl").mkdir()
        for shard in ssl:
            target = out / "data" / "ssl" / shard.name
            try:
                os.link(shard, target)
            except OSError:
                shutil.copy2(shard, target)
        shutil.copy2(run_dir / "ssl" / "segments.parquet",
                     out / "metadata" / "ssl_segments.parquet")
    (out / "README.md").write_text(dataset_card(run_dir, segments, len(shards), len(ssl)),
                                   encoding="utf-8")
    return len(segments)


# ---------------------------------------------------------------------------- entry points


def export_run(run_dir: str | Path, fmt: str, out: str | Path | None = None) -> ExportResult:
    """Export ``run_dir`` as ``fmt`` into ``out`` (default ``RUN/export/FORMAT``), replacing a
    previous export there."""
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    run = Path(run_dir)
    target = Path(out) if out else run / "export" / fmt
    shard_list(run)  # fails early on a directory that is not a published run
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        samples = {"lhotse": _lhotse, "nemo": _nemo, "hf": _hf}[fmt](run, tmp, target)
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    files = sum(1 for p in target.rglob("*") if p.is_file())
    return ExportResult(fmt, target, samples, files)


def run_from_args(args: argparse.Namespace) -> int:
    try:
        result = export_run(args.run_dir, args.format, args.out)
    except (FileNotFoundError, ValueError) as exc:
        print(f"speechcurate export: {exc}", file=sys.stderr)
        return 2
    print(result.render())
    return 0


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="a run directory written by `speechcurate run` (local)")
    p.add_argument("--format", required=True, choices=FORMATS,
                   help="lhotse: Shar (cuts + recording tars); nemo: tarred-dataset manifests "
                        "over the run's tars; hf: a Hugging Face dataset repo with a card")
    p.add_argument("--out", default=None, help="output directory (default RUN_DIR/export/FMT)")


def add_export_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``export`` subcommand to an ``add_subparsers()`` object (``func`` dispatches)."""
    p = subparsers.add_parser(
        "export", help="write a run's shards as lhotse Shar, NeMo tarred manifests or an HF repo",
        description="Export RUN_DIR's published shards for other toolkits: lhotse (Shar), "
                    "nemo (tarred-dataset manifests referencing the run's tars) or hf (a "
                    "dataset card, the tars and segments.parquet).")
    _add_arguments(p)
    p.set_defaults(func=run_from_args)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="speechcurate export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
