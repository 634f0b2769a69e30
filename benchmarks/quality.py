"""Label quality on real speech (../shared/speech-eval), per language, and pseudo-labeller speed.

Runs the curate pipeline's pure pieces in-process (decode -> VAD segmentation -> Whisper
pseudo-labels with audio LID -> fastText text LID -> label decisions) on every file of the
speech-eval set, each file treated as a recording with an untimed transcript (its reference),
and prints Markdown tables:

* per language: LID accuracy (audio, text, combined by the label policy) on clips >= 3 s,
  pseudo-label WER/CER against the references for each model (``label_recording`` once per file,
  its segments' labels joined) and for
  faster-whisper's ``transcribe`` on the whole clip, the share of kept segments labelled from
  the source, and kept segments from the non-speech files (must be 0);
* label coverage: the distribution of the share of each segment's VAD speech covered by the
  pseudo-label's timestamp spans, and how many segments needed a seek past the last timestamp;
* yield per language: speech seconds in (VAD segments, plus speech too short to segment), kept,
  and lost by reason;
* speed: ``label_recording`` per file vs ``WhisperModel.transcribe`` file by file, same model and
  threads, at beam 5 (``transcribe``'s defaults, temperature fallback included) and greedy (both
  beam 1, no fallback), with the WER each reaches.

* translation pairs (``--translation also|only``, ``benchmarks/translation.py``): per language,
  true X->en pairs kept and mismatched English texts rejected, and the translate decode's cost.

Usage: .venv/bin/python benchmarks/quality.py [--models tiny.en base] [--threads N]
       [--batch-size 16] [--beam-size 5] [--speed-model base] [--limit N]
       [--translation off|also|only]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from filters.agreement import corpus_error_rates  # noqa: E402
from filters.label_config import LabelConfig  # noqa: E402
from filters.label_decisions import decide_recording, decide_segment  # noqa: E402
from filters.lid_policy import decide_language, pool_language_probs  # noqa: E402
from schemas.records import Recording, Reject, Segment  # noqa: E402

SR = 16_000


def speech_eval_dir() -> Path:
    d = Path(os.environ.get("SPEECH_EVAL_DIR") or ROOT.parent / "shared" / "speech-eval")
    if not (d / "MANIFEST.tsv").is_file():
        sys.exit(f"speech-eval not found at {d} (set SPEECH_EVAL_DIR)")
    return d


def load_items(limit: int) -> list[dict]:
    """Manifest rows with decoded 16 kHz audio; near-duplicate encodings of JFK are skipped."""
    from filters.audio import decode_audio

    base = speech_eval_dir()
    with open(base / "MANIFEST.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    items = []
    for row in rows:
        if row["category"].startswith("near-duplicate"):
            continue
        audio = decode_audio((base / row["file"]).read_bytes(), max_duration_s=3600.0)
        if row["category"].startswith("non-speech"):
            row = {**row, "language": ""}  # e.g. an NST silence prompt: no speech to identify
        items.append({**row, "samples": audio.samples, "seconds": audio.duration})
    return items[:limit] if limit else items


def segment_items(items: list[dict]) -> float:
    """VAD-segment every item like the curate pipeline does; returns the seconds it took."""
    from filters.vad import segment_speech_counted
    from pipelines.config import SegmentConfig

    cfg = SegmentConfig()
    t0 = time.perf_counter()
    for it in items:
        spans, it["short_s"] = segment_speech_counted(it["samples"], cfg)
        it["spans"] = [s for s in spans if s.duration >= cfg.min_segment_s]
        it["short_s"] += sum(s.duration for s in spans if s.duration < cfg.min_segment_s)
        it["short_spans"] = len(spans) - len(it["spans"])
    return time.perf_counter() - t0


def hint(item: dict) -> str:
    """The transcript's language as the pipeline's ASR stage sees it."""
    from pipelines.stages.asr import language_hint

    lang, prob = item["text_lid"]
    return language_hint(Segment(segment_id="", recording_id="", index=0, source_uri="",
                                 start=0.0, end=0.0, text_language=lang,
                                 text_language_prob=prob))


def run_batched(model, items: list[dict], batch_size: int, beam_size: int
                ) -> tuple[dict, float, float]:
    """Pseudo-label every span of every item, one ``label_recording`` call per item (the
    pipeline's way: each file is a recording; ``batch_size`` bounds its sub-batches)."""
    from pipelines.config import AsrConfig
    from pipelines.whisper import LabelOptions, label_recording

    out: dict = {}
    w0, c0 = time.perf_counter(), time.process_time()
    for i, it in enumerate(items):
        segments = [it["samples"][int(s.start * SR):int(s.end * SR)] for s in it["spans"]]
        options = LabelOptions(beam_size=beam_size, context_pad_s=AsrConfig.context_pad_s,
                               hint=hint(it), hint_below_prob=AsrConfig.hint_below_prob,
                               batch_size=batch_size)
        for j, res in enumerate(label_recording(model, segments, options)):
            out[(i, j)] = res
    return out, time.perf_counter() - w0, time.process_time() - c0


def run_file_by_file(model, items: list[dict], english_only: bool, beam_size: int
                     ) -> tuple[list[str], float, float]:
    """faster-whisper's own long-form ``transcribe`` on each whole clip.

    Beam 5 is ``transcribe``'s defaults (temperature fallback, conditioning on the previous
    window); beam 1 is plain greedy like our greedy mode. Non-speech files are skipped, and so
    are non-English files for an English-only model."""
    texts = []
    w0, c0 = time.perf_counter(), time.process_time()
    for it in items:
        if not it["language"] or (english_only and it["language"] != "en"):
            texts.append("")
            continue
        greedy = {"temperature": 0.0, "condition_on_previous_text": False} if beam_size == 1 \
            else {}
        pieces, _info = model.transcribe(it["samples"], beam_size=beam_size, vad_filter=False,
                                         **greedy)
        texts.append(" ".join(p.text.strip() for p in pieces))
    return texts, time.perf_counter() - w0, time.process_time() - c0


def audio_lid(results: list) -> tuple[str, float, tuple[tuple[str, float], ...]]:
    """Recording-level audio LID: segment language probabilities pooled, weighted by length."""
    pooled = pool_language_probs((res.language_probs, dur) for res, dur in results)
    if not pooled:
        return "", 0.0, ()
    probs = tuple(sorted(pooled.items(), key=lambda kv: -kv[1])[:5])
    return probs[0][0], probs[0][1], probs


def decide_item(item: dict, idx: int, results: dict, config: LabelConfig,
                multilingual: bool) -> tuple[list[Segment], list[Reject]]:
    """The two label hooks on one item treated as a recording with an untimed transcript."""
    rid = f"se{idx:03d}"
    transcript = item["transcript"] or None
    rec = Recording(recording_id=rid, source_uri=item["file"], audio_uri=item["file"],
                    transcript_text=transcript, transcript_format="txt" if transcript else "")
    kept, rejects = [], []
    for j, span in enumerate(item["spans"]):
        r = results[(idx, j)]
        seg = Segment(
            segment_id=f"{rid}-{j:05d}", recording_id=rid, index=j, source_uri=item["file"],
            start=span.start, end=span.end, source_text_kind="untimed" if transcript else "none",
            pseudo_label=r.text, avg_logprob=r.avg_logprob, no_speech_prob=r.no_speech_prob,
            compression_ratio=r.compression_ratio, speech_ratio=span.speech_ratio,
            audio_language=r.detected_language,
            audio_language_prob=r.detected_prob,
            audio_language_probs=r.language_probs,
            label_coverage=r.coverage, label_uncovered_s=r.uncovered_s,
            # the pipeline identifies an untimed transcript once per recording (decode stage)
            text_language=item["text_lid"][0], text_language_prob=item["text_lid"][1])
        out = decide_segment(seg, config)
        (rejects if isinstance(out, Reject) else kept).append(out)
    k2, r2 = decide_recording(rec, kept, config)
    return k2, rejects + r2


def fmt(x: float | None, pct: bool = True) -> str:
    if x is None:
        return "–"
    return f"{100 * x:.1f}" if pct else f"{x:.2f}"


def file_weighted_error(items: list[dict], texts: list[str]) -> float:
    """WER (CER for zh/ja, which have no spaces) per language, weighted by files, in %."""
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, it in enumerate(items):
        if it["language"]:
            by_lang[it["language"]].append(i)
    total, weight = 0.0, 0
    for lang, ids in by_lang.items():
        cer, wer = corpus_error_rates([items[i]["transcript"] for i in ids],
                                      [texts[i] for i in ids], lang)
        total += (cer if lang in ("zh", "ja") else wer) * len(ids)
        weight += len(ids)
    return 100 * total / max(weight, 1)


def print_speed(items: list[dict], speed: dict[int, tuple], name: str, threads: int,
                batch_size: int, speech_s: float, vad_s: float) -> None:
    """``label_recording`` vs ``transcribe`` file by file, at each beam width measured."""
    n_files = sum(1 for it in items if it["language"])
    print(f"\n## Speed ({name}, {threads} threads, {n_files} speech files, {speech_s:.0f} s; "
          f"VAD segmentation {vad_s:.1f} s is counted in the label_recording rows)\n")
    print("| labeller | beam | wall s | audio s per core-second | file-weighted WER/CER % |")
    print("|---|---:|---:|---:|---:|")
    ratios = []
    for beam, (bw, _bc, fw, _fc, results, whole) in sorted(speed.items(), reverse=True):
        texts = [" ".join(results[(i, j)].text for j in range(len(it["spans"])))
                 for i, it in enumerate(items)]
        ours, theirs = file_weighted_error(items, texts), file_weighted_error(items, whole)
        wall = bw + vad_s
        print(f"| label_recording per file (batch {batch_size}) | {beam} | {wall:.1f} | "
              f"{speech_s / max(wall * threads, 1e-9):.2f} | {ours:.1f} |")
        print(f"| faster-whisper transcribe, file by file | {beam} | {fw:.1f} | "
              f"{speech_s / max(fw * threads, 1e-9):.2f} | {theirs:.1f} |")
        ratios.append(f"beam {beam}: {fw / max(wall, 1e-9):.2f}x at WER {ours:.1f} vs "
                      f"{theirs:.1f}")
    print("\nspeed-up per core (same threads, wall, VAD included): " + "; ".join(ratios))


def print_coverage(items: list[dict], per_model: dict[str, dict]) -> None:
    """Share of VAD speech covered by the pseudo-label, over the speech files' segments."""
    import numpy as np

    print("\n## Label coverage (share of a segment's VAD speech inside the pseudo-label's "
          "timestamp spans; speech files)\n")
    print("| model | segments | min | p5 | p25 | median | < 0.8 | seeks (passes > 1) | "
          "uncovered s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, pm in per_model.items():
        res = [pm["results"][(i, j)] for i, it in enumerate(items) if it["language"]
               for j in range(len(it["spans"]))]
        if not res:
            continue
        cov = np.array([r.coverage for r in res])
        p5, p25, p50 = np.percentile(cov, [5, 25, 50])
        print(f"| {name} | {len(res)} | {cov.min():.2f} | {p5:.2f} | {p25:.2f} | {p50:.2f} | "
              f"{int(np.sum(cov < 0.8))} | {sum(r.passes > 1 for r in res)} | "
              f"{sum(r.uncovered_s for r in res):.1f} |")


def print_yield(items: list[dict], per_model: dict[str, dict], langs: list[str]) -> None:
    """Speech seconds in, kept and lost by reason, per language (speech files)."""
    for name, pm in per_model.items():
        print(f"\n## Yield ({name}; seconds of speech per language)\n")
        lost: dict[str, Counter] = defaultdict(Counter)
        rows = []
        for lang in langs:
            seconds_in = kept_s = short_s = 0.0
            for i, it in enumerate(items):
                if it["language"] != lang:
                    continue
                durations = {f"se{i:03d}-{j:05d}": s.duration for j, s in enumerate(it["spans"])}
                seconds_in += sum(durations.values()) + it.get("short_s", 0.0)
                short_s += it.get("short_s", 0.0)
                kept, rejects = pm["decided"][i]
                kept_s += sum(s.duration for s in kept)
                for r in rejects:
                    lost[lang][r.reason] += durations.get(r.id, 0.0)
            if short_s:
                lost[lang]["too_short_to_segment"] += short_s
            rows.append((lang, seconds_in, kept_s))
        reasons = sorted({r for c in lost.values() for r in c})
        print("| language | speech s in | kept s | kept % | " + " | ".join(
            f"lost: {r}" for r in reasons) + " |")
        print("|---|---:|---:|---:|" + "---:|" * len(reasons))
        total_in = total_kept = 0.0
        for lang, seconds_in, kept_s in rows:
            total_in += seconds_in
            total_kept += kept_s
            print(f"| {lang} | {seconds_in:.1f} | {kept_s:.1f} | "
                  f"{fmt(kept_s / seconds_in if seconds_in else None)} | " + " | ".join(
                      f"{lost[lang][r]:.1f}" for r in reasons) + " |")
        print(f"| all | {total_in:.1f} | {total_kept:.1f} | "
              f"{fmt(total_kept / total_in if total_in else None)} | " + " | ".join(
                  f"{sum(lost[lang][r] for lang in lost):.1f}" for r in reasons) + " |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--beam-size", type=int, default=5,
                    help="for the quality tables; the speed table runs beam 5 and greedy")
    ap.add_argument("--speed-model", default="base")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (smoke runs)")
    ap.add_argument("--translation", choices=("off", "also", "only"), default="off",
                    help="translation pairs per language and the translate decode's cost "
                         "(benchmarks/translation.py, base, --beam-size, 2 threads)")
    args = ap.parse_args(argv)
    if args.translation != "off":
        import translation

        translation.print_report(translation.run("base", args.beam_size,
                                                 min(2, args.threads)))
        if args.translation == "only":
            return 0

    from filters.text_lid import TextLanguageIdentifier
    from pipelines.models import is_multilingual, resolve_model
    from pipelines.whisper import load_whisper

    items = load_items(args.limit)
    vad_s = segment_items(items)
    speech_s = sum(it["seconds"] for it in items if it["language"])
    seg_s = sum(s.duration for it in items for s in it["spans"])
    print(f"# speech-eval: {len(items)} files, {speech_s:.0f} s of speech files, "
          f"{sum(len(it['spans']) for it in items)} VAD segments ({seg_s:.0f} s); "
          f"VAD took {vad_s:.1f} s; threads={args.threads} device={args.device}\n")

    tlid = TextLanguageIdentifier().load()
    for it in items:
        pred = tlid.predict(it["transcript"], k=1) if it["transcript"] else []
        it["text_lid"] = pred[0] if pred else ("", 0.0)

    per_model: dict[str, dict] = {}
    speed: dict[int, tuple] = {}  # beam -> (batched s wall, CPU, file-by-file wall, CPU, texts)
    for name in args.models:
        model = load_whisper(str(resolve_model(name)), args.device, "auto", args.threads)
        multi = is_multilingual(name)
        beams = [args.beam_size] + ([b for b in (5, 1) if b != args.beam_size]
                                    if name == args.speed_model else [])
        for beam in beams:
            results, bw, bc = run_batched(model, items, args.batch_size, beam)
            whole, fw, fc = run_file_by_file(model, items, not multi, beam)
            print(f"model {name} beam {beam}: label_recording {bw:.1f} s wall / {bc:.1f} s CPU; "
                  f"file by file {fw:.1f} s wall / {fc:.1f} s CPU", flush=True)
            if name == args.speed_model:
                speed[beam] = (bw, bc, fw, fc, results, whole)
            if beam == args.beam_size:
                config = LabelConfig(fallback_language="" if multi else "en")
                decided = [decide_item(it, i, results, config, multi)
                           for i, it in enumerate(items)]
                per_model[name] = {"results": results, "decided": decided, "whole": whole,
                                   "multi": multi}

    langs = sorted({it["language"] for it in items if it["language"]},
                   key=lambda lang: (-sum(1 for it in items if it["language"] == lang), lang))
    multi_name = next((n for n in args.models if per_model[n]["multi"]), None)

    # ---- LID table (clips >= 3 s), with the multilingual model's audio LID
    print("\n## Language identification (clips >= 3 s)\n")
    print("| language | clips | audio LID | text LID | combined |")
    print("|---|---:|---:|---:|---:|")
    totals = Counter()
    for lang in langs:
        clips = [(i, it) for i, it in enumerate(items)
                 if it["language"] == lang and it["seconds"] >= 3.0]
        hits = Counter()
        for i, it in clips:
            a_lang, a_p, a_probs = ("", 0.0, ())
            if multi_name:
                res = per_model[multi_name]["results"]
                a_lang, a_p, a_probs = audio_lid([(res[(i, j)], s.duration)
                                                  for j, s in enumerate(it["spans"])])
            t_lang, t_p = it["text_lid"]
            d = decide_language(a_lang, a_p, a_probs, t_lang, t_p, LabelConfig())
            hits["audio"] += a_lang == lang
            hits["text"] += t_lang == lang
            hits["combined"] += d.language == lang and not d.reason
        totals.update(hits)
        totals["clips"] += len(clips)
        n = max(1, len(clips))
        print(f"| {lang} | {len(clips)} | {fmt(hits['audio'] / n, False)} | "
              f"{fmt(hits['text'] / n, False)} | {fmt(hits['combined'] / n, False)} |")
    n = max(1, totals["clips"])
    print(f"| all | {totals['clips']} | {fmt(totals['audio'] / n, False)} | "
          f"{fmt(totals['text'] / n, False)} | {fmt(totals['combined'] / n, False)} |")

    # ---- WER / label table
    print("\n## Pseudo-labels and label choice (WER/CER in %, against the references)\n")
    head = "| language | files |"
    for name in args.models:
        head += (f" {name} seg WER | {name} seg CER | {name} whole WER | {name} kept | "
                 f"{name} from source |")
    print(head)
    print("|---|---:|" + "---:|" * 5 * len(args.models))
    groups = [(lang, lambda it, lang=lang: it["language"] == lang) for lang in langs]
    groups.append(("en read", lambda it: it["language"] == "en"
                   and it["category"].startswith("speech (read)")))
    for lang, pick in groups:
        idx = [i for i, it in enumerate(items) if pick(it)]
        row = f"| {lang} | {len(idx)} |"
        for name in args.models:
            pm = per_model[name]
            refs = [items[i]["transcript"] for i in idx]
            segs = [" ".join(pm["results"][(i, j)].text for j in range(len(items[i]["spans"])))
                    for i in idx]
            code = lang.split()[0]
            cer, wer = corpus_error_rates(refs, segs, code)
            whole_wer = None
            if pm["multi"] or code == "en":  # English-only models skip other languages
                _c, whole_wer = corpus_error_rates(refs, [pm["whole"][i] for i in idx], code)
            kept = [s for i in idx for s in pm["decided"][i][0]]
            nseg = sum(len(items[i]["spans"]) for i in idx)
            src = sum(s.label_source == "source" for s in kept)
            row += (f" {fmt(wer)} | {fmt(cer)} | {fmt(whole_wer)} | {len(kept)}/{nseg} | "
                    f"{fmt(src / len(kept) if kept else None)} |")
        print(row)

    print("\n## Non-speech files (music, noise, silence)\n")
    non_speech = [i for i, it in enumerate(items) if not it["language"]]
    for name in args.models:
        pm = per_model[name]
        kept = sum(len(pm["decided"][i][0]) for i in non_speech)
        reasons = Counter(r.reason for i in non_speech for r in pm["decided"][i][1])
        nseg = sum(len(items[i]["spans"]) for i in non_speech)
        print(f"- {name}: {len(non_speech)} files, {nseg} VAD segments, kept {kept}; "
              f"rejects {dict(reasons)}")

    print_coverage(items, per_model)
    print_yield(items, per_model, langs)

    print("\n## Reject reasons over all files\n")
    for name in args.models:
        reasons = Counter(r.reason for d in per_model[name]["decided"] for r in d[1])
        print(f"- {name}: {dict(reasons.most_common())}")

    if speed:
        print_speed(items, speed, args.speed_model, args.threads, args.batch_size, speech_s,
                    vad_s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
