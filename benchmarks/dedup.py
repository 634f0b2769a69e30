"""Dedup benchmark: a planted set of short transcripts with known near-duplicate clusters,
deduplicated by speechcurate's MinHash-LSH Beam transforms and, in the same run, by datatrove's
MinHash deduplication on the same texts with the same banding; plus the audio part
(``benchmarks/dedup_audio.py:audio_benchmark``) when it is available.

    python benchmarks/dedup.py                      # 24,000 segments
    python benchmarks/dedup.py --segments 100000    # larger

Printed: the S-curve of the banding (probability that a pair is proposed against its Jaccard),
the Jaccard of the planted copies, pairwise precision and recall of each system against the
planted clusters, and seconds per 10,000 segments (signatures + candidates + verification +
connected components for speechcurate; signature, buckets, cluster and filter steps for
datatrove, single process each, on the same machine).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from filters.dedup.config import DedupConfig  # noqa: E402
from filters.dedup.text import (  # noqa: E402
    normalise,
    s_curve,
    shingles,
    signatures,
    text_hash,
    word_count,
)


def vocabulary() -> list[str]:
    """~2,000 real English words (scikit-learn's stop words first, so they are the frequent
    ones under a Zipf law, then openai-whisper's American spellings)."""
    import whisper.normalizers as wn
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    spellings = json.loads((Path(wn.__file__).parent / "english.json").read_text())
    words = sorted(ENGLISH_STOP_WORDS) + sorted(set(spellings.values()))
    return list(dict.fromkeys(w for w in words if w.isalpha()))


def planted(n_segments: int, seed: int = 0) -> tuple[list[str], list[int]]:
    """Transcripts (6-30 words, Zipf-distributed words) and their planted cluster: 60 % of the
    draws are singletons, the rest clusters of 2-50 copies. A copy is exact (30 %) or carries
    ASR-like noise: words substituted, dropped or inserted at a word error rate drawn from
    U(0, 10 %) (the error between two Whisper transcripts of similar audio), other punctuation
    and case."""
    rng = random.Random(seed)
    vocab = vocabulary()
    weights = [1.0 / (i + 1) for i in range(len(vocab))]

    def sentence() -> list[str]:
        return rng.choices(vocab, weights, k=rng.randint(6, 30))

    def noisy(words: list[str]) -> list[str]:
        out = list(words)
        for _ in range(round(len(out) * rng.uniform(0.0, 0.10))):
            i = rng.randrange(len(out))
            op = rng.random()
            if op < 0.5:
                out[i] = rng.choices(vocab, weights)[0]
            elif op < 0.75 and len(out) > 6:
                del out[i]
            else:
                out.insert(i, rng.choices(vocab, weights)[0])
        return out

    def render(words: list[str]) -> str:
        text = " ".join(words)
        text = text.capitalize() if rng.random() < 0.5 else text.upper()
        return text + rng.choice([".", "!", "?", "", "..."])

    texts: list[str] = []
    truth: list[int] = []
    cluster = 0
    while len(texts) < n_segments:
        base = sentence()
        size = 1 if rng.random() < 0.6 else min(rng.choice([2, 2, 3, 3, 4, 5, 8, 10, 20, 50]),
                                                 n_segments - len(texts))
        for k in range(size):
            words = base if k == 0 or rng.random() < 0.3 else noisy(base)
            texts.append(render(words))
            truth.append(cluster)
        cluster += 1
    order = list(range(len(texts)))
    rng.shuffle(order)
    return [texts[i] for i in order], [truth[i] for i in order]


def pairs_of(labels: list[int] | list[str]) -> set[tuple[int, int]]:
    groups: dict = defaultdict(list)
    for i, lab in enumerate(labels):
        if lab is not None and lab != -1:
            groups[lab].append(i)
    return {p for members in groups.values() for p in combinations(sorted(members), 2)}


def scores(predicted: set[tuple[int, int]], true: set[tuple[int, int]]) -> dict[str, float]:
    hit = len(predicted & true)
    return {"precision": round(hit / len(predicted), 4) if predicted else 1.0,
            "recall": round(hit / len(true), 4) if true else 1.0,
            "predicted_pairs": len(predicted), "true_pairs": len(true)}


def copy_jaccard(texts: list[str], truth: list[int], cfg: DedupConfig) -> list[float]:
    """Exact shingle Jaccard of each planted copy with its cluster's first member."""
    first: dict[int, set[bytes]] = {}
    out = []
    for text, c in zip(texts, truth, strict=True):
        s = set(shingles(normalise(text), cfg.shingle, cfg.shingle_size))
        if c in first:
            out.append(len(s & first[c]) / len(s | first[c]))
        else:
            first[c] = s
    return out


def write_thin_rows(texts: list[str], cfg: DedupConfig, directory: Path,
                    files: int = 8) -> float:
    """Signatures of ``texts`` (what analyse computes) written as thin Parquet rows, like the
    analysis packs decide reads; returns the seconds the signatures took."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from schemas.analysis import DEDUP_INDEX_SCHEMA

    t0 = time.perf_counter()
    norm = [normalise(t) for t in texts]
    sigs = signatures(norm, cfg.num_perm, cfg.seed, cfg.shingle, cfg.shingle_size)
    elapsed = time.perf_counter() - t0
    rows = [{"segment_id": f"s{i:07d}", "recording_id": f"r{i}", "quality_tier": "",
             "duration": 5.0, "text_hash": text_hash(n), "text_words": word_count(n),
             "text_minhash": s, "audio_sha256": "", "audio_fp": None}
            for i, (n, s) in enumerate(zip(norm, sigs, strict=True))]
    directory.mkdir(parents=True, exist_ok=True)
    step = -(-len(rows) // files)
    for f in range(files):
        pq.write_table(pa.Table.from_pylist(rows[f * step:(f + 1) * step],
                                            schema=DEDUP_INDEX_SCHEMA),
                       directory / f"part-{f:03d}.parquet")
    return elapsed


def _read_nodes(path: str):
    import pyarrow.parquet as pq

    from pipelines.stages.dedup import node_from_row

    for row in pq.read_table(path).to_pylist():
        yield node_from_row(row)


def run_speechcurate(texts: list[str], cfg: DedupConfig) -> tuple[list[str | None], dict]:
    """Signatures, then the Beam transforms on the DirectRunner from thin Parquet rows."""
    import apache_beam as beam

    from pipelines.stages.dedup import Deduplicate

    work = Path(tempfile.mkdtemp(prefix="dedup-bench-"))
    cpu0 = time.process_time()
    t_sig = write_thin_rows(texts, cfg, work / "rows")
    t1 = time.perf_counter()
    with beam.Pipeline() as p:
        _ = (p | beam.Create(sorted(str(f) for f in (work / "rows").glob("*.parquet")))
             | beam.FlatMap(_read_nodes) | Deduplicate(cfg)
             | beam.Map(lambda kv: json.dumps([kv[0], kv[1].cluster]))
             | beam.io.WriteToText(str(work / "verdicts"), file_name_suffix=".jsonl"))
    t_beam = time.perf_counter() - t1
    cpu = time.process_time() - cpu0
    labels: list[str | None] = [None] * len(texts)
    for path in work.glob("verdicts*"):
        for line in path.read_text().splitlines():
            node, cluster = json.loads(line)
            labels[int(node[1:])] = next(c for c in cluster.split() if c.startswith("t-"))
    return labels, {"signatures_s": round(t_sig, 2), "beam_s": round(t_beam, 2),
                    "total_s": round(t_sig + t_beam, 2), "cpu_s": round(cpu, 2)}


def run_datatrove(texts: list[str], cfg: DedupConfig, n_grams: int) -> tuple[list[int], dict]:
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.utils.hashing import HashConfig

    # datatrove's default xxhash path fails with xxhash 4 (it hashes str); sha1 at 32 bits is
    # its other hash and the precision of our signatures
    mcfg = MinhashConfig(n_grams=n_grams, num_buckets=cfg.bands, hashes_per_bucket=cfg.rows,
                         seed=cfg.seed, hash_config=HashConfig(precision=32, hash_fc="sha1"))
    base = Path(tempfile.mkdtemp(prefix="datatrove-bench-"))

    def docs():
        return (Document(text=t, id=str(i)) for i, t in enumerate(texts))

    t0, cpu0 = time.perf_counter(), time.process_time()
    MinhashDedupSignature(output_folder=str(base / "sigs"), config=mcfg).run(docs(), 0, 1)
    for bucket in range(cfg.bands):
        MinhashDedupBuckets(input_folder=str(base / "sigs"), output_folder=str(base / "buckets"),
                            config=mcfg).run(rank=bucket, world_size=cfg.bands)
    MinhashDedupCluster(input_folder=str(base / "buckets"), output_folder=str(base / "remove"),
                        config=mcfg, save_cluster_id=True).run()
    kept = list(MinhashDedupFilter(input_folder=str(base / "remove"),
                                   load_cluster_ids=True).run(docs(), 0, 1))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    # cluster ids of the kept docs; dropped docs are read back from the .clusters file
    labels = [-1] * len(texts)
    import struct

    with open(base / "remove" / "000000.clusters", "rb") as fh:
        data = fh.read()
    for idx, cid in struct.iter_unpack("<2I", data):
        labels[idx] = cid
    return labels, {"total_s": round(elapsed, 2), "cpu_s": round(cpu, 2), "kept_docs": len(kept)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=24_000)
    parser.add_argument("--audio-segments", type=int, default=2000,
                        help="segments of the audio part (benchmarks/dedup_audio.py builds each "
                             "from real speech with its transformations: ~1 s per segment)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    cfg = DedupConfig()
    print(f"# banding: {cfg.num_perm} permutations, {cfg.bands} bands x {cfg.rows} rows, "
          f"{cfg.shingle_size}-{cfg.shingle} shingles, verified at estimated Jaccard >= "
          f"{cfg.text_threshold}")
    print("# S-curve: P(pair proposed) = 1 - (1 - J^rows)^bands")
    for j, prob in s_curve(cfg.bands, cfg.rows):
        print(f"  J={j:.2f}  P={prob:.4f}")
    texts, truth = planted(args.segments, args.seed)
    true = pairs_of(truth)
    jac = sorted(copy_jaccard(texts, truth, cfg))
    if jac:
        q = [jac[int(f * (len(jac) - 1))] for f in (0.01, 0.05, 0.25, 0.5)]
        print(f"# planted: {len(texts)} segments, {len(set(truth))} clusters, {len(true)} true "
              f"pairs; copy Jaccard p1={q[0]:.2f} p5={q[1]:.2f} p25={q[2]:.2f} p50={q[3]:.2f}")
    per10k = 10_000 / len(texts)
    labels, t_ours = run_speechcurate(texts, cfg)
    ours = scores(pairs_of(labels), true)
    print(f"speechcurate  precision={ours['precision']:.4f} recall={ours['recall']:.4f}  "
          f"{t_ours['total_s'] * per10k:.1f} s / 10k segments wall, "
          f"{t_ours['cpu_s'] * per10k:.1f} s CPU (signatures "
          f"{t_ours['signatures_s'] * per10k:.1f} s, Beam DirectRunner "
          f"{t_ours['beam_s'] * per10k:.1f} s)")
    results = {"segments": len(texts), "speechcurate": {**ours, **t_ours}}
    for n in (5, 2):
        dlabels, t_dt = run_datatrove(texts, cfg, n)
        theirs = scores(pairs_of(dlabels), true)
        print(f"datatrove n_grams={n}  precision={theirs['precision']:.4f} "
              f"recall={theirs['recall']:.4f}  {t_dt['total_s'] * per10k:.1f} s / 10k segments "
              f"wall, {t_dt['cpu_s'] * per10k:.1f} s CPU")
        results[f"datatrove_{n}gram"] = {**theirs, **t_dt}
    try:
        from benchmarks.dedup_audio import audio_benchmark
    except ImportError:
        print("audio: benchmarks/dedup_audio.py:audio_benchmark not available")
    else:
        if args.audio_segments:
            audio = audio_benchmark(args.audio_segments, seed=args.seed, baselines=False)
            m = audio["methods"][0]
            print(f"audio ({m['segments']} segments, {m['audio_hours']:.2f} h): recall overall "
                  f"{m['recall_overall']:.3f}, false-match rate {m['false_match_rate']:.2e} of "
                  f"pairs, fingerprint {m['fingerprint_bytes_per_flac_byte']:.2%} of FLAC, "
                  f"CPU per 10k segments {json.dumps(m['cpu_s_per_10k_segments'])}")
            for kind, r in m["recall"].items():
                print(f"  recall {kind:<24} {r:.3f}")
            results["audio"] = audio
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
