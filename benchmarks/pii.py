"""PII detection quality and speed: ours and Presidio's, on the same sets in the same run.

    .venv/bin/python benchmarks/pii.py [--n 320] [--seed 13] [--large 3000] [--large-seed 2026]
                                       [--no-presidio] [--presidio-threshold 0.4]

Prints, for the generated test set (the one tests/filters/pii/test_pii_generated.py asserts
on), a larger generated set from another seed, and the hand-written held-out set
(tests/data/pii_heldout.tsv, asserted on by tests/filters/pii/test_pii_heldout.py):
1. per type: planted spans, then precision, recall and F1 of our detector and of Presidio's
   analyzer (benchmarks/pii_presidio.py: its defaults on the same spaCy model, its types mapped
   onto ours) at its default score threshold (0) and at a stricter one (0.4); span-overlap
   matching, see tests/filters/pii/pii_cases.py ``Score``;
2. recall by type and form of the planted value (written, spoken, mixed Whisper-style digits,
   dictated across two segments), for both;
3. what each finds in the real transcripts of ../shared/speech-eval (read books, poetry, an
   earnings call; no PII planted, not written by us): every find, for reading (only real
   people's names are right), skipped when the set is absent;
4. throughput in transcripts per second on one core (BLAS/OpenMP threads pinned to 1): ours
   with and without person names (the spaCy NER is most of the cost), Presidio's, and the
   machine's load.

Presidio publishes no per-type precision or recall (its evaluation page points to
presidio-research for measuring on one's own data), hence measuring it here. Without
presidio-analyzer installed its columns are left out and the run says so.
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

from benchmarks.pii_presidio import PresidioDetector, available, presidio_version  # noqa: E402
from benchmarks.speech_eval_common import speech_eval_dir  # noqa: E402
from filters.pii import PII_TYPES, PiiConfig, PiiDetector  # noqa: E402
from tests.filters.pii.heldout import load_heldout  # noqa: E402
from tests.filters.pii.pii_cases import Case, Score, generate, predict, score  # noqa: E402

Detectors = dict[str, PiiDetector]
FORMS = ("written", "spoken", "mixed", "split")


def _overlap(a: tuple[int, int, str], b: tuple[int, int, str]) -> bool:
    return a[2] == b[2] and a[0] < b[1] and b[0] < a[1]


def recall_by_form(cases: list[Case], predictions: list) -> dict[tuple[str, str], list[int]]:  # noqa: ANN001
    """[found, planted] per (type, form). A planted case's gold spans are in planting order,
    one per form; a value split across segments is counted once, by its first part."""
    out: dict[tuple[str, str], list[int]] = {}
    for case, pred in zip(cases, predictions, strict=True):
        if case.kind == "negative":
            continue
        for seg, (gold, got) in enumerate(zip(case.gold, pred, strict=True)):
            if case.kind == "split" and seg:
                continue
            for k, span in enumerate(gold):
                form = "split" if case.kind == "split" else case.forms[k]
                counts = out.setdefault((span[2], form), [0, 0])
                counts[0] += any(_overlap(span, p) for p in got)
                counts[1] += 1
    return out


def _total(scores: dict[str, Score]) -> Score:
    return Score(*(sum(getattr(s, f) for s in scores.values())
                   for f in ("gold", "found", "predicted", "correct")))


def report(name: str, cases: list[Case], detectors: Detectors) -> None:
    predictions = {k: predict(d, cases) for k, d in detectors.items()}
    scores = {k: score(cases, p) for k, p in predictions.items()}
    kinds = Counter(c.kind.split(":")[0] for c in cases)
    print(f"\n## {name}: {len(cases)} transcripts ({kinds['planted']} planted, "
          f"{kinds['split']} split across two segments, {kinds['negative']} negative)\n")
    print("| type | planted | " + " | ".join(f"{k} P | {k} R | {k} F1" for k in detectors)
          + " |")
    print("|---|---:|" + "---:|---:|---:|" * len(detectors))
    for t in [*PII_TYPES, "all"]:
        row = [scores[k][t] if t != "all" else _total(scores[k]) for k in detectors]
        cells = " | ".join(f"{s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f}" for s in row)
        print(f"| {t} | {row[0].gold} | {cells} |")

    forms = {k: recall_by_form(cases, p) for k, p in predictions.items()}
    present = [f for f in FORMS if any(g == f for _, g in forms["ours"])]
    print(f"\nrecall by form ({' / '.join(detectors)}; planted values in brackets)\n")
    print("| type | " + " | ".join(present) + " |")
    print("|---|" + "---:|" * len(present))
    for t in [*PII_TYPES, "all"]:
        cells = []
        for f in present:
            keys = [(t, f)] if t != "all" else [(u, f) for u in PII_TYPES]
            n = sum(forms["ours"].get(key, [0, 0])[1] for key in keys)
            found = [sum(forms[k].get(key, [0, 0])[0] for key in keys) for k in detectors]
            cells.append(" / ".join(f"{x / n:.3f}" for x in found) + f" ({n})" if n else "")
        print(f"| {t} | " + " | ".join(cells) + " |")


def throughput(cases: list[Case], detector: PiiDetector) -> float:
    predict(detector, cases[:20])  # warm-up
    start = time.process_time()
    predict(detector, cases)
    return len(cases) / (time.process_time() - start)


def real_transcripts(detectors: Detectors) -> None:
    root = speech_eval_dir()
    if root is None:
        print("\nspeech-eval not found: real-transcript check skipped")
        return
    import csv

    with open(root / "MANIFEST.tsv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["transcript"].strip()]
    words = sum(len(r["transcript"].split()) for r in rows)
    print(f"\n## real transcripts (speech-eval: {len(rows)} transcripts, {words} words, no PII "
          f"planted)")
    for name, detector in detectors.items():
        finds = []
        for r in rows:
            text = r["transcript"]
            for s in detector.detect(text, r["language"] or "en"):
                finds.append((s.type, f"  {s.type} {text[s.start:s.end]!r} ({r['file']})"))
        by_type = Counter(t for t, _ in finds)
        print(f"\n{name}: {len(finds)} finds"
              + (f" ({', '.join(f'{t} {n}' for t, n in by_type.most_common())})" if finds
                 else ""))
        print("\n".join(line for _, line in finds))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=320)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--large", type=int, default=3000)
    ap.add_argument("--large-seed", type=int, default=2026)
    ap.add_argument("--no-presidio", action="store_true", help="measure our detector only")
    ap.add_argument("--presidio-threshold", type=float, default=0.4,
                    help="the second, stricter score threshold Presidio is measured at")
    args = ap.parse_args()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    detector = PiiDetector(PiiConfig())
    detector.load_model()
    detectors: Detectors = {"ours": detector}
    presidio: PresidioDetector | None = None
    if args.no_presidio:
        print("Presidio left out (--no-presidio)")
    elif not available():
        print("presidio not installed (presidio-analyzer==2.2.366, see the Makefile): "
              "Presidio columns left out")
    else:
        presidio = PresidioDetector()
        presidio.load_model()
        detectors["Presidio"] = presidio
        detectors[f"Presidio≥{args.presidio_threshold}"] = presidio.with_threshold(
            args.presidio_threshold)
        print(f"Presidio: presidio-analyzer {presidio_version()} on spaCy "
              f"{PiiConfig().ner_model}, its default recognisers, English only "
              f"(benchmarks/pii_presidio.py); score threshold 0 (its default) and "
              f"{args.presidio_threshold}")
    report(f"generated test set (seed {args.seed})", generate(args.n, args.seed), detectors)
    large = generate(args.large, args.large_seed) if args.large else []
    if large:
        report(f"larger generated set (seed {args.large_seed})", large, detectors)
    report("hand-written held-out set (tests/data/pii_heldout.tsv)", load_heldout(), detectors)
    real_transcripts(detectors)
    sample = large[:500] if large else generate(500, args.seed)
    chars = sum(len(s) for c in sample for s in c.segments) / len(sample)
    rates = {"ours with person names (spaCy NER)": throughput(sample, detector),
             "ours without": throughput(sample, PiiDetector(PiiConfig(person_names=False)))}
    if presidio is not None:
        rates["Presidio"] = throughput(sample, presidio.uncached())
    print(f"\nthroughput, one core (CPU time), {len(sample)} transcripts of {chars:.0f} chars "
          "on average: " + ", ".join(f"{k} {v:.0f}/s" for k, v in rates.items())
          + f"; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
