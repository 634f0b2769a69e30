"""Memory and time of the three curation phases (analyse -> decide -> publish) as input grows,
and the cost of ``refilter`` against a full run, on real speech from ../shared/speech-eval.

1. Peak memory does not grow with input size: a whole ``run_curate`` over about 1 h and about
   4 h of input audio, each in a fresh subprocess, so peak RSS is per run. The DirectRunner runs
   in that process; the isolated decoder is a spawned child of it. Memory is measured three ways:
   the process tree's RSS summed (the run and all its descendants, polled from /proc), the
   largest single process (``ru_maxrss`` from ``wait4``) and the decoder child's own peak; the
   tree's peak is also split by phase. Printed: input hours, wall time, audio s per wall s per
   core, peak RSS, and the ratio of the largest run's peak RSS to the smallest's (1.00 = flat).
2. Refilter vs full run: after the first (smallest) run, ``run_refilter`` of it with a stricter
   config (``curate.labels.min_pseudo_avg_logprob: -0.5``, ``lid.allowed_languages: [en]``) into
   a new directory, against the full run's wall time (the baseline) and its decide + publish.

The input is built from the English clips of speech-eval, decoded to 16 kHz mono and
concatenated with short silences (0.3-1.2 s, faint noise, a random gain per clip) into FLAC
recordings of 5-10 min with an untimed sidecar ``.txt`` transcript each, plus one 30 min
recording (two from 3 h up) so a long recording is covered; as many as reach the target hours.
The same seed gives the same input.

Usage:

    .venv/bin/python benchmarks/phases.py                # 1 h and 4 h (15-20 min on 2 idle cores)
    .venv/bin/python benchmarks/phases.py --quick        # 0.1 h and 0.4 h smoke run
    .venv/bin/python benchmarks/phases.py --hours 0.5 2 --model tiny.en --beam-size 1

Figures only (no assertions). Skips with a message when speech-eval is absent.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SR = 16000
BEAM_ARGS = ["--direct_num_workers=1"]
LONG_MIN, SHORT_MIN = 30.0, (5.0, 10.0)  # recording lengths (long ones, the others)
QUICK = {"hours": [0.1, 0.4], "long": 3.0, "short": (1.0, 2.0)}  # --quick: all scaled down
GAP_RANGE_S = (0.3, 1.2)  # silence between clips
# Same content as another English file of the set (near-duplicates or its own parts).
SKIP_FILES = {"whisper_cpp/jfk.mp3", "openai_whisper/jfk.flac", "mfa/michaelandsickmichael.wav"}
STRICT = {"labels": {"min_pseudo_avg_logprob": -0.5}, "lid": {"allowed_languages": ["en"]}}
PAGE = os.sysconf("SC_PAGE_SIZE")


def speech_eval_dir() -> Path:
    return Path(os.environ.get("SPEECH_EVAL_DIR") or REPO.parent / "shared" / "speech-eval")


# --------------------------------------------------------------------------- building the input


def load_clips(root: Path) -> list[tuple[Any, str]]:
    """The English clips of speech-eval as (16 kHz mono float32, transcript)."""
    from filters.audio import decode_audio

    with open(root / "MANIFEST.tsv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t")
                if r["language"] == "en" and r["file"] not in SKIP_FILES]
    return [(decode_audio((root / r["file"]).read_bytes(), 3600).samples, r["transcript"].strip())
            for r in rows]


def recording_lengths(hours: float, long_s: float, short_s: tuple[float, float],
                      rng: random.Random) -> list[float]:
    """One long recording from twice its length of input, two from six times; the rest are
    ``short_s`` long. Every size then has the same longest recording."""
    total = hours * 3600
    lengths = [long_s] * (2 if total >= 6 * long_s else 1 if total >= 2 * long_s else 0)
    left = total - sum(lengths)
    while left > short_s[0] / 2:
        length = min(rng.uniform(*short_s), left)
        lengths.append(length)
        left -= length
    rng.shuffle(lengths)
    return lengths


def write_recording(path: Path, length_s: float, clips: list[tuple[Any, str]],
                    rng: random.Random, order: list[int]) -> float:
    """Concatenate clips (cycling through a shuffled order) with silences into ``path`` (FLAC)
    and its transcript into ``path.txt``; returns the duration written."""
    import numpy as np
    import soundfile as sf

    parts, texts, n = [], [], 0
    noise = np.random.default_rng(rng.getrandbits(32))
    target = length_s * SR
    while n < target:
        if not order:
            order.extend(rng.sample(range(len(clips)), len(clips)))
        gap = noise.normal(0, 3e-4, int(rng.uniform(*GAP_RANGE_S) * SR)).astype(np.float32)
        audio, text = clips[order[-1]]
        if parts and n + len(gap) + len(audio) - target > target - n:
            break  # closer to the target without this clip
        order.pop()
        parts += [gap, audio * rng.uniform(0.6, 1.0)]
        texts.append(text)
        n += len(gap) + len(audio)
    samples = np.clip(np.concatenate(parts), -1, 1)
    sf.write(path, samples, SR, format="FLAC", subtype="PCM_16")
    path.with_suffix(".txt").write_text(" ".join(texts) + "\n", encoding="utf-8")
    return len(samples) / SR


def build_input(directory: Path, hours: float, long_s: float, short_s: tuple[float, float],
                clips: list[tuple[Any, str]], seed: int) -> tuple[int, float]:
    directory.mkdir(parents=True)
    rng = random.Random(f"{seed}-{hours}")
    order: list[int] = []
    total = 0.0
    lengths = recording_lengths(hours, long_s, short_s, rng)
    for i, length in enumerate(lengths):
        total += write_recording(directory / f"rec{i:04d}.flac", length, clips, rng, order)
    return len(lengths), total


def curate_config(input_dir: Path, model: str, beam_size: int, strict: bool = False) -> dict:
    curate: dict[str, Any] = {"asr": {"model": model, "beam_size": beam_size},
                              "shards": {"target_size_mb": 64}}
    if strict:
        curate.update(STRICT)
    return {"sources": [{"type": "local", "path": str(input_dir), "name": "bench"}],
            "curate": curate}


# --------------------------------------------------------------------------- the child process


def child_main(spec_path: str) -> int:
    """Run one run_curate / run_refilter and write its timings and phase windows as JSON."""
    import logging

    import pipelines.curate as curate
    from pipelines.config import parse_config

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    spec = json.loads(Path(spec_path).read_text())
    phases: list[tuple[str, float, float, float]] = []  # name, start, end (epoch), ru_maxrss MB

    def timed(name: str, fn):
        def wrapper(*args, **kwargs):
            start = time.time()
            try:
                return fn(*args, **kwargs)
            finally:
                maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                phases.append((name, start, time.time(), maxrss))
        return wrapper

    # Instrumentation only: the same functions, timed where run_curate calls them.
    curate.run_analyse = timed("analyse", curate.run_analyse)
    curate.run_decide = timed("decide", curate.run_decide)
    curate.run_publish = timed("publish", curate.run_publish)
    curate.finish_run = timed("manifests", curate.finish_run)
    curate._build_report = timed("report", curate._build_report)
    config = parse_config(spec["config"])
    started, t0 = time.time(), time.perf_counter()
    if spec["mode"] == "curate":
        summary = curate.run_curate(config, spec["out"], BEAM_ARGS, force=True)
    else:
        summary = curate.run_refilter(spec["source"], config, spec["out"], BEAM_ARGS)
    wall = time.perf_counter() - t0
    stats = summary.stats
    Path(spec["result"]).write_text(json.dumps({
        "started": started, "ended": time.time(), "wall_s": wall, "phases": phases,
        "phase_s": stats.get("run", {}).get("phase_s", {}),
        "kept_segments": stats.get("kept", {}).get("segments", 0),
        "kept_hours": stats.get("kept", {}).get("hours", 0.0),
        "shards": stats.get("shards", {}).get("count", 0),
        "rejects": stats.get("rejects", {}).get("count", 0),
        "self_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))
    return 0


# --------------------------------------------------------------------------- measuring a run


def _tree_rss(root: int) -> tuple[int, int]:
    """(RSS of ``root`` and all its descendants, largest descendant's RSS), in bytes."""
    parent: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue
            parent[int(entry.name)] = int(stat[stat.rfind(b")") + 2:].split()[1])
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    total, largest_child, todo = 0, 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                rss = int(fh.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        total += rss
        if pid != root:
            largest_child = max(largest_child, rss)
    return total, largest_child


@dataclass
class Measured:
    label: str
    wall_s: float
    result: dict[str, Any]
    tree_peak_mb: float
    child_peak_mb: float  # largest descendant (the isolated decoder)
    maxrss_mb: float  # wait4's ru_maxrss: the largest single process of the tree
    samples: list[tuple[float, float]] = field(default_factory=list)  # (epoch, tree MB)

    def phase_rss(self) -> dict[str, tuple[float, float]]:
        """{phase: (tree MB when it started, tree MB at its peak)}."""
        out: dict[str, tuple[float, float]] = {}
        for name, start, end, _ in self.result.get("phases", []):
            inside = [mb for t, mb in self.samples if start <= t <= end]
            inside = inside or [mb for t, mb in self.samples if t >= start][:1]  # a short one
            if inside and name not in out:
                out[name] = (inside[0], max(inside))
        return out

    def phase_peaks(self) -> dict[str, float]:
        return {name: peak for name, (_, peak) in self.phase_rss().items()}


def run_child(label: str, spec: dict[str, Any], workdir: Path, poll_s: float) -> Measured:
    spec_path = workdir / f"{label}.spec.json"
    spec["result"] = str(workdir / f"{label}.result.json")
    spec_path.write_text(json.dumps(spec))
    log_path = workdir / f"{label}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, __file__, "--child", str(spec_path)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    samples: list[tuple[float, float]] = []
    peak_child = 0
    stop = threading.Event()

    def poll() -> None:
        nonlocal peak_child
        while not stop.is_set():
            total, largest_child = _tree_rss(proc.pid)
            if total:
                samples.append((time.time(), total / 2**20))
            peak_child = max(peak_child, largest_child)
            stop.wait(poll_s)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    stop.set()
    poller.join()
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"{label}: child exited with {proc.returncode}; log {log_path}:\n"
                           f"{tail}")
    result = json.loads(Path(spec["result"]).read_text())
    return Measured(label, result["wall_s"], result,
                    max((mb for _, mb in samples), default=0.0), peak_child / 2**20,
                    usage.ru_maxrss / 1024, samples)


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, nargs="+", default=[1.0, 4.0],
                        help="input hours of each run (default: 1 4)")
    parser.add_argument("--quick", action="store_true", help="smoke run: --hours 0.1 0.4")
    parser.add_argument("--model", default="tiny.en", help="tiny.en | base | CTranslate2 dir")
    parser.add_argument("--beam-size", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="input recordings' random seed")
    parser.add_argument("--poll-s", type=float, default=0.2, help="RSS sampling period")
    parser.add_argument("--workdir", default="", help="keep inputs and runs here (else a temp "
                                                       "dir, removed at the end)")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_main(args.child)

    root = speech_eval_dir()
    if not (root / "MANIFEST.tsv").is_file():
        print(f"speech-eval not found at {root} (set SPEECH_EVAL_DIR); skipping")
        return 0
    hours = sorted(QUICK["hours"] if args.quick else args.hours)
    long_s = (QUICK["long"] if args.quick else LONG_MIN) * 60
    short_s = tuple(m * 60 for m in (QUICK["short"] if args.quick else SHORT_MIN))
    cores = len(os.sched_getaffinity(0))
    clips = load_clips(root)
    clip_s = sum(len(a) for a, _ in clips) / SR
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="sc-phases-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"speech-eval: {len(clips)} English clips ({clip_s / 60:.1f} min) -> recordings of "
          f"{short_s[0] / 60:g}-{short_s[1] / 60:g} min, plus one of {long_s / 60:g} min (two "
          f"from {6 * long_s / 3600:g} h of input)\nmodel {args.model}, beam {args.beam_size}, "
          f"shards 64 MB, {' '.join(BEAM_ARGS)}, {cores} cores; work dir {workdir}\n")

    runs: list[tuple[float, int, float, Measured]] = []
    refilter: Measured | None = None
    try:
        for h in hours:
            in_dir = workdir / f"in-{h:g}h"
            t = time.perf_counter()
            n_rec, audio_s = build_input(in_dir, h, long_s, short_s, clips, args.seed)
            print(f"[{h:g} h] input: {n_rec} recordings, {audio_s / 3600:.2f} h "
                  f"(built in {time.perf_counter() - t:.0f} s); running run_curate ...",
                  flush=True)
            run_dir = workdir / f"run-{h:g}h"
            m = run_child(f"curate-{h:g}h", {
                "mode": "curate", "out": str(run_dir),
                "config": curate_config(in_dir, args.model, args.beam_size)}, workdir,
                args.poll_s)
            runs.append((h, n_rec, audio_s, m))
            r = m.result
            print(f"[{h:g} h] wall {m.wall_s:.0f} s ({_phases(r['phase_s'])}), "
                  f"{audio_s / m.wall_s / cores:.1f} audio s / wall s / core, peak RSS "
                  f"{m.tree_peak_mb:.0f} MB (tree), kept {r['kept_segments']} segments "
                  f"({r['kept_hours']:.2f} h) in {r['shards']} shard(s)", flush=True)
            if refilter is None:
                print(f"[{h:g} h] refilter with {json.dumps(STRICT)} ...", flush=True)
                refilter = run_child(f"refilter-{h:g}h", {
                    "mode": "refilter", "source": str(run_dir),
                    "out": str(workdir / f"refilter-{h:g}h"),
                    "config": curate_config(in_dir, args.model, args.beam_size, strict=True)},
                    workdir, args.poll_s)
                rr = refilter.result
                print(f"[{h:g} h] refilter wall {refilter.wall_s:.1f} s "
                      f"({_phases(rr['phase_s'])}), kept {rr['kept_segments']} segments",
                      flush=True)
            shutil.rmtree(in_dir, ignore_errors=True)  # keep the disk small for the next size
        report(runs, refilter, cores)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _phases(phase_s: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.0f} s" for k, v in phase_s.items())


def report(runs: list[tuple[float, int, float, Measured]], refilter: Measured | None,
           cores: int) -> None:
    names = ["analyse", "decide", "publish", "manifests"]
    print(f"\n{'run':<10}{'input h':>8}{'recs':>6}{'wall s':>8}{'a.s/w.s/core':>13}"
          f"{'peak MB':>9}{'largest':>9}{'decoder':>9}   peak MB by phase (tree)")
    print(f"{'':<10}{'':>8}{'':>6}{'':>8}{'':>13}{'(tree)':>9}{'process':>9}{'child':>9}   "
          + " ".join(f"{n:>9}" for n in names))
    rows = [(f"curate {h:g}h", audio_s / 3600, str(n), m) for h, n, audio_s, m in runs]
    if refilter is not None:
        rows.append((f"refilter {runs[0][0]:g}h", runs[0][2] / 3600, "-", refilter))
    for label, in_h, n, m in rows:
        peaks = m.phase_peaks()
        print(f"{label:<10}{in_h:>8.2f}{n:>6}{m.wall_s:>8.0f}"
              f"{in_h * 3600 / m.wall_s / cores:>13.1f}{m.tree_peak_mb:>9.0f}{m.maxrss_mb:>9.0f}"
              f"{m.child_peak_mb:>9.0f}   "
              + " ".join(f"{peaks[n]:>9.0f}" if n in peaks else f"{'-':>9}" for n in names))
    print("\ntree RSS by phase, MB when it started -> its peak:")
    for label, _, _, m in rows:
        print(f"  {label:<14}" + ", ".join(f"{n} {a:.0f} -> {b:.0f}"
                                           for n, (a, b) in m.phase_rss().items()))
    if len(runs) >= 2:
        (h0, _, s0, m0), (h1, _, s1, m1) = runs[0], runs[-1]
        tree, single = m1.tree_peak_mb / m0.tree_peak_mb, m1.maxrss_mb / m0.maxrss_mb
        verdict = "flat" if max(tree, single) <= 1.15 else "GROWS with input"
        print(f"\npeak RSS {h1:g}h / {h0:g}h (input x{s1 / s0:.2f}): tree x{tree:.2f}, largest "
              f"process x{single:.2f} -> {verdict} (1.00 = flat)")
        p0, p1 = m0.phase_peaks(), m1.phase_peaks()
        print("  by phase: " + ", ".join(f"{n} x{p1[n] / p0[n]:.2f}" for n in names
                                         if p0.get(n) and p1.get(n)))
    if refilter is not None:
        h0, _, _, full = runs[0]
        dp = sum(full.result["phase_s"].get(k, 0.0) for k in ("decide", "publish"))
        print(f"\nrefilter of the {h0:g} h run: {refilter.wall_s:.1f} s vs full run (baseline) "
              f"{full.wall_s:.1f} s -> {full.wall_s / refilter.wall_s:.1f}x faster; the full "
              f"run's own decide + publish took {dp:.1f} s")
        print(f"  kept segments: full {full.result['kept_segments']}, strict refilter "
              f"{refilter.result['kept_segments']}")


if __name__ == "__main__":
    sys.exit(main())
