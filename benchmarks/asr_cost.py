"""Where Whisper's CPU time goes, and what the ASR settings cost, on ../shared/speech-eval.

1. **Encoder time by context length**: one Whisper encoder call (batch 1, int8 on CPU, the way
   ``pipelines.whisper.load_whisper`` loads the model) on real English speech padded or cut to
   each context length (default 10 s and 30 s), median of ``--repeats``. Baseline: 30 s, the
   window ``WhisperModel.transcribe`` always feeds the encoder.
2. **Encoder share**: the fraction of wall time spent in the encoder, (a) in faster-whisper's
   ``transcribe`` on each English file (its ``encode`` wrapped with a timer) and (b) in the
   pipeline's labeller, ``pipelines.whisper.label_recording`` with the default options
   (``pipelines.whisper._encode`` wrapped).
3. **Models and beam width**: the labeller on the English files (one file = one recording, the
   pipeline's VAD segments) for each model at beam 5 and greedy: wall time, WER, and the speed of
   each row against the baseline ``base`` at beam 5 (the default ``curate.asr`` settings).

WER: openai-whisper's ``EnglishTextNormalizer`` and jiwer over all files (segment labels joined
per file), as in ``benchmarks/throughput.py``. The English files are those of
``benchmarks/throughput.py`` (every English file but ``mfa/michaelandsickmichael.wav``, whose parts
are in the set).

    .venv/bin/python benchmarks/asr_cost.py
    .venv/bin/python benchmarks/asr_cost.py --models tiny.en --beams 5 --contexts 5 10 20 30
    .venv/bin/python benchmarks/asr_cost.py --parts 1 2     # parts 1 and 2 only (faster)

Figures only (no assertions). Skips with a message when speech-eval is absent.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from speech_eval_common import labeller_version, speech_eval_dir  # noqa: E402

SR = 16_000
SKIP_FILES = {"mfa/michaelandsickmichael.wav"}  # its parts are in the set


def load_english(root: Path, limit: int) -> list[tuple[dict, object, list]]:
    """(manifest row, decoded audio, VAD segment clips) of each English file."""
    from filters.audio import decode_audio
    from filters.vad import segment_speech
    from pipelines.config import SegmentConfig

    with open(root / "MANIFEST.tsv", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
                if r["language"] == "en" and r["file"] not in SKIP_FILES]
    rows = rows[:limit] if limit else rows
    cfg = SegmentConfig()
    out = []
    for r in rows:
        audio = decode_audio((root / r["file"]).read_bytes(), 3600).samples
        spans = [s for s in segment_speech(audio, cfg) if s.duration >= cfg.min_segment_s]
        out.append((r, audio, [audio[int(s.start * SR):int(s.end * SR)] for s in spans]))
    return out


def encoder_times(model, speech, contexts: list[int], repeats: int) -> dict[int, float]:
    """Median seconds of one encoder call (batch 1) per context length."""
    from pipelines.whisper import _encode

    out = {}
    for seconds in contexts:
        _encode(model, [speech], [0], seconds)  # warm-up at this shape
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            _encode(model, [speech], [0], seconds)
            times.append(time.perf_counter() - t0)
        out[seconds] = statistics.median(times)
    return out


class Timer:
    """Wraps a callable and adds up the wall and CPU seconds spent in it (CPU: the process's,
    all threads; the callers here run nothing else meanwhile)."""

    def __init__(self, fn):
        self.fn, self.seconds, self.cpu, self.calls = fn, 0.0, 0.0, 0

    def __call__(self, *a, **k):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return self.fn(*a, **k)
        finally:
            self.seconds += time.perf_counter() - t0
            self.cpu += time.process_time() - c0
            self.calls += 1


def encoder_share_transcribe(model, files, beam_size: int) -> tuple[float, float, Timer]:
    """(wall s, CPU s, encoder timer) of ``transcribe`` over the files."""
    timer = Timer(model.encode)
    model.encode = timer  # transcribe calls self.encode for every 30 s window
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        for _r, audio, _clips in files:
            pieces, _info = model.transcribe(audio, beam_size=beam_size)
            list(pieces)  # the generator does the work
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        del model.encode
    return wall, cpu, timer


def encoder_share_labeller(model, files, beam_size: int) -> tuple[float, float, Timer]:
    """(wall s, CPU s, encoder timer) of ``label_recording`` over the files."""
    import pipelines.whisper as pw

    timer = Timer(pw._encode)
    pw._encode = timer
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        for _r, _audio, clips in files:
            pw.label_recording(model, clips, pw.LabelOptions(beam_size=beam_size))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        pw._encode = timer.fn
    return wall, cpu, timer


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    ap.add_argument("--beams", nargs="+", type=int, default=[5, 1])
    ap.add_argument("--contexts", nargs="+", type=int, default=[10, 30])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--share-model", default="tiny.en", help="model for part 2")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--parts", nargs="+", type=int, default=[1, 2, 3], choices=[1, 2, 3])
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (smoke run)")
    args = ap.parse_args(argv)

    root = speech_eval_dir()
    if root is None:
        print("speech-eval not found (../shared/speech-eval or SPEECH_EVAL_DIR): skipped")
        return 0

    from pipelines.models import resolve_model
    from pipelines.whisper import load_whisper

    files = load_english(root, args.limit)
    clips = [c for _r, _a, cs in files for c in cs]
    audio_s = sum(len(a) for _r, a, _c in files) / SR
    print(f"# speech-eval English: {len(files)} files, {audio_s:.1f} s, {len(clips)} VAD "
          f"segments; int8 on CPU, {args.threads} threads; load average "
          f"{os.getloadavg()[0]:.1f}; {labeller_version()}\n")
    wanted = [*args.models] if 3 in args.parts or 1 in args.parts else []
    wanted += [args.share_model] if 2 in args.parts else []
    models = {name: load_whisper(str(resolve_model(name)), "cpu", "auto", args.threads)
              for name in dict.fromkeys(wanted)}

    # 1. encoder time by context
    if 1 in args.parts:
        part1({n: models[n] for n in args.models}, max(clips, key=len), args.contexts,
              args.repeats)
    # 2. encoder share
    if 2 in args.parts:
        part2(args.share_model, models[args.share_model], files)
    # 3. models x beams
    if 3 in args.parts:
        part3(models, files, args.models, args.beams, audio_s, args.threads)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    return 0


def part1(models: dict, speech, contexts: list[int], repeats: int) -> None:
    print("## 1. One encoder call (batch 1) by context length; baseline 30 s\n")
    print("| model | " + " | ".join(f"{c} s" for c in contexts) + " |"
          + (" 30 s / shortest |" if 30 in contexts else ""))
    print("|---|" + "---:|" * (len(contexts) + (30 in contexts)))
    for name, model in models.items():
        t = encoder_times(model, speech, contexts, repeats)
        row = f"| {name} | " + " | ".join(f"{t[c]:.3f}" for c in contexts) + " |"
        if 30 in contexts:
            row += f" {t[30] / t[min(contexts)]:.1f}x |"
        print(row, flush=True)


def part2(name: str, model, files) -> None:
    from pipelines.config import AsrConfig
    from pipelines.whisper import LabelOptions

    beam = AsrConfig.beam_size
    rows = [("faster-whisper transcribe, file by file",
             encoder_share_transcribe(model, files, beam)),
            (f"label_recording (context_pad_s {LabelOptions().context_pad_s:g})",
             encoder_share_labeller(model, files, beam))]
    print(f"\n## 2. Encoder share of Whisper's time ({name}, beam {beam})\n")
    print("| labeller | wall s | CPU s | encoder calls | encoder wall s | encoder CPU s | "
          "encoder share, wall | encoder share, CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, (wall, cpu, enc) in rows:
        print(f"| {label} | {wall:.2f} | {cpu:.2f} | {enc.calls} | {enc.seconds:.2f} | "
              f"{enc.cpu:.2f} | {100 * enc.seconds / wall:.0f} % | {100 * enc.cpu / cpu:.0f} % |",
              flush=True)


def part3(models: dict, files, names: list[str], beams: list[int], audio_s: float,
          threads: int) -> None:
    import jiwer
    from whisper.normalizers import EnglishTextNormalizer

    from pipelines.whisper import LabelOptions, label_recording

    norm = EnglishTextNormalizer()
    refs = [norm(r["transcript"]) for r, _a, _c in files]
    results = {}
    for name in names:
        for b in beams:
            options = LabelOptions(beam_size=b)
            t0, c0 = time.perf_counter(), time.process_time()
            hyps = [" ".join(x.text for x in label_recording(models[name], cs, options))
                    for _r, _a, cs in files]
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            results[(name, b)] = (wall, cpu, jiwer.wer(refs, [norm(h) for h in hyps]))
            print(f"  {name} beam {b}: {wall:.1f} s, WER {100 * results[(name, b)][2]:.1f} %",
                  flush=True)
    base_key = ("base", 5) if ("base", 5) in results else next(iter(results))
    bw, bc, bwer = results[base_key]
    default = " (the default curate.asr)" if base_key == ("base", 5) else ""
    print(f"\n## 3. label_recording by model and beam; baseline {base_key[0]} beam "
          f"{base_key[1]}{default}\n")
    print("| model | beam | wall s | CPU s | audio s / wall s / core | speed vs baseline "
          "(wall, CPU) | WER % | vs baseline, points |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for (name, b), (wall, cpu, wer) in results.items():
        print(f"| {name} | {b} | {wall:.1f} | {cpu:.1f} | {audio_s / wall / threads:.1f} | "
              f"{bw / wall:.2f}x, {bc / cpu:.2f}x | {100 * wer:.1f} | "
              f"{100 * (wer - bwer):+.1f} |")
    for name in names:
        if (name, 5) in results and (name, 1) in results:
            (w5, c5, e5), (w1, c1, e1) = results[(name, 5)], results[(name, 1)]
            print(f"{name}: greedy is {w5 / w1:.2f}x the speed of beam 5 ({c5 / c1:.2f}x in "
                  f"CPU time), WER {100 * (e1 - e5):+.1f} points")


if __name__ == "__main__":
    sys.exit(main())
