"""The analyse phase's pseudo-labelling on a GPU (float16, large batches), as audio hours per GPU
hour, against faster-whisper's own batched pipeline (``BatchedInferencePipeline``) on the same
audio in the same run (the baseline), with the WER of each against speech-eval's transcripts.

Both sides get the same VAD segments of speech-eval's English files (``filters.vad``), the same
model (``--model``, default base) and beam size; ours labels each recording's segments together
(``pipelines.whisper.label_recording``, ``--batch-size`` segments a call), faster-whisper's
pipeline transcribes each file with ``batch_size``. One warm-up pass precedes the timed one.

Usage (a CUDA machine; refuses with exit code 2 and a message elsewhere):

    .venv/bin/python benchmarks/label_gpu.py [--model base] [--batch-size 64] [--beam-size 5]

No GPU was lent to this project's sessions: no figure from this script is in the README yet.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="base", help="tiny.en | base | CTranslate2 dir")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--compute-type", default="float16")
    args = parser.parse_args()

    import ctranslate2

    if ctranslate2.get_cuda_device_count() < 1:
        print("label_gpu.py: no CUDA device visible to CTranslate2; run it on a GPU machine "
              "(nothing measured)", file=sys.stderr)
        return 2
    from speech_eval_common import speech_eval_dir

    root = speech_eval_dir()
    if root is None:
        print("speech-eval not found (set SPEECH_EVAL_DIR); skipping")
        return 0
    import jiwer
    from faster_whisper import BatchedInferencePipeline
    from whisper.normalizers import EnglishTextNormalizer

    from filters.audio import decode_audio
    from filters.vad import segment_speech
    from pipelines.config import SegmentConfig
    from pipelines.models import resolve_model
    from pipelines.whisper import LabelOptions, label_recording, load_whisper

    with open(root / "MANIFEST.tsv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["language"] == "en"]
    audios = {r["file"]: decode_audio((root / r["file"]).read_bytes(), 3600).samples
              for r in rows}
    refs = {r["file"]: r["transcript"] for r in rows}
    spans = {f: segment_speech(a, SegmentConfig()) for f, a in audios.items()}
    total_h = sum(len(a) for a in audios.values()) / 16000 / 3600
    model = load_whisper(str(resolve_model(args.model)), "cuda", args.compute_type)
    options = LabelOptions(beam_size=args.beam_size, batch_size=args.batch_size,
                           language="en" if args.model.endswith(".en") else "")
    batched = BatchedInferencePipeline(model)

    def ours() -> dict[str, str]:
        out = {}
        for f, audio in audios.items():
            clips = [audio[int(s.start * 16000):int(s.end * 16000)] for s in spans[f]]
            labels = label_recording(model, clips, options) if clips else []
            out[f] = " ".join(r.text for r in labels)
        return out

    def theirs() -> dict[str, str]:
        out = {}
        for f, audio in audios.items():
            segments, _ = batched.transcribe(audio, batch_size=args.batch_size,
                                             beam_size=args.beam_size)
            out[f] = " ".join(s.text.strip() for s in segments)
        return out

    norm = EnglishTextNormalizer()
    print(f"{len(audios)} English files, {total_h * 60:.1f} min; model {args.model} "
          f"{args.compute_type} on {ctranslate2.get_cuda_device_count()} GPU(s), batch "
          f"{args.batch_size}, beam {args.beam_size}")
    results = {}
    for name, fn in (("label_recording (ours)", ours),
                     ("BatchedInferencePipeline (baseline)", theirs)):
        fn()  # warm-up: CUDA context, kernels, allocator
        t0 = time.perf_counter()
        texts = fn()
        wall = time.perf_counter() - t0
        wer = jiwer.wer([norm(refs[f]) for f in texts], [norm(texts[f]) for f in texts])
        results[name] = wall
        print(f"  {name:<38} {wall:8.1f} s  {total_h / (wall / 3600):10.0f} audio h per GPU h"
              f"  WER {100 * wer:5.1f} %")
    ours_s, base_s = results.values()
    print(f"ours vs baseline: {base_s / ours_s:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
