"""Decide phase at scale: wall time and peak RSS per million segments on synthetic thin rows.

The decide phase (``pipelines/decide.py``) reads only ``RUN/analysis/`` rows, so it can be
measured at any corpus size without audio or models. This script writes a synthetic analysis
with the real schemas (``schemas.analysis``: segments, recordings and rejects Parquet per pack,
plus ``analysis.json``) and runs the real ``run_decide`` on it with the DirectRunner, in a fresh
child process per size so each peak RSS is its own.

Rows look like a crawl of podcasts: recordings of ~60 segments (lognormal, 1..400), segments of
~9 s (1..30 s) with ~2.6 words a second, 80 % with a timed transcript (the cue text is the
source text), 8 % untimed (one transcript per recording, aligned in decide), 12 % without one;
85 % English, the rest Spanish/German/French with matching text and audio language mostly;
pseudo-labels copy the source with a per-segment word error rate drawn from a mixture (most ~3 %,
some ~15 %, a few ~60 % = garbage), Whisper scores and audio measures drawn around what real
runs store (``runs/demo``), FLAC sizes ~20 kB per second. Generation is chunked by pack, so
memory while generating is one pack.

Per size, the child prints the cumulative peak RSS and the wall time after each step: ``beam``
(the Beam pipeline: read packs and group each recording in the pack that owns it, filter
registry and PII scrub, the global shard plan, write plan parts and the shard starts) and
``merge`` (the launcher streams the plan parts into ``plan/segments.parquet``: unique, sorted by
id, each kept row with its shard, in bounded memory; ``pipelines/plan_merge.py``). ``--filters
none`` runs the same pipeline with an empty registry and PII detection off (every candidate
kept), so the runner and the global steps are measured apart from the filters' CPU. The global
shard plan is also measured alone at any size (``--plan-only``): the old way (every kept pair in
one Python list, then a ``{key: shard}`` map) against ``filters.shard_plan.KeySizes`` +
``shard_starts``.

    nice -n 10 .venv/bin/python benchmarks/decide_scale.py --plan-only --sizes 1000000 10000000
    nice -n 10 .venv/bin/python benchmarks/decide_scale.py --filters none --sizes 20000 100000
    nice -n 10 .venv/bin/python benchmarks/decide_scale.py --filters all --sizes 1000 4000

Figures only; no assertions. Disk: about 0.5 GB of Parquet per million segments (temp dir).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PACK_SEGMENTS = 20_000  # segments per synthetic pack (a real 256 MB pack holds ~1,000)
LANGS = ("en", "es", "de", "fr")
LANG_P = (0.85, 0.05, 0.05, 0.05)
OTHER = {"en": "de", "es": "it", "de": "nl", "fr": "es"}


def _vocab(rng: np.random.Generator, n: int = 3000) -> list[str]:
    syll = ["ka", "to", "ri", "men", "sa", "lo", "ver", "an", "di", "po", "ne", "shu", "tra",
            "el", "mi", "go", "res", "ta", "un", "be", "cho", "fa", "li", "qua", "zen"]
    words = set()
    while len(words) < n:
        k = int(rng.integers(1, 4))
        words.add("".join(rng.choice(syll, size=k)))
    return sorted(words)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Generator:
    """Writes packs of synthetic analysis rows with the real schemas."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.vocab = np.array(_vocab(self.rng))
        ranks = np.arange(1, len(self.vocab) + 1)
        self.word_p = (1 / ranks) / (1 / ranks).sum()  # Zipf
        self.n_rec = 0

    def _words(self, n: int) -> list[str]:
        return list(self.rng.choice(self.vocab, size=n, p=self.word_p))

    def _noisy(self, words: list[str], wer: float) -> str:
        out = []
        for w in words:
            u = self.rng.random()
            if u < wer / 3:
                continue
            if u < 2 * wer / 3:
                out.append(str(self.rng.choice(self.vocab)))
            elif u < wer:
                out.extend([w, str(self.rng.choice(self.vocab))])
            else:
                out.append(w)
        return " ".join(out)

    def recording(self, n_seg: int, pack: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        from schemas.keys import recording_id_for, segment_id_for

        rng = self.rng
        self.n_rec += 1
        host = f"show{int(rng.integers(0, 5000))}.example{int(rng.integers(0, 50))}.org"
        uri = f"https://{host}/media/ep{self.n_rec}.mp3"
        rid = recording_id_for(uri)
        lang = str(rng.choice(LANGS, p=LANG_P))
        u = rng.random()
        kind = "timed" if u < 0.80 else ("untimed" if u < 0.88 else "none")
        durs = np.clip(rng.lognormal(np.log(9.0), 0.5, size=n_seg), 1.0, 30.0)
        gaps = rng.uniform(0.2, 1.5, size=n_seg)
        starts = np.cumsum(np.concatenate([[0.3], (durs + gaps)[:-1]]))
        regime = rng.choice(3, p=(0.8, 0.15, 0.05))
        segs, cues, texts = [], [], []
        source = f"feed{int(rng.integers(0, 40))}"
        page = f"https://{host}/feed.xml"
        for i in range(n_seg):
            start, dur = float(starts[i]), float(durs[i])
            words = self._words(max(1, int(round(dur * rng.uniform(2.0, 3.2)))))
            source_text = " ".join(words).capitalize() + "."
            wer = (0.03, 0.15, 0.6)[regime] * rng.uniform(0.3, 1.7)
            pseudo = self._noisy(words, min(wer, 1.0)).capitalize() + "."
            texts.append(source_text)
            if kind == "timed":
                cues.append({"start": start, "end": start + dur, "text": source_text})
            audio_lang = lang if rng.random() < 0.95 else OTHER[lang]
            p_audio = float(np.clip(rng.beta(8, 1.2), 0.05, 0.999))
            probs = [{"language": audio_lang, "prob": round(p_audio, 4)},
                     {"language": OTHER[lang], "prob": round((1 - p_audio) * 0.6, 4)}]
            segs.append({
                "segment_id": segment_id_for(rid, i), "recording_id": rid, "index": i,
                "source_uri": uri, "source_name": source, "page_url": page,
                "licence": "CC-BY-4.0", "declared_language": lang,
                "start": round(start, 3), "end": round(start + dur, 3), "duration": round(dur, 3),
                "source_text": source_text if kind == "timed" else None,
                "source_text_kind": kind, "pseudo_label": pseudo, "text": "",
                "label_source": "none", "task": "transcribe", "language": "",
                "language_prob": 0.0,
                "text_language": lang if kind != "none" else "",
                "text_language_prob": float(rng.uniform(0.6, 0.99)) if kind != "none" else 0.0,
                "audio_language": audio_lang, "audio_language_prob": round(p_audio, 4),
                "audio_language_probs": probs,
                "avg_logprob": float(np.clip(rng.normal(-0.45 - wer, 0.2), -3.0, -0.01)),
                "no_speech_prob": float(np.clip(rng.beta(1, 15), 0, 1)),
                "compression_ratio": float(rng.normal(1.5, 0.25)) if regime < 2
                else float(rng.normal(2.6, 0.5)),
                "cer": None, "wer": None,
                "speech_ratio": float(np.clip(rng.beta(9, 2), 0, 1)),
                "snr_db": float(rng.normal(22, 7)), "clipping_ratio": float(rng.beta(1, 400)),
                "loudness_lufs": float(rng.normal(-21, 4)), "chars_per_second": None,
                "dnsmos": float(np.clip(rng.normal(3.1, 0.35), 1, 5)), "pii_spans": [],
                "dedup_cluster": "", "verdicts": [], "shard": "", "key": "",
                "dnsmos_sig": float(np.clip(rng.normal(3.4, 0.3), 1, 5)),
                "dnsmos_bak": float(np.clip(rng.normal(3.8, 0.3), 1, 5)),
                "bandwidth_hz": float(rng.choice([4000.0, 8000.0], p=(0.1, 0.9))),
                "dc_offset": float(abs(rng.normal(0, 0.002))),
                "silence_ratio": float(rng.beta(2, 8)), "peak_dbfs": float(rng.uniform(-12, -0.5)),
                "quality_tier": "", "label_coverage": float(np.clip(rng.beta(30, 1), 0, 1)),
                "label_uncovered_s": 0.0, "audio_pack": f"{pack}.tar", "audio_offset": 512 * i,
                "audio_bytes": int(dur * rng.uniform(17_000, 23_000)),
            })
        total = float(starts[-1] + durs[-1] + 0.5)
        rec = {
            "recording_id": rid, "source_uri": uri, "audio_uri": f"/raw/{rid}",
            "source_name": source, "page_url": page, "sha256": rid * 4, "codec": "mp3",
            "duration": total, "sample_rate": 44100, "channels": 2,
            "transcript_text": " ".join(texts) if kind == "untimed" else (
                " ".join(texts) if kind == "timed" else None),
            "transcript_format": {"timed": "vtt", "untimed": "txt", "none": ""}[kind],
            "cues": cues, "declared_language": lang, "licence": "CC-BY-4.0",
            "title": f"episode {self.n_rec}", "fetched_at": "2026-11-29T00:00:00Z",
            "status": "decoded", "n_segments": n_seg, "short_speech_s": 0.0, "pack": pack,
        }
        return rec, segs

    def write(self, analysis_dir: Path, n_segments: int,
              distinct: int | None = None) -> dict[str, str]:
        """Write ``n_segments`` in packs, the first ``distinct`` of them generated and the rest
        copies of those under new ids (all generated when ``None``); returns
        ``{recording_id: pack}``."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from schemas.analysis import (
            ANALYSIS_RECORDING_SCHEMA,
            ANALYSIS_REJECT_SCHEMA,
            ANALYSIS_SEGMENT_SCHEMA,
        )

        for sub in ("segments", "recordings", "rejects", "audio"):
            (analysis_dir / sub).mkdir(parents=True, exist_ok=True)
        owner: dict[str, str] = {}
        done, p = 0, 0
        while done < n_segments:
            pack = f"pack-{p:08d}"
            recs, segs = [], []
            while len(segs) < PACK_SEGMENTS and done + len(segs) < n_segments:
                n = int(np.clip(self.rng.lognormal(np.log(45), 0.8), 1, 400))
                n = min(n, n_segments - done - len(segs))
                rec, rows = self.recording(n, pack)
                if rec["recording_id"] in owner:
                    continue
                owner[rec["recording_id"]] = pack
                recs.append(rec)
                segs.extend(rows)
            pq.write_table(pa.Table.from_pylist(segs, schema=ANALYSIS_SEGMENT_SCHEMA),
                           analysis_dir / "segments" / f"{pack}.parquet")
            pq.write_table(pa.Table.from_pylist([], schema=ANALYSIS_REJECT_SCHEMA),
                           analysis_dir / "rejects" / f"{pack}.parquet")
            pq.write_table(pa.Table.from_pylist(recs, schema=ANALYSIS_RECORDING_SCHEMA),
                           analysis_dir / "recordings" / f"{pack}.parquet")
            done += len(segs)
            p += 1
            if distinct and done >= distinct and done < n_segments:
                self._replicate(analysis_dir, p, n_segments, owner)
                break
        (analysis_dir / "analysis.json").write_text("{}")
        return owner

    @staticmethod
    def _replicate(analysis_dir: Path, made: int, n_segments: int, owner: dict[str, str]) -> None:
        """Fill up to ``n_segments`` with copies of the ``made`` packs already written, each
        recording under a new id (so a copy's segment ids land elsewhere in the id space, as
        another recording's would). Python row generation costs ~1 ms a segment; a copy is an
        Arrow rewrite of whole columns. Only fit for decide without dedup (``--filters none``):
        the copies' texts and measures repeat."""
        import hashlib

        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        def new_ids(rids: pa.ChunkedArray, copy: int) -> tuple[pa.Array, dict[str, str]]:
            mapping = {r: hashlib.sha256(f"{r}/{copy}".encode()).hexdigest()[:len(r)]
                       for r in set(rids.to_pylist())}
            return pa.array([mapping[r] for r in rids.to_pylist()], pa.string()), mapping

        done = sum(pq.ParquetFile(analysis_dir / "segments" / f"pack-{i:08d}.parquet")
                   .metadata.num_rows for i in range(made))
        copy, p = 0, made
        while done < n_segments:
            copy += 1
            for i in range(made):
                if done >= n_segments:
                    break
                src, pack = f"pack-{i:08d}", f"pack-{p:08d}"
                segs = pq.read_table(analysis_dir / "segments" / f"{src}.parquet")
                segs = segs.slice(0, n_segments - done)
                rids, mapping = new_ids(segs.column("recording_id"), copy)
                suffix = pc.utf8_slice_codeunits(segs.column("segment_id"),
                                                 len(segs.column("recording_id")[0].as_py()))
                segs = segs.set_column(segs.schema.get_field_index("recording_id"),
                                       "recording_id", rids)
                segs = segs.set_column(segs.schema.get_field_index("segment_id"), "segment_id",
                                       pc.binary_join_element_wise(rids, suffix, ""))
                segs = segs.set_column(segs.schema.get_field_index("audio_pack"), "audio_pack",
                                       pa.array([f"{pack}.tar"] * segs.num_rows, pa.string()))
                recs = pq.read_table(analysis_dir / "recordings" / f"{src}.parquet")
                recs = recs.filter(pc.is_in(recs.column("recording_id"),
                                            value_set=pa.array(list(mapping), pa.string())))
                recs = recs.set_column(recs.schema.get_field_index("recording_id"),
                                       "recording_id", pa.array(
                                           [mapping[r] for r in recs.column("recording_id")
                                            .to_pylist()], pa.string()))
                recs = recs.set_column(recs.schema.get_field_index("pack"), "pack",
                                       pa.array([pack] * recs.num_rows, pa.string()))
                for rid in mapping.values():
                    owner[rid] = pack
                pq.write_table(segs, analysis_dir / "segments" / f"{pack}.parquet")
                pq.write_table(recs, analysis_dir / "recordings" / f"{pack}.parquet")
                (analysis_dir / "rejects" / f"{pack}.parquet").write_bytes(
                    (analysis_dir / "rejects" / f"{src}.parquet").read_bytes())
                done += segs.num_rows
                p += 1


# ----------------------------------------------------------------------------- child processes


def child_decide(run_dir: str, filters: str, launcher_rows: bool = False) -> dict[str, Any]:
    """Run the real decide phase on ``run_dir/analysis``, timing and measuring each step;
    ``filters="none"`` runs it with an empty registry (every candidate kept) and PII detection
    off, which isolates the runner's reading, grouping, global shard plan and writing from the
    filters' CPU."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines import analysis_store as store
    from pipelines import io as sio
    from pipelines.config import RunConfig
    from pipelines.decide import (
        PLAN_FILE,
        STARTS_FILE,
        build_pipeline,
        merge_plan_parts,
        read_plan_rows,
        read_starts,
    )

    steps: list[dict[str, Any]] = []
    t0 = time.monotonic()

    def mark(name: str) -> None:
        steps.append({"step": name, "wall_s": round(time.monotonic() - t0, 2),
                      "peak_rss_mb": round(_rss_mb(), 1)})

    config = RunConfig(sources=())
    if filters == "none":  # decide's PII scrub of every candidate's text is not a registry filter
        from dataclasses import replace

        cur = config.curate
        config = replace(config, curate=replace(cur, privacy=replace(
            cur.privacy, pii=replace(cur.privacy.pii, enabled=False))))
    analysis_dir = sio.join(run_dir, "analysis")
    owner = store.owners(analysis_dir)
    mark("owners")
    parts = sio.join(run_dir, "plan", "_parts")
    with beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"])) as p:
        from filters.registry import REGISTRY

        build_pipeline(p, config, analysis_dir, owner, parts, REGISTRY if filters == "all" else ())
    mark("beam")
    counts = merge_plan_parts(parts, sio.join(run_dir, "plan", PLAN_FILE))
    mark("merge")
    shards = len(read_starts(parts, STARTS_FILE))
    if launcher_rows:  # what curate's finish_run then holds to write manifests and check books
        rows = read_plan_rows(run_dir)
        mark("plan_rows")
        del rows
    return {"segments": counts.candidates, "kept": counts.kept, "shards": shards,
            "steps": steps}


def _pairs(n: int, seed: int) -> Iterator[tuple[str, int]]:
    """``n`` (segment id, FLAC bytes) pairs, made one at a time as they arrive at a worker."""
    from schemas.keys import segment_id_for

    rng = np.random.default_rng(seed)
    rids = rng.integers(0, 2**63, size=n // 45 + 1)
    sizes = rng.integers(17_000 * 9, 23_000 * 9, size=n)
    for i in range(n):
        yield segment_id_for(f"{int(rids[i // 45]):016x}", i % 45), int(sizes[i])


def child_plan(n: int, seed: int, how: str) -> dict[str, Any]:
    """The global shard plan alone over ``n`` kept (segment id, FLAC bytes) pairs, as the one
    worker that holds it: ``list`` = the pairs as one Python list and a ``{key: shard}`` map
    (decide before this benchmark: ``ToList`` + ``assign_shards``, then a join of every plan row
    with its shard); ``packed`` = ``filters.shard_plan.KeySizes`` + ``shard_starts`` (decide now:
    numpy-packed pairs, the shard starts as a side input). The pairs are made one at a time,
    as decoded elements arrive, so each way holds its own copy of the keys."""
    from filters.shard_plan import KeySizes, assign_shards, shard_starts

    base = _rss_mb()
    t0 = time.monotonic()
    if how == "list":
        pairs = list(_pairs(n, seed))
        held = _rss_mb()
        t1 = time.monotonic()
        plan = assign_shards(pairs, 256 * 1024 * 1024)
        shards = max(plan.values()) + 1
    else:
        acc = KeySizes()
        for k, b in _pairs(n, seed):
            acc.add(k, b)
        acc.pack()
        held = _rss_mb()
        t1 = time.monotonic()
        shards = len(shard_starts(acc, 256 * 1024 * 1024))
    t2 = time.monotonic()
    return {"segments": n, "shards": shards, "base_rss_mb": round(base, 1),
            "held_mb": round(held - base, 1), "peak_over_base_mb": round(_rss_mb() - base, 1),
            "collect_s": round(t1 - t0, 2), "plan_s": round(t2 - t1, 2)}


def _child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000],
                        help="segment counts; the first is the baseline the others compare to")
    parser.add_argument("--plan-only", action="store_true",
                        help="measure only the global shard plan step, at each size")
    parser.add_argument("--filters", choices=("all", "none"), default="all",
                        help="all: the real registry and PII scrub; none: an empty registry, PII "
                             "off (every candidate kept: the runner and the global steps alone, "
                             "at the largest shard plan)")
    parser.add_argument("--launcher-rows", action="store_true",
                        help="after decide, also read the plan back as Python rows, as curate's "
                             "manifests and books hold it (printed apart from decide's figures)")
    parser.add_argument("--distinct", type=int, default=None,
                        help="generate only this many segments and copy them under new "
                             "recording ids up to each size (generation costs ~1 ms a segment; "
                             "fit for --filters none only, where the copies' repeated texts do "
                             "not matter)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default=None, help="where to write the synthetic runs")
    parser.add_argument("--child-decide", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-plan", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--how", default="packed", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_decide:
        print(json.dumps(child_decide(args.child_decide, args.filters, args.launcher_rows)))
        return 0
    if args.child_plan:
        print(json.dumps(child_plan(args.child_plan, args.seed, args.how)))
        return 0
    base: dict[str, Any] | None = None
    for n in args.sizes:
        if args.plan_only:
            for how in ("list", "packed"):
                res = _child(["--child-plan", str(n), "--seed", str(args.seed), "--how", how])
                per_m = 1e6 / n
                print(f"shard plan {how:<6} {n:>10,} kept: pairs held {res['held_mb']:7.0f} MB, "
                      f"peak +{res['peak_over_base_mb']:7.0f} MB "
                      f"({res['peak_over_base_mb'] * per_m:5.0f} MB per million) over "
                      f"{res['base_rss_mb']:.0f} MB base; collect {res['collect_s']:6.1f} s, "
                      f"plan {res['plan_s']:6.1f} s; {res['shards']} shards", flush=True)
            continue
        tmp = Path(tempfile.mkdtemp(prefix=f"decide-scale-{n}-", dir=args.workdir))
        try:
            t0 = time.monotonic()
            Generator(args.seed).write(tmp / "analysis", n, args.distinct)
            gen_s = time.monotonic() - t0
            res = _child(["--child-decide", str(tmp), "--filters", args.filters,
                          *(["--launcher-rows"] if args.launcher_rows else [])])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        extra = [s for s in res["steps"] if s["step"] == "plan_rows"]
        res["steps"] = [s for s in res["steps"] if s["step"] != "plan_rows"]
        total = res["steps"][-1]["wall_s"]
        peak = max(s["peak_rss_mb"] for s in res["steps"])
        per_m = 1e6 / n
        label = "baseline" if base is None else f"x{n / base['n']:.0f} vs baseline"
        print(f"decide [filters: {args.filters}] {n:>10,} segments ({label}): generated in "
              f"{gen_s:.0f} s; "
              f"{res['kept']:,} kept in {res['shards']} shards", flush=True)
        prev = 0.0
        for s in res["steps"]:
            print(f"    {s['step']:<11} +{s['wall_s'] - prev:8.1f} s   peak RSS so far "
                  f"{s['peak_rss_mb']:8.0f} MB", flush=True)
            prev = s["wall_s"]
        start_rss = res["steps"][0]["peak_rss_mb"]
        grown = peak - start_rss
        print(f"    total      {total:9.1f} s = {total * per_m:8.1f} s per million; peak RSS "
              f"{peak:8.0f} MB ({start_rss:.0f} MB before the pipeline; +{grown * per_m:.0f} MB "
              f"per million)", flush=True)
        for s in extra:
            print(f"    launcher rows (curate's manifests): +{s['wall_s'] - total:.1f} s, peak "
                  f"RSS {s['peak_rss_mb']:.0f} MB (+{(s['peak_rss_mb'] - peak) * per_m:.0f} MB "
                  f"per million over decide's peak)", flush=True)
        if base is not None:
            print(f"    vs baseline ({base['n']:,}): time per million x"
                  f"{(total * per_m) / base['s_per_m']:.2f}, growth of RSS per million x"
                  f"{(grown * per_m) / base['grown_per_m']:.2f}", flush=True)
        else:
            base = {"n": n, "s_per_m": total * per_m, "grown_per_m": max(grown * per_m, 1e-9)}
    return 0


if __name__ == "__main__":
    sys.exit(main())
