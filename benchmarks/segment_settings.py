"""VAD segmentation settings against pseudo-label WER on the English files of speech-eval.

Each setting re-segments every English file of ../shared/speech-eval (the files of
``benchmarks/quality.py``: the two re-encodings of JFK skipped) with ``filters.vad`` and a
``pipelines.config.SegmentConfig`` that differs from the default in one field, drops segments
under ``min_segment_s`` as the pipeline does, labels each file as one recording with
``pipelines.whisper.label_recording`` (default options, beam ``--beam-size``) and scores the
segment labels joined per file against the reference with ``filters.agreement.corpus_error_rates``
(openai-whisper's ``EnglishTextNormalizer`` + jiwer, as ``benchmarks/quality.py``). The baseline,
in the same run, is the default ``curate.segment`` (``target_s`` 30, ``pad_s`` 0.3).

    .venv/bin/python benchmarks/segment_settings.py                 # tiny.en, beam 5
    .venv/bin/python benchmarks/segment_settings.py --set target_s=20 --set pad_s=0.15 \\
        --set min_silence_s=0.5

Figures only (no assertions). Skips with a message when speech-eval is absent.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from speech_eval_common import labeller_version, speech_eval_dir  # noqa: E402

SR = 16_000


def main(argv: list[str] | None = None) -> int:
    from pipelines.config import SegmentConfig

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny.en")
    ap.add_argument("--beam-size", type=int, default=5)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--set", action="append", dest="sets", default=[],
                    metavar="FIELD=VALUE", help="one variant per option (default: target_s=20 "
                    "and pad_s=0.15)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (smoke run)")
    args = ap.parse_args(argv)
    types = {f.name: f.type for f in fields(SegmentConfig)}
    variants = []
    for item in args.sets or ["target_s=20", "pad_s=0.15"]:
        name, _, value = item.partition("=")
        if name not in types:
            ap.error(f"--set {item}: no field {name!r} in SegmentConfig")
        kind = getattr(types[name], "__name__", types[name])  # "int" with deferred annotations
        cast = {"int": int, "float": float, "bool": lambda v: v.lower() == "true"}[kind]
        variants.append((f"{name} {value}", {name: cast(value)}))

    root = speech_eval_dir()
    if root is None:
        print("speech-eval not found (../shared/speech-eval or SPEECH_EVAL_DIR): skipped")
        return 0

    from filters.agreement import corpus_error_rates
    from filters.audio import decode_audio
    from filters.vad import segment_speech
    from pipelines.models import resolve_model
    from pipelines.whisper import LabelOptions, label_recording, load_whisper

    with open(root / "MANIFEST.tsv", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
                if r["language"] == "en" and not r["category"].startswith("near-duplicate")]
    rows = rows[:args.limit] if args.limit else rows
    audios = [decode_audio((root / r["file"]).read_bytes(), 3600).samples for r in rows]
    refs = [r["transcript"] for r in rows]
    model = load_whisper(str(resolve_model(args.model)), "cpu", "auto", args.threads)
    options = LabelOptions(beam_size=args.beam_size)
    print(f"# speech-eval English: {len(rows)} files, "
          f"{sum(len(a) for a in audios) / SR:.1f} s; {args.model} (int8 on CPU), beam "
          f"{args.beam_size}, {args.threads} threads; {labeller_version()}\n")

    default = SegmentConfig()
    measured = []
    for label, change in [("default (baseline)", {}), *variants]:
        cfg = replace(default, **change)
        cfg.validate("segment")
        t0 = time.perf_counter()
        hyps, n_seg, seg_s = [], 0, 0.0
        for audio in audios:
            spans = [s for s in segment_speech(audio, cfg) if s.duration >= cfg.min_segment_s]
            clips = [audio[int(s.start * SR):int(s.end * SR)] for s in spans]
            n_seg += len(clips)
            seg_s += sum(s.duration for s in spans)
            hyps.append(" ".join(x.text for x in label_recording(model, clips, options)))
        wall = time.perf_counter() - t0
        _cer, wer = corpus_error_rates(refs, hyps, "en")
        measured.append((label, n_seg, seg_s, wall, wer))
        print(f"  {label}: {n_seg} segments, WER {100 * wer:.1f} %", flush=True)

    base_wer = measured[0][4]
    print("\n| segment setting | segments | segment audio s | wall s | WER % | "
          "vs baseline, points |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, n_seg, seg_s, wall, wer in measured:
        print(f"| {label} | {n_seg} | {seg_s:.1f} | {wall:.1f} | {100 * wer:.1f} | "
              f"{100 * (wer - base_wer):+.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
