"""Throughput and memory of each curation phase on Beam's DaskRunner with 1 and 2 local Dask
workers, against the DirectRunner (the baseline), on the same input in the same run.

Each configuration runs the whole ``run_curate`` (analyse -> decide -> publish) in a fresh
subprocess (``--direct_num_workers=1``; ``--runner DaskRunner`` on a ``distributed.LocalCluster``
of 1 or 2 worker processes, one thread each, started by ``pipelines.runners.dask_cluster``).
``curate.asr.cpu_threads: 1``, so every worker process uses one core and "per core" means per
worker process. Printed per phase: wall seconds, audio seconds per wall second per core (the input
hours over the phase's wall time over the worker processes), and the peak RSS of the whole
process tree (launcher, Dask scheduler and workers, decoder children) during the phase.

The input is speech-eval's English clips joined into recordings (``benchmarks/phases.py``'s
builder: 1-2 min recordings with untimed transcripts; same seed, same input).

Usage:

    .venv/bin/python benchmarks/scaling.py                 # 10 min of audio, tiny.en, beam 1
    .venv/bin/python benchmarks/scaling.py --minutes 30 --model base --beam-size 5
    .venv/bin/python benchmarks/scaling.py --minutes 2 --recording-s 5 10 --runners direct dask1 \
        --analyse-only    # many short recordings: what each recording (a Dask partition) costs

Then the cost model: a Dataflow job of ``--cost-hours`` (100,000) of audio on ``--workers`` (50)
machines of ``--vcpus`` (8), sized from the 2-worker run's per-core rates (audio hours per
vCPU-hour, phase by phase) and from what the DirectRunner run wrote and would shuffle per audio
hour (candidate and plan rows pickled as a shuffle moves them; packs, shards and thin rows on
disk). ``--report-only --workdir W`` prints the tables again from a finished work dir.

Figures only (no assertions). Skips with a message when speech-eval is absent. The decide phase
at 1M and 10M segments is measured on synthetic thin rows by ``benchmarks/decide_scale.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

CONFIGS = {  # label -> (Beam options, Dask workers or 0 for the DirectRunner)
    "direct (baseline)": (["--direct_num_workers=1"], 0),
    "dask 1 worker": (["--runner=DaskRunner"], 1),
    "dask 2 workers": (["--runner=DaskRunner"], 2),
}
PHASES = ("analyse", "decide", "publish")
RUNNER_NAMES = {"direct": "direct (baseline)", "dask1": "dask 1 worker", "dask2": "dask 2 workers"}


def child_main(spec_path: str) -> int:
    """One run_curate on one runner; writes its phase windows and results as JSON."""
    import logging

    import pipelines.curate as curate
    from pipelines.config import parse_config
    from pipelines.runners import dask_cluster

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    spec = json.loads(Path(spec_path).read_text())
    windows: list[tuple[str, float, float]] = []

    def timed(name: str, fn):
        def wrapper(*args, **kwargs):
            start = time.time()
            try:
                return fn(*args, **kwargs)
            finally:
                windows.append((name, start, time.time()))
        return wrapper

    # Instrumentation only: the same functions, timed where run_curate calls them.
    curate.run_analyse = timed("analyse", curate.run_analyse)
    curate.run_decide = timed("decide", curate.run_decide)
    curate.run_publish = timed("publish", curate.run_publish)
    config = parse_config(spec["config"])
    if spec.get("analyse_only"):
        return _analyse_only(config, spec)
    with dask_cluster(spec["beam_args"], n_workers=spec["workers"] or None) as beam_args:
        t0 = time.perf_counter()
        summary = curate.run_curate(config, spec["out"], beam_args, force=True)
        wall = time.perf_counter() - t0
    stats = summary.stats
    Path(spec["result"]).write_text(json.dumps({
        "wall_s": wall, "windows": windows, "phase_s": stats["run"]["phase_s"],
        "input_s": stats["input"]["hours"] * 3600, "kept": stats["kept"]["segments"],
        "self_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    return 0


def _analyse_only(config: Any, spec: dict[str, Any]) -> int:
    """Only the analyse phase (``--analyse-only``): listing, then ``run_analyse`` timed alone."""
    from pipelines.analyse import list_inputs, run_analyse
    from pipelines.runners import dask_cluster

    with dask_cluster(spec["beam_args"], n_workers=spec["workers"] or None) as beam_args:
        listing = list_inputs(config, spec["out"])
        start = time.time()
        result = run_analyse(config, spec["out"], listing, beam_args)
        end = time.time()
    Path(spec["result"]).write_text(json.dumps({
        "wall_s": end - start, "windows": [("analyse", start, end)],
        "phase_s": {"analyse": end - start}, "input_s": spec["input_s"],
        "kept": None, "analysed": result.analysed,
        "self_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    return 0


def run_child(label: str, spec: dict[str, Any], workdir: Path, poll_s: float) -> dict[str, Any]:
    from phases import _tree_rss

    name = label.split(" (")[0].replace(" ", "-")
    spec_path = workdir / f"{name}.spec.json"
    spec["result"] = str(workdir / f"{name}.result.json")
    spec_path.write_text(json.dumps(spec))
    log_path = workdir / f"{name}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, __file__, "--child", str(spec_path)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    samples: list[tuple[float, float]] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            total, _ = _tree_rss(proc.pid)
            if total:
                samples.append((time.time(), total / 2**20))
            stop.wait(poll_s)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    code = proc.wait()
    stop.set()
    poller.join()
    if code != 0:
        raise RuntimeError(f"{label}: exited with {code}; log {log_path}:\n"
                           f"{log_path.read_text(errors='replace')[-4000:]}")
    result = json.loads(Path(spec["result"]).read_text())
    result["peak_mb"] = {}
    for phase, start, end in result["windows"]:
        inside = [mb for t, mb in samples if start <= t <= end] or [0.0]
        result["peak_mb"][phase] = max(inside)
    return result


def _bytes(paths) -> int:
    return sum(p.stat().st_size for p in paths if p.is_file())


def _mean_pickled(paths: list[Path], columns: list[str] | None = None) -> tuple[int, float]:
    """(rows, mean pickled bytes of a row) over Parquet files: what a shuffle moves per row."""
    import pickle

    import pyarrow.parquet as pq

    rows = [r for p in paths for r in pq.read_table(p, columns=columns).to_pylist()]
    return len(rows), (sum(len(pickle.dumps(r)) for r in rows) / len(rows) if rows else 0.0)


def cost_model(run: Path, rates: dict[str, float], hours: float, vcpus: int,
               workers: int) -> None:
    """A Dataflow job for ``hours`` of audio, sized from the measured per-core rates of each
    phase and the bytes this run wrote and would shuffle per audio hour."""
    stats = json.loads((run / "stats.json").read_text())
    input_h = stats["input"]["hours"]
    an = run / "analysis"
    n_seg, seg_pickled = _mean_pickled(sorted((an / "segments").glob("*.parquet")))
    n_plan, plan_pickled = _mean_pickled([run / "plan" / "segments.parquet"])
    kept = stats["kept"]["segments"]
    per_h = {
        "analysis packs (candidate FLAC)": _bytes((an / "audio").glob("*.tar")),
        "shards (kept FLAC)": _bytes((run / "shards").glob("*.tar")),
        "thin rows (analysis, plan, manifests)": _bytes(
            [*an.rglob("*.parquet"), *(run / "plan").glob("*.parquet"),
             *(run / "manifest").glob("*.parquet")]),
        "input audio as read (FLAC here)": _bytes((run.parent / "input").glob("*.flac")),
    }
    scale = hours / input_h
    seg_per_h = n_seg / input_h
    print(f"\nCost model for {hours:,.0f} h on Dataflow, {workers} workers of {vcpus} vCPUs "
          f"(one SDK process per vCPU, asr.cpu_threads 1), from this run's per-core rates:")
    print(f"{'phase':<9}{'audio h / vCPU-h':>18}{'vCPU-hours':>12}{'wall h':>9}")
    total_h = 0.0
    for phase, rate in rates.items():
        vcpu_h = hours / rate
        wall_h = vcpu_h / (vcpus * workers)
        total_h += wall_h
        print(f"{phase:<9}{rate:>18.2f}{vcpu_h:>12,.0f}{wall_h:>9.1f}")
    print(f"{'all':<9}{'':>18}{'':>12}{total_h:>9.1f}  (plus worker start-up, ~5 min a phase)")
    print(f"segments: {seg_per_h:,.0f} candidates and {kept / input_h:,.0f} kept per audio hour "
          f"-> {seg_per_h * hours / 1e6:,.1f} M candidates")
    # decide groups each recording inside the pack that owns it, writes its plan rows and dedup
    # verdicts as parts the launcher merges, and publish's tasks read their shard's plan rows
    # from Parquet: no plan row is shuffled. What is: dedup's thin rows (once to meet the kept
    # rows' meta, once more for the kept segments' index rows to meet their verdicts; its band
    # keys and candidate pairs are not counted) and (key, size) pairs.
    from pipelines.decide import _DEDUP_COLUMNS

    _, dedup_pickled = _mean_pickled(sorted((an / "segments").glob("*.parquet")), _DEDUP_COLUMNS)
    kept_total = kept / input_h * hours
    shuffle = {
        "decide: every candidate's dedup row to the kept meta": seg_per_h * hours * dedup_pickled,
        "decide: kept dedup index rows to their verdicts": kept_total * dedup_pickled,
        "decide: kept (key, size) pairs, verdicts, shard plan": kept_total * 40 * 2,
    }
    for name, size in shuffle.items():
        print(f"shuffle  {name:<52}{size / 1e9:>10,.1f} GB")
    print(f"         (pickled rows: {seg_pickled:,.0f} B a candidate, {plan_pickled:,.0f} B a "
          f"plan row; audio crosses no shuffle)")
    for name, size in per_h.items():
        print(f"storage  {name:<52}{size * scale / 1e12:>10,.2f} TB "
              f"({size / input_h / 1e6:,.0f} MB per audio hour)")
    print("         (thin rows of a small run are mostly per-file Parquet overhead; "
          "benchmarks/decide_scale.py measures them at scale)")
    print(f"launcher: merges the plan one bucket of ids at a time (pipelines/plan_merge.py), but "
          f"holds every plan row as a dict for the manifests and books: "
          f"{n_plan / input_h * hours / 1e6:,.1f} M rows, >= "
          f"{n_plan / input_h * hours * plan_pickled / 1e9:,.0f} GB pickled")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="input audio (default 10)")
    parser.add_argument("--model", default="tiny.en", help="tiny.en | base | CTranslate2 dir")
    parser.add_argument("--beam-size", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recording-s", type=float, nargs=2, default=(60.0, 120.0),
                        metavar=("MIN", "MAX"), help="recording lengths, s (default 60 120)")
    parser.add_argument("--runners", nargs="+", choices=sorted(RUNNER_NAMES),
                        default=sorted(RUNNER_NAMES), help="which runs (default all three)")
    parser.add_argument("--poll-s", type=float, default=0.2, help="RSS sampling period")
    parser.add_argument("--workdir", default="", help="keep inputs and runs here")
    parser.add_argument("--cost-hours", type=float, default=100_000,
                        help="audio hours of the Dataflow job the cost model sizes")
    parser.add_argument("--vcpus", type=int, default=8, help="vCPUs per Dataflow worker")
    parser.add_argument("--workers", type=int, default=50, help="Dataflow workers")
    parser.add_argument("--analyse-only", action="store_true",
                        help="run and print the analyse phase only (no cost model)")
    parser.add_argument("--report-only", action="store_true",
                        help="print the tables again from the work dir's results, no runs")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_main(args.child)

    from phases import build_input, load_clips
    from speech_eval_common import speech_eval_dir

    root = speech_eval_dir()
    if root is None:
        print("speech-eval not found (set SPEECH_EVAL_DIR); skipping")
        return 0
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="sc-scaling-"))
    workdir.mkdir(parents=True, exist_ok=True)
    in_dir = workdir / "input"
    if not in_dir.exists():
        n_rec, audio_s = build_input(in_dir, args.minutes / 60, 10**9, tuple(args.recording_s),
                                     load_clips(root), args.seed)
    else:
        n_rec, audio_s = len(list(in_dir.glob("*.flac"))), 0.0
    if not audio_s:
        import soundfile as sf

        audio_s = sum(sf.info(str(f)).duration for f in in_dir.glob("*.flac"))
    config = {"sources": [{"type": "local", "path": str(in_dir), "name": "bench"}],
              "curate": {"asr": {"model": args.model, "beam_size": args.beam_size,
                                 "cpu_threads": 1}, "shards": {"target_size_mb": 64}}}
    load = os.getloadavg()[0]
    print(f"input: {n_rec} recordings ({audio_s / 60:.1f} min) from speech-eval English clips; "
          f"model {args.model}, beam {args.beam_size}, asr.cpu_threads 1; "
          f"{len(os.sched_getaffinity(0))} cores, load average {load:.1f}; work dir {workdir}\n")
    results = {}
    chosen = {RUNNER_NAMES[r] for r in args.runners} | {RUNNER_NAMES["direct"]}  # the baseline
    for label, (beam_args, workers) in CONFIGS.items():
        if label not in chosen:
            continue
        name = label.split(" (")[0].replace(" ", "-")
        if args.report_only:
            results[label] = json.loads((workdir / f"{name}.result.json").read_text())
            continue
        spec = {"config": config, "out": str(workdir / name), "beam_args": beam_args,
                "workers": workers, "analyse_only": args.analyse_only, "input_s": audio_s}
        results[label] = run_child(label, spec, workdir, args.poll_s)
        (workdir / f"{name}.result.json").write_text(json.dumps(results[label]))
        print(f"  {label}: {results[label]['wall_s']:.1f} s wall", flush=True)
    base = results["direct (baseline)"]
    print(f"\n{'runner':<18}{'phase':<9}{'wall s':>8}{'a.s/w.s/core':>14}{'speed vs base':>15}"
          f"{'peak MB':>9}")
    phases = ("analyse",) if args.analyse_only else PHASES
    for label, res in results.items():
        cores = CONFIGS[label][1] or 1
        walls = {p: res["phase_s"][p] for p in phases}
        base_walls = {p: base["phase_s"][p] for p in phases}
        if not args.analyse_only:
            walls["all"] = sum(walls.values())
            base_walls["all"] = sum(base_walls.values())
        for phase, wall in walls.items():
            peaks = res.get("peak_mb", {})
            peak = max(peaks.values(), default=0.0) if phase == "all" else peaks.get(phase, 0.0)
            print(f"{label:<18}{phase:<9}{wall:>8.1f}{res['input_s'] / wall / cores:>14.1f}"
                  f"{base_walls[phase] / wall:>14.2f}x{peak:>9.0f}")
    if args.analyse_only:
        print("\nrecordings analysed: " + ", ".join(f"{k} {v.get('analysed')}"
                                                     for k, v in results.items()))
        return 0
    if len(results) < len(CONFIGS):  # the cost model and the speed-up need all three runs
        return 0
    two = results["dask 2 workers"]
    rates = {p: two["input_s"] / two["phase_s"][p] / 2 for p in PHASES}  # = audio h per vCPU-h
    cost_model(workdir / "direct", rates, args.cost_hours, args.vcpus, args.workers)
    speedup = (sum(results["dask 1 worker"]["phase_s"][p] for p in PHASES)
               / sum(results["dask 2 workers"]["phase_s"][p] for p in PHASES))
    print(f"\n2 Dask workers vs 1: {speedup:.2f}x faster end to end (2.00 = linear); "
          f"kept segments: " + ", ".join(f"{k} {v['kept']}" for k, v in results.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
