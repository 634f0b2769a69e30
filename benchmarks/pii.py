"""PII detection quality and speed on the generated transcript sets.

    .venv/bin/python benchmarks/pii.py [--n 320] [--seed 13] [--large 3000] [--large-seed 2026]

Prints, for the test set (the one tests/filters/pii/test_pii_generated.py asserts on) and a
larger set from another seed:
1. per type: planted spans, predicted spans, precision, recall, F1 (span-overlap matching, see
   tests/filters/pii/pii_cases.py ``Score``);
2. recall by form of the planted value (written, spoken, mixed Whisper-style digits);
3. throughput in transcripts per second on one core (BLAS/OpenMP threads pinned to 1), with
   and without person names (the spaCy NER is most of the cost), and the machine's load;
4. what is found in the real transcripts of ../shared/speech-eval (read books, poetry, an
   earnings call; no PII planted, not written by us): every find, for a precision check
   outside the generator (skipped when the set is absent).

Presidio: its documentation (microsoft.github.io/presidio/evaluation) publishes no per-type
precision/recall figures; it points to presidio-research for evaluating on one's own data.
Figures found elsewhere are third-party blog claims we could not check, so none are tabulated.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.speech_eval_common import speech_eval_dir  # noqa: E402
from filters.pii import PII_TYPES, PiiConfig, PiiDetector  # noqa: E402
from tests.filters.pii.pii_cases import Case, generate, predict, score  # noqa: E402


def _overlap(a: tuple[int, int, str], b: tuple[int, int, str]) -> bool:
    return a[2] == b[2] and a[0] < b[1] and b[0] < a[1]


def recall_by_form(cases: list[Case], predictions: list) -> dict[str, tuple[int, int]]:  # noqa: ANN001
    """(found, planted) per form. A planted case's gold spans are in planting order, one per
    form; a split case is spoken."""
    out: dict[str, list[int]] = {}
    for case, pred in zip(cases, predictions, strict=True):
        if case.kind == "negative":
            continue
        for seg, (gold, got) in enumerate(zip(case.gold, pred, strict=True)):
            for k, span in enumerate(gold):
                form = "spoken (split)" if case.kind == "split" else case.forms[k]
                if case.kind == "split" and seg:
                    continue  # count a split value once, by its first part
                hit = any(_overlap(span, p) for p in got)
                counts = out.setdefault(form, [0, 0])
                counts[0] += hit
                counts[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def report(name: str, cases: list[Case], detector: PiiDetector) -> None:
    predictions = predict(detector, cases)
    scores = score(cases, predictions)
    kinds = Counter(c.kind.split(":")[0] for c in cases)
    print(f"\n## {name}: {len(cases)} transcripts ({kinds['planted']} planted, "
          f"{kinds['split']} split across two segments, {kinds['negative']} negative)\n")
    print("| type | planted | predicted | precision | recall | F1 |")
    print("|---|---:|---:|---:|---:|---:|")
    for t in PII_TYPES:
        s = scores[t]
        print(f"| {t} | {s.gold} | {s.predicted} | {s.precision:.3f} | {s.recall:.3f} "
              f"| {s.f1:.3f} |")
    total_gold = sum(s.gold for s in scores.values())
    total_found = sum(s.found for s in scores.values())
    total_pred = sum(s.predicted for s in scores.values())
    total_correct = sum(s.correct for s in scores.values())
    print(f"| all | {total_gold} | {total_pred} | {total_correct / total_pred:.3f} | "
          f"{total_found / total_gold:.3f} | |")
    print("\nrecall by form: " + ", ".join(
        f"{form} {found}/{n} = {found / n:.3f}"
        for form, (found, n) in sorted(recall_by_form(cases, predictions).items())))


def throughput(cases: list[Case], detector: PiiDetector) -> float:
    predict(detector, cases[:20])  # warm-up
    start = time.process_time()
    predict(detector, cases)
    return len(cases) / (time.process_time() - start)


def real_transcripts(detector: PiiDetector) -> None:
    root = speech_eval_dir()
    if root is None:
        print("\nspeech-eval not found: real-transcript check skipped")
        return
    import csv

    with open(root / "MANIFEST.tsv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["transcript"].strip()]
    finds = []
    for r in rows:
        text = r["transcript"]
        for s in detector.detect(text, r["language"] or "en"):
            finds.append(f"  {s.type} {text[s.start:s.end]!r} ({r['file']})")
    words = sum(len(r["transcript"].split()) for r in rows)
    print(f"\nreal transcripts (speech-eval, {len(rows)} transcripts, {words} words, no PII "
          f"planted): {len(finds)} finds")
    print("\n".join(finds))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=320)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--large", type=int, default=3000)
    ap.add_argument("--large-seed", type=int, default=2026)
    args = ap.parse_args()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    detector = PiiDetector(PiiConfig())
    detector.load_model()
    report(f"test set (seed {args.seed})", generate(args.n, args.seed), detector)
    large = generate(args.large, args.large_seed)
    if args.large:
        report(f"larger set (seed {args.large_seed})", large, detector)
    real_transcripts(detector)
    sample = large[:500] if args.large else generate(500, args.seed)
    with_names = throughput(sample, detector)
    without = throughput(sample, PiiDetector(PiiConfig(person_names=False)))
    chars = sum(len(s) for c in sample for s in c.segments) / len(sample)
    print(f"\nthroughput, one core (CPU time), {len(sample)} transcripts of {chars:.0f} chars "
          f"on average: {with_names:.0f}/s with person names (spaCy NER), {without:.0f}/s "
          f"without; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
