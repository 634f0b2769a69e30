"""Whisper encoder context padding (``curate.asr.context_pad_s``): WER and time per setting.

Each segment's encoder input is the segment plus ``context_pad_s`` seconds of silence, rounded up
to whole seconds (``pipelines.whisper.context_seconds``), instead of Whisper's padded 30 s
window. This sweeps the pad on the English files of ../shared/speech-eval (the set of
``benchmarks/throughput.py``: every English file but ``mfa/michaelandsickmichael.wav``, whose
parts are in the set), each file one recording, cut by the pipeline's VAD (segments shorter than
``segment.min_segment_s`` dropped, as the pipeline does) and labelled with
``pipelines.whisper.label_recording``. The baseline, in the same run, is Whisper's full 30 s
windows (``context_pad_s: 0``).

Settings: ``none`` = the segment's own length rounded up to whole seconds (a pad of 1 ms, so
0-1 s of silence from the rounding alone), a number = that many seconds, ``full`` = 30 s
windows. WER is over all files (segment labels joined per file) after openai-whisper's
``EnglishTextNormalizer``, with jiwer, as in ``benchmarks/throughput.py``.

    .venv/bin/python benchmarks/context_pad.py                      # tiny.en, greedy
    .venv/bin/python benchmarks/context_pad.py --model base --beam-size 5 --pads none 5 full

Figures only (no assertions). Skips with a message when speech-eval is absent.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from speech_eval_common import labeller_version, speech_eval_dir  # noqa: E402

SR = 16_000
NO_PAD_S = 0.001  # "none": context_seconds() rounds the segment up to whole seconds, no more
SKIP_FILES = {"mfa/michaelandsickmichael.wav"}  # its parts are in the set


def parse_pad(token: str) -> tuple[str, float]:
    """(label, context_pad_s) of one command-line setting."""
    if token == "none":
        return "none", NO_PAD_S
    if token in ("full", "30"):
        return "full 30 s", 0.0
    value = float(token)
    if not 0 < value <= 30:
        raise argparse.ArgumentTypeError(f"pad {token!r}: use none, full or seconds in (0, 30]")
    return f"{value:g} s", value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny.en", help="tiny.en | base | CTranslate2 dir")
    parser.add_argument("--beam-size", type=int, default=1, help="1 = greedy (default)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--pads", nargs="+", default=["none", "1", "3", "5", "full"],
                        help="settings to sweep: none, seconds, full (default: %(default)s)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N files (smoke run)")
    args = parser.parse_args(argv)
    settings = [parse_pad(t) for t in args.pads]
    if not any(pad == 0.0 for _label, pad in settings):
        settings.append(parse_pad("full"))  # the baseline is always measured

    root = speech_eval_dir()
    if root is None:
        print("speech-eval not found (../shared/speech-eval or SPEECH_EVAL_DIR): skipped")
        return 0

    import jiwer
    from whisper.normalizers import EnglishTextNormalizer

    from filters.audio import decode_audio
    from filters.vad import segment_speech
    from pipelines.config import SegmentConfig
    from pipelines.models import resolve_model
    from pipelines.whisper import LabelOptions, context_seconds, label_recording, load_whisper

    with open(root / "MANIFEST.tsv", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
                if r["language"] == "en" and r["file"] not in SKIP_FILES]
    rows = rows[:args.limit] if args.limit else rows
    seg_cfg = SegmentConfig()
    files = []
    for r in rows:
        audio = decode_audio((root / r["file"]).read_bytes(), 3600).samples
        spans = [s for s in segment_speech(audio, seg_cfg) if s.duration >= seg_cfg.min_segment_s]
        files.append((r, [audio[int(s.start * SR):int(s.end * SR)] for s in spans]))
    clips = [c for _r, cs in files for c in cs]
    audio_s = sum(len(c) for c in clips) / SR
    print(f"speech-eval English: {len(files)} files, {len(clips)} VAD segments, {audio_s:.1f} s "
          f"of segment audio; model {args.model} (int8 on CPU), beam {args.beam_size}, "
          f"batch {args.batch_size}, {args.threads} threads; {labeller_version()}")

    model = load_whisper(str(resolve_model(args.model)), "cpu", "auto", args.threads)
    label_recording(model, clips[:1], LabelOptions(beam_size=args.beam_size))  # warm-up
    norm = EnglishTextNormalizer()
    refs = [norm(r["transcript"]) for r, _cs in files]
    measured: dict[str, tuple[float, float, float, float]] = {}
    for label, pad in settings:
        options = LabelOptions(beam_size=args.beam_size, context_pad_s=pad,
                               batch_size=args.batch_size)
        t0 = time.perf_counter()
        hyps = []
        for _r, cs in files:
            hyps.append(" ".join(res.text for res in label_recording(model, cs, options)))
        wall = time.perf_counter() - t0
        wer = jiwer.wer(refs, [norm(h) for h in hyps])
        ctx = sum(context_seconds(len(c), pad) for c in clips) / max(len(clips), 1)
        words = sum(len(h.split()) for h in hyps)
        measured[label] = (wer, wall, ctx, words)
        print(f"  {label}: WER {100 * wer:.1f} %, {wall:.1f} s", flush=True)

    base_wer, base_wall, _c, _w = measured["full 30 s"]
    print(f"\ncontext_pad_s sweep ({args.model}, beam {args.beam_size}); baseline: full 30 s "
          f"windows (context_pad_s: 0), same run\n")
    print("| context_pad_s | mean encoder context s | words out | WER % | vs baseline, points "
          "| wall s | speed-up vs baseline |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, (wer, wall, ctx, words) in measured.items():
        print(f"| {label} | {ctx:.1f} | {words} | {100 * wer:.1f} | "
              f"{100 * (wer - base_wer):+.1f} | {wall:.1f} | {base_wall / wall:.2f}x |")
    print(f"\nreference words (normalised): {sum(len(r.split()) for r in refs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
