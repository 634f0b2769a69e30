"""Translation pairs on real speech: how often true X->en pairs are kept and mismatched English
texts rejected, per language, and what the extra translate work costs per audio hour.

Each non-English speech-eval clip of ``tests/data/translation_pairs.tsv`` (hand-written English
translations) is analysed as the pipeline does: VAD segments, fastText on the English text, and
Whisper through the ASR stage's handler (audio LID, pseudo-label, the X->en translation and the
English text's score against the audio). Then the filter registry decides it as an untimed
recording with its own translation (a true pair: kept as ``task: translate``?) and with the
English text of every other clip, scored on the same analysis (a mismatch: text rejected as
``translation_mismatch``? audio kept as a transcription?). chrF of the text against Whisper's
translation is printed beside the score the decision uses, to show why it is not the decision.

Cost: the same clips analysed with ``asr.translate`` on and off, CPU seconds (all threads) and
wall seconds per audio hour of the difference.

Usage: .venv/bin/python benchmarks/translation.py [--model base] [--beam-size 5] [--threads 2]
       (also ``benchmarks/quality.py --translation``)
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from speech_eval_common import labeller_version, speech_eval_dir  # noqa: E402

PAIRS = ROOT / "tests" / "data" / "translation_pairs.tsv"
SR = 16_000


def load_clips(base: Path) -> list[dict]:
    from filters.audio import decode_audio
    from filters.text_lid import TextLanguageIdentifier
    from filters.vad import segment_speech_counted
    from pipelines.config import SegmentConfig

    lid = TextLanguageIdentifier().load()
    cfg = SegmentConfig()
    with open(PAIRS, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    clips = []
    for row in rows:
        audio = decode_audio((base / row["file"]).read_bytes(), 3600.0)
        spans, _short = segment_speech_counted(audio.samples, cfg)
        clips.append({**row, "samples": audio.samples, "seconds": audio.duration,
                      "spans": [s for s in spans if s.duration >= cfg.min_segment_s],
                      "text_lid": lid.predict(row["english"], k=1)[0]})
    return clips


def work_for(clip: dict, index: int, english: str):
    """A RecordingWork as analyse hands it to Whisper: the clip's VAD segments, untimed text."""
    from pipelines.stages.analyse import RecordingWork
    from schemas.records import Recording, Segment

    rid = f"clip{index:02d}"
    rec = Recording(rid, clip["file"], clip["file"], transcript_text=english,
                    transcript_format="txt")
    lang, prob = clip["text_lid"]
    segs = [Segment(segment_id=f"{rid}-{i:05d}", recording_id=rid, index=i,
                    source_uri=clip["file"], start=s.start, end=s.end,
                    audio=clip["samples"][int(s.start * SR):int(s.end * SR)],
                    source_text_kind="untimed", speech_ratio=s.speech_ratio,
                    text_language=lang, text_language_prob=prob)
            for i, s in enumerate(clip["spans"])]
    return RecordingWork(rec, segments=segs, transcript_language=(lang, prob))


def decide(segments, english: str):
    from filters.registry import REGISTRY, apply_filters
    from pipelines.config import CurateConfig
    from schemas.records import Recording

    rec = Recording(segments[0].recording_id, "x", "x", transcript_text=english,
                    transcript_format="txt")
    return apply_filters(rec, [dataclasses.replace(s, audio=None) for s in segments],
                         CurateConfig(), REGISTRY)


def outcome(kept, rejects) -> str:
    """'pair' (all kept as translation), 'text_rejected' (all kept as pseudo-labels with the text
    rejected as translation_mismatch), 'audio_lost' (some segment dropped) or 'other'."""
    from filters.label_decisions import TRANSCRIPT_VERDICT

    if rejects:
        return "audio_lost"
    if all(s.label_source == "translation" for s in kept):
        return "pair"
    if all(s.label_source == "pseudo" and any(
            v.filter == TRANSCRIPT_VERDICT and v.reason == "translation_mismatch"
            for v in s.verdicts) for s in kept):
        return "text_rejected"
    return "other"


def run(model_name: str = "base", beam_size: int = 5, threads: int = 2) -> dict:
    from filters.translation import segment_chrf
    from pipelines.config import AsrConfig
    from pipelines.models import resolve_model
    from pipelines.stages.asr import WhisperRecordingHandler, english_references
    from pipelines.whisper import score_references

    base = speech_eval_dir()
    if base is None:
        sys.exit("speech-eval not found (set SPEECH_EVAL_DIR)")
    clips = load_clips(base)
    model_dir = str(resolve_model(model_name))
    on = WhisperRecordingHandler(AsrConfig(cpu_threads=threads, beam_size=beam_size), model_dir)
    off = WhisperRecordingHandler(dataclasses.replace(on.config, translate=False), model_dir)
    model = on.load_model()
    cost = {"on_cpu": 0.0, "off_cpu": 0.0, "on_wall": 0.0, "off_wall": 0.0}
    for i, clip in enumerate(clips):
        for name, handler in (("off", off), ("on", on)):
            w0, c0 = time.perf_counter(), time.process_time()
            labelled = handler._label(model, work_for(clip, i, clip["english"]))
            cost[f"{name}_wall"] += time.perf_counter() - w0
            cost[f"{name}_cpu"] += time.process_time() - c0
        clip["labelled"] = labelled
    for i, clip in enumerate(clips):
        segs = clip["labelled"]
        clip["true"] = outcome(*decide(segs, clip["english"]))
        clip["true_score"] = min(s.translation_score for s in segs)
        clip["true_chrf"] = segment_chrf(clip["english"], " ".join(s.translation or ""
                                                                    for s in segs))
        clip["mismatch"], clip["mismatch_scores"], clip["mismatch_chrf"] = [], [], []
        for j, other in enumerate(clips):
            if j == i:
                continue
            work = work_for(clip, i, other["english"])
            refs = english_references(work, [s.translation for s in segs])
            scores = score_references(model, [s.audio for s in segs], segs[0].audio_language,
                                      refs)
            swapped = [dataclasses.replace(s, translation_text=t, translation_score=x)
                       for s, t, x in zip(segs, refs, scores, strict=True)]
            clip["mismatch"].append(outcome(*decide(swapped, other["english"])))
            clip["mismatch_scores"].append(max(x for x in scores if x is not None))
            clip["mismatch_chrf"].append(segment_chrf(other["english"], " ".join(
                s.translation or "" for s in segs)))
    hours = sum(c["seconds"] for c in clips) / 3600.0
    return {"clips": clips, "cost": cost, "hours": hours, "model": model_name,
            "beam_size": beam_size, "threads": threads}


def print_report(result: dict) -> None:
    clips, cost, hours = result["clips"], result["cost"], result["hours"]
    print(f"\n## Translation pairs ({len(clips)} speech-eval clips with hand-written English, "
          f"Whisper {result['model']}, beam {result['beam_size']}, "
          f"{result['threads']} threads; {labeller_version()})\n")
    print("Each clip decided with its own English text (true pair) and with the English text of "
          "every other clip (mismatch), as an untimed recording.\n")
    print("| language | clips | true pairs kept | mismatches rejected | their audio kept | "
          "score true min / median | score mismatch max | chrF true min | chrF mismatch max |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    by_lang: dict[str, list[dict]] = defaultdict(list)
    for c in clips:
        by_lang[c["language"]].append(c)
    rows = sorted(by_lang.items()) + [("**all**", clips)]
    for lang, group in rows:
        mism = [m for c in group for m in c["mismatch"]]
        true_scores = [c["true_score"] for c in group]
        print(f"| {lang} | {len(group)} "
              f"| {sum(c['true'] == 'pair' for c in group)}/{len(group)} "
              f"| {sum(m in ('text_rejected', 'audio_lost') for m in mism)}/{len(mism)} "
              f"| {sum(m == 'text_rejected' for m in mism)}/{len(mism)} "
              f"| {min(true_scores):.2f} / {statistics.median(true_scores):.2f} "
              f"| {max(s for c in group for s in c['mismatch_scores']):.2f} "
              f"| {min(c['true_chrf'] for c in group):.1f} "
              f"| {max(s for c in group for s in c['mismatch_chrf']):.1f} |")
    missed = [f"{c['file']} ({c['language']}, score {c['true_score']:.2f}: {c['true']})"
              for c in clips if c["true"] != "pair"]
    print(f"\nTrue pairs not kept: {', '.join(missed) or 'none'}.")
    extra_cpu = (cost["on_cpu"] - cost["off_cpu"]) / hours
    extra_wall = (cost["on_wall"] - cost["off_wall"]) / hours
    wall_share = 100 * (cost["on_wall"] / cost["off_wall"] - 1)
    print(f"\nCost of the translate decode and the scoring ({hours * 3600:.0f} s of audio, "
          f"every clip a candidate): {extra_cpu:.0f} CPU-s per audio hour "
          f"(+{100 * (cost['on_cpu'] / cost['off_cpu'] - 1):.0f} % of the analysis without it, "
          f"{cost['off_cpu'] / hours:.0f} CPU-s per audio hour), "
          f"{extra_wall:.0f} wall-s per audio hour (+{wall_share:.0f} %). "
          "Recordings that are not candidates (English audio, no English text) cost nothing more.")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="base")
    ap.add_argument("--beam-size", type=int, default=5)
    ap.add_argument("--threads", type=int, default=min(2, len(os.sched_getaffinity(0))))
    args = ap.parse_args(argv)
    print_report(run(args.model, args.beam_size, args.threads))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
