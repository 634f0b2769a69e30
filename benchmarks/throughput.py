"""Throughput of the curate pipeline on ../shared/speech-eval, per stage and end to end, against
faster-whisper's own ``WhisperModel.transcribe`` called file by file on the same audio.

The pseudo-labeller is ``label_recording``, called once per file (each file is a recording: its
VAD segments are labelled together). Prints audio seconds per wall second per core (higher is
better) for it and for the ``transcribe`` baseline, both in this run, peak memory, and the word
error rate of both on the English references, and what word times cost: ``label_recording``
again without them (``asr.word_times: false``) and with every segment's text force-aligned as
a timed transcript's source text would be (its own pseudo-label stands in for the transcript:
the same number of tokens). It also prints the CPU cost of every quality measure per audio hour
on the same VAD segments (one thread, ``filters/audio_quality.py`` and DNSMOS) and the share of
the stages' CPU time (process CPU, all threads) that the cheap ones together would add. Usage:

    .venv/bin/python benchmarks/throughput.py [--model tiny.en|base] [--languages en,es,...]
        [--batch-size 16] [--beam-size 5] [--no-e2e] [--no-word-time-cost]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def speech_eval_dir() -> Path:
    path = Path(os.environ.get("SPEECH_EVAL_DIR") or REPO.parent / "shared" / "speech-eval")
    if not (path / "MANIFEST.tsv").is_file():
        sys.exit(f"speech-eval not found at {path}; set SPEECH_EVAL_DIR")
    return path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quality_measure_cost(clips: list) -> dict[str, float]:
    """CPU seconds (this thread) of each quality measure over ``clips``, after one warm-up call
    (imports, the SNR calibration); DNSMOS where speechmos/onnxruntime are installed."""
    from filters import audio_quality as aq
    from filters import dnsmos

    measures = {"clipping_ratio": aq.clipping_ratio, "loudness_lufs (pyloudnorm)": aq.loudness_lufs,
                "snr_db (band-quantile blind SNR)": aq.blind_snr_db,
                "bandwidth_hz": aq.bandwidth_hz, "dc_offset": aq.dc_offset,
                "silence_ratio": aq.silence_ratio, "peak_dbfs": aq.peak_dbfs,
                "all cheap measures (measure())": aq.measure}
    out = {}
    for name, fn in measures.items():
        fn(clips[0][1])
        t = time.process_time()
        for _, c in clips:
            fn(c)
        out[name] = time.process_time() - t
    if dnsmos.available():
        scorer = dnsmos.DnsmosScorer(threads=1)
        scorer.score([clips[0][1]])
        t = time.process_time()
        scorer.score([c for _, c in clips])
        out["DNSMOS P.835 (onnxruntime, 1 thread)"] = time.process_time() - t
    return out


def main() -> int:
    from pipelines.config import AsrConfig

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny.en", help="tiny.en | base | CTranslate2 dir")
    parser.add_argument("--languages", default="en", help="comma list; 'all' for every file")
    parser.add_argument("--batch-size", type=int, default=AsrConfig.batch_size)
    parser.add_argument("--beam-size", type=int, default=AsrConfig.beam_size,
                        help="for both the pipeline and the baseline")
    parser.add_argument("--no-e2e", action="store_true",
                        help="skip the end-to-end Beam run (labeller vs baseline only)")
    parser.add_argument("--no-word-time-cost", action="store_true",
                        help="skip labelling again without word times / with source alignment")
    args = parser.parse_args()

    import jiwer
    from whisper.normalizers import EnglishTextNormalizer

    from filters.audio import decode_audio, encode_flac
    from filters.shards import write_tar
    from filters.text_lid import TextLanguageIdentifier
    from filters.vad import segment_speech
    from pipelines.config import SegmentConfig, parse_config
    from pipelines.curate import run_curate
    from pipelines.models import resolve_model
    from pipelines.whisper import LabelOptions, label_recording, load_whisper

    root = speech_eval_dir()
    with open(root / "MANIFEST.tsv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    wanted = None if args.languages == "all" else set(args.languages.split(","))
    rows = [r for r in rows if r["language"] and (wanted is None or r["language"] in wanted)
            and not r["file"].endswith("michaelandsickmichael.wav")]  # its parts are in the set
    cores = len(os.sched_getaffinity(0))
    model_dir = resolve_model(args.model)
    print(f"speech-eval: {len(rows)} files ({args.languages}); model {args.model} "
          f"(CTranslate2 int8 on CPU, beam {args.beam_size}), {cores} cores")

    timings: dict[str, float] = {}

    def timed(name, fn, *a):
        t = time.perf_counter()
        out = fn(*a)
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t
        return out

    cpu_start = time.process_time()
    audios = {r["file"]: timed("decode", lambda f: decode_audio((root / f).read_bytes(), 3600)
                               .samples, r["file"]) for r in rows}
    total_s = sum(len(a) for a in audios.values()) / 16000
    seg_cfg = SegmentConfig()
    spans = {f: timed("vad_segment", segment_speech, a, seg_cfg) for f, a in audios.items()}
    segments = {f: [audios[f][int(s.start * 16000):int(s.end * 16000)] for s in spans[f]]
                for f in audios}
    clips = [(f, c) for f in audios for c in segments[f]]
    lid = TextLanguageIdentifier().load()
    for r in rows:
        timed("text_lid", lid.predict, r["transcript"])
    model = load_whisper(str(model_dir), cpu_threads=cores)
    options = LabelOptions(beam_size=args.beam_size, context_pad_s=AsrConfig.context_pad_s,
                           batch_size=args.batch_size)
    labels: dict[str, list[str]] = {}
    for f, segs in segments.items():
        results = timed("pseudo_label", label_recording, model, segs, options)
        labels[f] = [res.text for res in results]

    def shard():
        buf = io.BytesIO()
        write_tar(buf, ((f"k{i:05d}", encode_flac(c), {}) for i, (_, c) in enumerate(clips)))

    timed("flac_and_tar", shard)
    stages_cpu = time.process_time() - cpu_start
    measure_cpu = quality_measure_cost(clips)

    word_cost: dict[str, float] = {}
    if not args.no_word_time_cost:
        from dataclasses import replace

        plain = replace(options, word_times=False)
        for name, opts, with_source in (("without word times", plain, False),
                                        ("with word times + source alignment", options, True)):
            t = time.perf_counter()
            for f, segs in segments.items():
                label_recording(model, segs, opts, labels[f] if with_source else None)
            word_cost[name] = time.perf_counter() - t

    base_t = time.perf_counter()
    baseline = {}
    for f, audio in audios.items():
        segs, _ = model.transcribe(audio, beam_size=args.beam_size)
        baseline[f] = " ".join(s.text for s in segs)
    base_wall = time.perf_counter() - base_t

    e2e_wall = None
    if not args.no_e2e:
        tmp = Path(tempfile.mkdtemp(prefix="sc-bench-"))
        (tmp / "in").mkdir()
        for f in audios:
            shutil.copy(root / f, tmp / "in" / f.replace("/", "__"))
        config = parse_config({"sources": [{"type": "local", "path": str(tmp / "in")}],
                               "curate": {"asr": {"model": args.model,
                                                  "beam_size": args.beam_size,
                                                  "batch_size": args.batch_size}}})
        t = time.perf_counter()
        run_curate(config, str(tmp / "run"), ["--direct_num_workers=1"], force=True)
        e2e_wall = time.perf_counter() - t
        shutil.rmtree(tmp, ignore_errors=True)

    norm = EnglishTextNormalizer()
    english = [r for r in rows if r["language"] == "en"]
    refs = [norm(r["transcript"]) for r in english]
    ours = jiwer.wer(refs, [norm(" ".join(labels[r["file"]])) for r in english]) if english \
        else float("nan")
    theirs = jiwer.wer(refs, [norm(baseline[r["file"]]) for r in english]) if english \
        else float("nan")

    print(f"\naudio: {total_s:.1f} s in {len(clips)} VAD segments\n")
    print(f"{'stage':<34}{'wall s':>9}{'audio s / wall s / core':>26}")
    for name, wall in timings.items():
        print(f"{name:<34}{wall:>9.2f}{total_s / wall / cores:>26.2f}")
    stage_sum = sum(timings.values())
    print(f"{'stages, in one process':<34}{stage_sum:>9.2f}{total_s / stage_sum / cores:>26.2f}")
    if e2e_wall is not None:
        print(f"{'end to end (Beam DirectRunner)':<34}{e2e_wall:>9.2f}"
              f"{total_s / e2e_wall / cores:>26.2f}")
    label_wall = timings["pseudo_label"]
    print(f"\n{'pseudo-labels: label_recording':<34}{label_wall:>9.2f}"
          f"{total_s / label_wall / cores:>26.2f}")
    print(f"{'baseline: transcribe() per file':<34}{base_wall:>9.2f}"
          f"{total_s / base_wall / cores:>26.2f}")
    print(f"\npseudo-labelling speed-up over the baseline: {base_wall / label_wall:.2f}x "
          f"(label_recording per file, batch {args.batch_size}, vs transcribe() per file, "
          f"both beam {args.beam_size})")
    if word_cost:
        plain = word_cost["without word times"]
        print(f"\n{'word times (label_recording)':<40}{'wall s':>9}{'audio/wall/core':>16}"
              f"{'cost':>9}")
        for name, wall in (("without word times", plain),
                           ("with word times (pipeline default)", label_wall),
                           *[(k, v) for k, v in word_cost.items() if k != "without word times"]):
            print(f"  {name:<38}{wall:>9.2f}{total_s / wall / cores:>16.2f}"
                  f"{100 * (wall - plain) / plain:>+9.1f} %")
        print(f"  with word times: speed-up over the baseline {base_wall / label_wall:.2f}x, "
              f"without: {base_wall / plain:.2f}x")
    hours = total_s / 3600
    cheap = measure_cpu.pop("all cheap measures (measure())")
    print(f"\n{'quality measure (one thread)':<40}{'CPU s / audio h':>16}")
    for name, cpu in measure_cpu.items():
        print(f"  {name:<38}{cpu / hours:>16.1f}")
    print(f"  {'all cheap measures (measure())':<38}{cheap / hours:>16.1f}  = "
          f"{100 * cheap / (stages_cpu + cheap):.2f} % of the stages' CPU time "
          f"({stages_cpu / hours:.0f} CPU s / audio h, all threads, without them)")
    print(f"English WER: label_recording {ours:.3f}, baseline transcribe {theirs:.3f} "
          f"({len(english)} files)")
    print(f"peak memory: {peak_rss_mb():.0f} MB RSS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
