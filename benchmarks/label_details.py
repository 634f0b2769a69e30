"""The details behind the label-quality figures: which clips the language ID gets wrong and how,
which segments would make ``transcribe`` fall back to sampling, and what Whisper writes on
non-speech.

Runs the pipeline's labeller (``pipelines.whisper.label_recording``, one file = one recording,
the pipeline's VAD segments, the transcript's fastText language as the hint, as the ASR stage
does) over the files of ``benchmarks/quality.py`` (../shared/speech-eval without the two
re-encodings of JFK) and prints:

1. every speech clip >= 3 s whose recording-level audio LID (pooled over its segments) or
   fastText text LID is not the manifest language, with both votes and their probabilities;
2. every segment whose own audio LID differs from its recording's pooled language;
3. the segments on which faster-whisper's ``transcribe`` would retry at a higher temperature
   (its defaults: compression ratio > 2.4 or mean log-prob < -1.0, unless no-speech prob > 0.6
   with that low log-prob, which it treats as silence), out of all speech segments;
4. the pseudo-label of every segment of the non-speech files.

    .venv/bin/python benchmarks/label_details.py [--model base] [--beam-size 5]

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
# faster-whisper transcribe() defaults
COMPRESSION_RATIO_THRESHOLD = 2.4
LOG_PROB_THRESHOLD = -1.0
NO_SPEECH_THRESHOLD = 0.6


def clip(text: str, limit: int = 100) -> str:
    """A long pseudo-label (a repetition loop) cut for printing, with its full length."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def would_fall_back(res) -> bool:
    """``transcribe``'s rule for retrying a window at a higher temperature."""
    needs = (res.compression_ratio > COMPRESSION_RATIO_THRESHOLD
             or res.avg_logprob < LOG_PROB_THRESHOLD)
    silence = res.no_speech_prob > NO_SPEECH_THRESHOLD and res.avg_logprob < LOG_PROB_THRESHOLD
    return needs and not silence


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="base", help="a multilingual model for the LID parts")
    ap.add_argument("--beam-size", type=int, default=5)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (smoke run)")
    args = ap.parse_args(argv)

    root = speech_eval_dir()
    if root is None:
        print("speech-eval not found (../shared/speech-eval or SPEECH_EVAL_DIR): skipped")
        return 0

    from filters.audio import decode_audio
    from filters.text_lid import TextLanguageIdentifier
    from filters.vad import segment_speech
    from pipelines.config import SegmentConfig
    from pipelines.models import resolve_model
    from pipelines.stages.asr import HINT_MIN_TEXT_PROB
    from pipelines.whisper import LabelOptions, label_recording, load_whisper

    with open(root / "MANIFEST.tsv", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
                if not r["category"].startswith("near-duplicate")]
    rows = rows[:args.limit] if args.limit else rows
    cfg = SegmentConfig()
    tlid = TextLanguageIdentifier().load()
    model = load_whisper(str(resolve_model(args.model)), "cpu", "auto", args.threads)
    t0 = time.perf_counter()
    files = []
    for r in rows:
        audio = decode_audio((root / r["file"]).read_bytes(), 3600).samples
        spans = [s for s in segment_speech(audio, cfg) if s.duration >= cfg.min_segment_s]
        speech = not r["category"].startswith("non-speech")
        pred = tlid.predict(r["transcript"], k=1) if speech and r["transcript"] else []
        text_lid = pred[0] if pred else ("", 0.0)
        hint = text_lid[0] if text_lid[1] >= HINT_MIN_TEXT_PROB else ""
        clips = [audio[int(s.start * SR):int(s.end * SR)] for s in spans]
        results = label_recording(model, clips, LabelOptions(beam_size=args.beam_size,
                                                             hint=hint))
        files.append({"row": r, "seconds": len(audio) / SR, "speech": speech, "spans": spans,
                      "results": results, "text_lid": text_lid})
    n_speech = sum(f["speech"] for f in files)
    print(f"# speech-eval: {len(files)} files ({n_speech} speech, {len(files) - n_speech} "
          f"non-speech), {sum(len(f['spans']) for f in files)} VAD segments; {args.model}, "
          f"beam {args.beam_size}, int8 on CPU, {args.threads} threads; labelled in "
          f"{time.perf_counter() - t0:.0f} s; {labeller_version()}\n")

    print("## 1. Language ID misses on speech clips >= 3 s (recording-level votes)\n")
    print("| file | file s | VAD segments s | language | audio LID (pooled) | text LID "
          "(fastText) |")
    print("|---|---:|---:|---|---|---|")
    clips3 = [f for f in files if f["speech"] and f["seconds"] >= 3.0]
    misses = {"audio": 0, "text": 0}
    for f in clips3:
        lang = f["row"]["language"]
        res = f["results"][0] if f["results"] else None
        audio = (res.detected_language, res.detected_prob) if res else ("", 0.0)
        text = f["text_lid"]
        misses["audio"] += audio[0] != lang
        misses["text"] += text[0] != lang
        if audio[0] != lang or text[0] != lang:
            seg_s = sum(s.duration for s in f["spans"])
            print(f"| {f['row']['file']} | {f['seconds']:.1f} | {seg_s:.1f} | {lang} | "
                  f"{audio[0] or '-'} {audio[1]:.2f} | {text[0] or '-'} {text[1]:.2f} |")
    print(f"\n{len(clips3)} clips: audio LID wrong on {misses['audio']}, text LID wrong on "
          f"{misses['text']} (a vote under 0.5 is no evidence in the label policy)")

    print("\n## 2. Segments whose own audio LID differs from their recording's pooled language\n")
    print("| file | segment | s | own LID | pooled |")
    print("|---|---:|---:|---|---|")
    for f in files:
        if not f["speech"]:
            continue
        for j, (span, res) in enumerate(zip(f["spans"], f["results"], strict=True)):
            own = res.own_language_probs[0] if res.own_language_probs else None
            if own and own[0] != res.detected_language:
                print(f"| {f['row']['file']} | {j} | {span.duration:.1f} | {own[0]} "
                      f"{own[1]:.2f} | {res.detected_language} {res.detected_prob:.2f} |")

    print("\n## 3. Segments on which transcribe() would fall back to a higher temperature\n")
    speech_segs = [(f, j, res) for f in files if f["speech"]
                   for j, res in enumerate(f["results"])]
    fallback = [(f, j, res) for f, j, res in speech_segs if would_fall_back(res)]
    for f, j, res in fallback:
        print(f"- {f['row']['file']} segment {j}: compression ratio {res.compression_ratio:.2f}, "
              f"avg log-prob {res.avg_logprob:.2f}, no-speech {res.no_speech_prob:.2f}: "
              f"{clip(res.text)!r}")
    print(f"\n{len(fallback)} of {len(speech_segs)} segments of the {n_speech} speech files")

    print("\n## 4. Pseudo-labels on the non-speech files\n")
    for f in files:
        if f["speech"]:
            continue
        texts = [f"{clip(res.text)!r} (no-speech {res.no_speech_prob:.2f}, log-prob "
                 f"{res.avg_logprob:.2f})" for res in f["results"]]
        print(f"- {f['row']['file']}: {len(texts)} segments" + (": " if texts else "")
              + "; ".join(texts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
