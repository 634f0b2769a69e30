"""Is CTranslate2's Whisper batch-invariant on CPU? Measures bit-identity of its outputs.

For each model (loaded like the pipeline loads it: ``load_whisper``, int8 on CPU), 32 real-speech
pieces cut from ../shared/speech-eval to lengths in (3, 4] s, so all share one encoder context
(9 s with the default 5 s pad: nothing is padded to a neighbour). Each step is run alone
(batch 1), in batches of 3, 16 and 32, and batch 32 in reversed order, and compared bit for bit:

* ``encode``: the encoder output;
* ``detect_language``: language probabilities from the (batch-1) encoder outputs;
* ``generate``: tokens, score and no-speech probability, from the batch-1 encoder outputs
  (so only the decoder is batched), at beam 5 and greedy;
* ``generate(mel)``: encoder and decoder batched together (features straight to ``generate``);
* ``threads``: with 1 thread vs the default thread count (encode batch 1, generate batch 16);
* control: the same pieces padded to an 11 s context (what the old length buckets did when a
  neighbour was longer) decoded alone: this must differ, or the harness could not see a change.

Prints a Markdown table: pieces identical to batch 1, max |difference|, wall seconds.
``--cache-tradeoff`` times ``label_recording`` on a 2-minute recording with and without the
encoder cache; ``--cross-backend`` compares outputs across CTranslate2's CPU backends (they
differ: labels are reproducible on one kind of CPU and backend, not across them). Usage:

    .venv/bin/python benchmarks/batch_invariance.py [--models tiny.en base] [--threads N]
        [--device cpu --compute-type int8] [--cache-tradeoff | --cross-backend]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SR = 16_000
N = 32
SIZES = ((3, False), (16, False), (32, False), (32, True))


def speech_eval_dir() -> Path:
    d = Path(os.environ.get("SPEECH_EVAL_DIR") or ROOT.parent / "shared" / "speech-eval")
    if not (d / "MANIFEST.tsv").is_file():
        sys.exit(f"speech-eval not found at {d} (set SPEECH_EVAL_DIR)")
    return d


def pieces() -> list[tuple[str, np.ndarray]]:
    """32 pieces of (3, 4] s (from the start and the end of 16 speech files), with languages."""
    from filters.audio import decode_audio

    base = speech_eval_dir()
    with open(base / "MANIFEST.tsv", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
                if r["category"].startswith("speech") and r["language"]
                and float(r["duration_s"]) >= 4.5]
    out = []
    for k, row in enumerate(rows[:N // 2]):
        audio = decode_audio((base / row["file"]).read_bytes(), 120.0).samples
        n1, n2 = (int((3.05 + 0.9 * (2 * k + j) / N) * SR) for j in (0, 1))  # all in (3, 4] s
        out.append((row["language"], np.ascontiguousarray(audio[SR // 2:SR // 2 + n1])))
        out.append((row["language"], np.ascontiguousarray(audio[-n2 - SR // 4:-SR // 4])))
    return out


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            names = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")]
        return f"{names[0]} ({len(names)} logical)" if names else "?"
    except OSError:
        return "?"


def storage(arr: np.ndarray):
    import ctranslate2

    return ctranslate2.StorageView.from_array(np.ascontiguousarray(arr))


def batches(n: int, size: int, reverse: bool = False) -> list[list[int]]:
    order = list(range(n))[::-1] if reverse else list(range(n))
    return [order[i:i + size] for i in range(0, n, size)]


def compare(ref: list, other: list, diff) -> tuple[int, str, float]:
    """Bit-identical results, same tokens (generate only), max |difference|."""
    same = sum(1 for a, b in zip(ref, other, strict=True) if diff(a, b) == 0.0)
    tokens = "" if diff is not gen_diff else str(
        sum(1 for a, b in zip(ref, other, strict=True) if a[0] == b[0]))
    return same, tokens, max(diff(a, b) for a, b in zip(ref, other, strict=True))


def array_diff(a: np.ndarray, b: np.ndarray) -> float:
    return 0.0 if np.array_equal(a, b) else float(np.max(np.abs(a - b))) or 1e-45


def lid_diff(a: list, b: list) -> float:
    if a == b:
        return 0.0
    da, db = dict(a), dict(b)
    return max(abs(da[k] - db.get(k, 0.0)) for k in da) or 1e-45


def gen_diff(a, b) -> float:
    if a == b:
        return 0.0
    if a[0] != b[0]:
        return float("inf")  # different tokens
    return max(abs(a[1] - b[1]), abs(a[2] - b[2])) or 1e-45


def measure(name: str, threads: int, device: str, compute_type: str) -> list[tuple]:
    from faster_whisper.transcribe import get_suppressed_tokens

    from pipelines.models import resolve_model
    from pipelines.whisper import _features, _tokenizer, context_seconds, load_whisper

    model = load_whisper(str(resolve_model(name)), device, compute_type, threads)
    data = pieces()
    seconds = {context_seconds(len(a), 5.0) for _l, a in data}
    assert len(seconds) == 1, seconds
    (ctx,) = seconds
    feats = [_features(model, a, ctx) for _l, a in data]
    multi = model.model.is_multilingual
    langs = [lang if multi else "en" for lang, _a in data]
    toks = {lang: _tokenizer(model, lang) for lang in set(langs)}
    prompts = [model.get_prompt(toks[lang], [], without_timestamps=True) for lang in langs]
    suppress = list(get_suppressed_tokens(toks[langs[0]], [-1]))
    rows = []

    def encode(size: int, reverse: bool = False, m=model) -> tuple[list[np.ndarray], float]:
        out: list = [None] * N
        t = time.perf_counter()
        for b in batches(N, size, reverse):
            enc = np.array(m.model.encode(storage(np.stack([feats[i] for i in b])), to_cpu=True))
            for j, i in enumerate(b):
                out[i] = enc[j]
        return out, time.perf_counter() - t

    enc1, t1 = encode(1)
    rows.append((name, "encode", 1, N, "", 0.0, t1))
    for size, rev in SIZES:
        enc, t = encode(size, rev)
        rows.append((name, "encode", f"{size}{' reversed' if rev else ''}",
                     *compare(enc1, enc, array_diff), t))
    model1 = load_whisper(str(resolve_model(name)), device, compute_type, 1)
    enc_t1, t = encode(1, m=model1)
    rows.append((name, "encode", "1, 1 thread", *compare(enc1, enc_t1, array_diff), t))

    def lid(size: int, reverse: bool = False) -> tuple[list, float]:
        out: list = [None] * N
        t = time.perf_counter()
        for b in batches(N, size, reverse):
            res = model.model.detect_language(storage(np.stack([enc1[i] for i in b])))
            for j, i in enumerate(b):
                out[i] = res[j]
        return out, time.perf_counter() - t

    if multi:
        lid1, t = lid(1)
        rows.append((name, "detect_language", 1, N, "", 0.0, t))
        for size, rev in SIZES:
            res, t = lid(size, rev)
            rows.append((name, "detect_language", f"{size}{' reversed' if rev else ''}",
                         *compare(lid1, res, lid_diff), t))

    def generate(inputs: list[np.ndarray], size: int, beam: int, reverse: bool = False,
                 m=model) -> tuple[list, float]:
        out: list = [None] * N
        t = time.perf_counter()
        for b in batches(N, size, reverse):
            res = m.model.generate(
                storage(np.stack([inputs[i] for i in b])), [prompts[i] for i in b],
                beam_size=beam, max_length=model.max_length, suppress_blank=True,
                suppress_tokens=suppress, return_scores=True, return_no_speech_prob=True)
            for j, i in enumerate(b):
                r = res[j]
                out[i] = (tuple(r.sequences_ids[0]), r.scores[0], r.no_speech_prob)
        return out, time.perf_counter() - t

    for beam in (5, 1):
        gen1, t = generate(enc1, 1, beam)
        rows.append((name, f"generate beam {beam}", 1, N, str(N), 0.0, t))
        for size, rev in SIZES:
            res, t = generate(enc1, size, beam, rev)
            rows.append((name, f"generate beam {beam}", f"{size}{' reversed' if rev else ''}",
                         *compare(gen1, res, gen_diff), t))
        mel1, t = generate(feats, 1, beam)
        rows.append((name, f"generate(mel) beam {beam}", 1, *compare(gen1, mel1, gen_diff), t))
        for size in (16, 32):
            res, t = generate(feats, size, beam)
            rows.append((name, f"generate(mel) beam {beam}", size,
                         *compare(gen1, res, gen_diff), t))
        res, t = generate(enc1, 16, beam, m=model1)
        rows.append((name, f"generate beam {beam}", "16, 1 thread", *compare(gen1, res, gen_diff),
                     t))
        if beam == 5:
            padded = [_features(model, a, ctx + 2) for _l, a in data]
            res, t = generate(padded, 1, beam)
            rows.append((name, "control: 11 s context, beam 5", 1,
                         *compare(gen1, res, gen_diff), t))
    return rows


def cache_tradeoff(name: str, threads: int, device: str, compute_type: str) -> None:
    """``label_recording`` on one long recording with the encoder cache vs without it."""
    from filters.audio import decode_audio
    from filters.vad import segment_speech
    from pipelines.config import SegmentConfig
    from pipelines.models import resolve_model
    from pipelines.whisper import LabelOptions, context_seconds, label_recording, load_whisper

    model = load_whisper(str(resolve_model(name)), device, compute_type, threads)
    files = ["whisperstt/earnings22_1_4482311_3_62.wav",
             "whisperstt/earnings22_3_4483589_261_321.wav"]
    audio = np.concatenate([decode_audio((speech_eval_dir() / f).read_bytes(), 120.0).samples
                            for f in files])
    segments = [audio[int(sp.start * SR):int(sp.end * SR)]
                for sp in segment_speech(audio, SegmentConfig())]
    context_s = sum(context_seconds(len(a), 5.0) for a in segments)
    print(f"\n{name}: one recording of {len(audio) / SR:.0f} s ({' + '.join(files)}), "
          f"{len(segments)} VAD segments, {context_s} s of encoder context")
    print("| encoder_cache_mb | segments encoded twice | wall s | identical to default |")
    print("|---:|---:|---:|---|")
    ref = None
    for cache_mb in (256.0, 0.0):
        best = float("inf")
        for _ in range(2):
            t = time.perf_counter()
            got = label_recording(model, segments, LabelOptions(encoder_cache_mb=cache_mb))
            best = min(best, time.perf_counter() - t)
        ref = ref or got
        twice = 0 if cache_mb else len(segments)
        print(f"| {cache_mb:g} | {twice}/{len(segments)} | {best:.2f} | {got == ref} |",
              flush=True)


BACKENDS = {  # environment -> what CTranslate2 runs on x86
    "default": {},  # oneDNN on AMD, MKL on Intel; the CPU's best ISA
    "CT2_USE_MKL=1": {"CT2_USE_MKL": "1"},
    "CT2_FORCE_CPU_ISA=AVX": {"CT2_FORCE_CPU_ISA": "AVX"},
}


def dump_encoder(name: str, threads: int, path: str) -> None:
    """Batch-1 encoder outputs of the pieces, saved for ``cross_backend``."""
    from pipelines.models import resolve_model
    from pipelines.whisper import _encode, load_whisper

    model = load_whisper(str(resolve_model(name)), "cpu", "int8", threads)
    clips = [a for _l, a in pieces()]
    np.save(path, np.stack([np.array(_encode(model, clips, [i], 9))[0]
                            for i in range(len(clips))]))


def cross_backend(name: str, threads: int) -> None:
    """The same pieces, alone, under each CTranslate2 CPU backend (separate processes)."""
    import subprocess
    import tempfile

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, env in BACKENDS.items():
            path = f"{tmp}/{len(out)}.npy"
            subprocess.run([sys.executable, __file__, "--models", name, "--threads",
                            str(threads), "--dump-encoder", path],
                           env={**os.environ, **env}, check=True, capture_output=True)
            out[label] = np.load(path)
    ref = out["default"]
    print(f"\n{name}: batch-1 encoder outputs of the {N} pieces, per CPU backend vs default")
    print("| backend | pieces identical | max abs diff |")
    print("|---|---:|---:|")
    for label, enc in out.items():
        same = sum(np.array_equal(a, b) for a, b in zip(ref, enc, strict=True))
        print(f"| {label} | {same}/{N} | {float(np.max(np.abs(ref - enc))):.3g} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--device", default="cpu", help="cpu | cuda")
    ap.add_argument("--compute-type", default="int8", help="int8 on CPU as the pipeline; float16")
    ap.add_argument("--cache-tradeoff", action="store_true",
                    help="only time label_recording on a 2-minute recording, with and without "
                         "the encoder cache (multilingual models)")
    ap.add_argument("--cross-backend", action="store_true",
                    help="only compare encoder outputs across CTranslate2 CPU backends/ISAs")
    ap.add_argument("--dump-encoder", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    import ctranslate2

    if args.dump_encoder:
        dump_encoder(args.models[0], args.threads, args.dump_encoder)
        return 0
    if args.cross_backend:
        for name in args.models:
            cross_backend(name, args.threads)
        return 0
    if args.cache_tradeoff:
        for name in args.models:
            cache_tradeoff(name, args.threads, args.device, args.compute_type)
        return 0

    print(f"ctranslate2 {ctranslate2.__version__}, {args.device} {args.compute_type}, "
          f"{args.threads} threads; "
          f"{N} pieces of (3, 4] s (one 9 s encoder context); reference: batch 1")
    print(f"CPU: {cpu_model()}; CT2_USE_MKL={os.environ.get('CT2_USE_MKL', '')!r} (unset: MKL "
          "on Intel CPUs, oneDNN elsewhere; CT2_VERBOSE=1 logs the GEMM backends)\n")
    print("| model | step | batch | bit-identical to batch 1 | same tokens | max abs diff "
          "| wall s |")
    print("|---|---|---|---:|---:|---:|---:|")
    for name in args.models:
        for model, step, batch, same, tokens, diff, wall in measure(
                name, args.threads, args.device, args.compute_type):
            tokens = f"{tokens}/{N}" if tokens else "–"
            print(f"| {model} | {step} | {batch} | {same}/{N} | {tokens} | {diff:.3g} "
                  f"| {wall:.2f} |", flush=True)
    print("\n(generate rows decode the batch-1 encoder outputs; generate(mel) rows encode and "
          "decode in one batched call and are compared with the batch-1 encoder + decoder; "
          "max abs diff is inf where tokens differ)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
