"""Quality report at scale: build time, memory, page size and browser load time of
``RUN/report/index.html`` for a synthetic run of N kept segments (default 1,000,000).

The run directory is written in a temporary directory with the project's own writers:
``pipelines.manifests.compute_stats`` and ``write_manifests`` (``segments.parquet``,
``rejects.parquet``, ``shards.json``, ``stats.json``) and ``filters.shards.write_tar`` for the
shards. Rows look like a curate run's: recordings of ~20 segments, 30 languages, 40 sources,
source / pseudo / translation labels with unique texts of a plausible length, a few PII spans and
dedup clusters, and segment- and recording-level rejects (default N / 5) with the curate reason
codes. Shards are planned at ``--shard-mb`` (256, the default ``shards.target_size_mb``) from
FLAC at ~20 kB per second of audio; only the shards that hold a segment the report samples are
written, at full size (the sampled members as real FLAC speech from espeak-ng, or a tone without
it; the others as filler of the same size, never decoded), because the report opens only those.
``shards.json`` lists every shard (written ones with their real size and md5, the others with
their planned size). Eight rejected segments per reason get audio under ``samples/rejected/``.

``pipelines.report.build_report`` then runs in a fresh child process (``--builds`` times), so
its time and peak RSS are its own. Baselines in the same run: a small synthetic run made the same
way (``--baseline-segments``, default 1,000: page size and build time should not grow with the
run), and a page holding only plotly.js (the floor of the page's size and parse time). Existing
run directories (e.g. ``runs/demo`` from ``make demo``) can be added with ``--run-dir``; each is
copied to the temporary directory first, so its own report is left alone.

If headless Chromium is installed (``make test`` installs ``chromium``), each page is opened
with ``tests/pipelines/report/chromium_probe.py``'s DevTools-over-pipes driver: the first load
in a fresh profile (cold) and ``--loads`` more (warm), timed with
``performance.getEntriesByType("navigation")`` (DOMContentLoaded and load event, ms from the
start of navigation). Without Chromium that part is skipped with a message.

    .venv/bin/python benchmarks/report_scale.py                       # 1,000,000 segments
    .venv/bin/python benchmarks/report_scale.py --segments 100000 --builds 1
    .venv/bin/python benchmarks/report_scale.py --run-dir runs/demo   # also the demo run

Figures only (no assertions). Memory: the 1M rows are built as Python dicts, as the launcher
holds them (several GB); disk: at most ``kept_samples`` (12) shards of ``--shard-mb`` each.
"""

from __future__ import annotations

import argparse
import base64
import gc
import hashlib
import inspect
import io
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PROBE_DIR = REPO / "tests" / "pipelines" / "report"

SR = 16_000
FLAC_BYTES_PER_S = 20_000  # 16 kHz 16-bit mono FLAC of speech: ~60 % of 32 kB/s PCM
SEGMENTS_PER_RECORDING = 20
REJECT_SAMPLES_PER_REASON = 8  # as the publish phase keeps under samples/rejected/<reason>/
LANGUAGES = ["en"] * 12 + ["de", "fr", "es"] * 3 + [
    "it", "pt", "nl", "sv", "pl", "ru", "ja", "zh", "ko", "ar", "tr", "cs", "fi", "da", "no",
    "hu", "el", "ro", "uk", "vi", "id", "hi", "he", "ca", "ms", "th", "bg"]
SOURCES = [f"podcast-{i:02d}" for i in range(40)]
LICENCES = ["CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "CC-BY-NC-4.0", ""]
LABEL_SOURCES = ["source"] * 9 + ["pseudo"] * 9 + ["translation"] * 2
# (stage, reason, weight) of segment-level rejects; recording-level ones below
SEGMENT_REASONS = [
    ("segment", "segment_too_short", 15), ("lid", "lid_mismatch", 10),
    ("lid", "lid_low_confidence", 5), ("label", "low_asr_confidence", 15),
    ("label", "hallucination", 10), ("label", "label_disagreement", 15),
    ("label", "unaligned_text", 10), ("label", "empty_label", 2),
    ("quality", "low_quality", 7), ("pii", "pii", 3), ("dedup", "duplicate", 8),
]
RECORDING_REASONS = [("decode", "corrupt_audio", 3), ("decode", "too_short", 2),
                     ("segment", "no_speech", 5)]
RECORDING_REJECT_SHARE = 0.02
WORDS = ("the a of and to in is it that was he for on are with as his they at be this from I "
         "have or by one had not but what all were when we there can an your which their said "
         "if do will each about how up out them then she many some so these would other into "
         "has more her two like him see time could no make than first been its who now people "
         "my made over did down only way find use may water long little very after words "
         "called just where most know get through back much before go good new write our used "
         "me man too any day same right look think also around another came come work three "
         "word must because does part even place well such here take why things help put years "
         "different away again off went old number great tell men say small every found still "
         "between name should home big give air line set own under read last never us left end "
         "along while might next sound below saw something thought both few those always looked "
         "show large often together asked house don't world going want school important until "
         "form food keep children feet land side without boy once animals life enough took "
         "sometimes four head above kind began almost live page got earth need far hand high "
         "year mother light parts country father let night following picture being study second "
         "eyes soon times story boys since white days ever paper hard near sentence better best "
         "across during today others sure means knew it's try told young miles sun ways thing "
         "whole hear example heard several change answer room sea against top turned learn point "
         "city play toward five using himself usually").split()


# ------------------------------------------------------------------------------ synthetic run
def _phrases(rng: random.Random) -> list[list[str]]:
    """32 phrases of each length 0..60 words."""
    return [[" ".join(rng.choice(WORDS) for _ in range(n)) for _ in range(32)]
            for n in range(61)]


def _weighted(rng: random.Random, table: list[tuple[str, str, int]], k: int
              ) -> list[tuple[str, str]]:
    return [(s, r) for s, r, _w in rng.choices(table, weights=[w for *_x, w in table], k=k)]


def make_rows(n_segments: int, n_rejects: int, seed: int
              ) -> tuple[list[dict], list[dict], list[dict]]:
    """(recordings, kept segment rows, reject rows) of a synthetic curate run.

    Numbers are drawn with numpy up front; the Python loop only assembles the row dicts."""
    import numpy as np

    from schemas.keys import segment_id_for

    rng = random.Random(seed)
    npr = np.random.default_rng(seed)
    pool = _phrases(rng)
    n_rec_rejects = int(n_rejects * RECORDING_REJECT_SHARE)
    n_seg_rejects = n_rejects - n_rec_rejects
    total = n_segments + n_seg_rejects
    is_reject = np.zeros(total, dtype=bool)
    is_reject[npr.choice(total, n_seg_rejects, replace=False)] = True
    seg_reasons = iter(_weighted(rng, SEGMENT_REASONS, n_seg_rejects))
    n_clusters = max(1, n_segments // 150)
    verdicts = {src: [
        {"filter": "label.lid", "passed": True, "reason": "", "detail": "audio and text agree",
         "value": 0.97},
        {"filter": "label.hallucination", "passed": True, "reason": "", "detail": "",
         "value": None},
        {"filter": "label.machine_text", "passed": True, "reason": "", "detail": "human",
         "value": None},
        {"filter": "label.choice", "passed": True, "reason": "", "detail": src, "value": None},
    ] for src in set(LABEL_SOURCES)}
    lang_probs = {lang: [{"language": lang, "prob": 0.94}, {"language": "en", "prob": 0.03}]
                  for lang in set(LANGUAGES)}
    pii = [[{"start": 3, "end": 17, "type": t}] for t in ("email", "phone")]

    dur = np.clip(npr.gamma(2.0, 5.0, total), 1.0, 30.0).round(3)
    gap = npr.uniform(0.3, 3.0, total)
    n_words = np.clip((dur * npr.uniform(1.8, 3.2, total)).round(), 2, 120).astype(int)
    half = n_words // 2
    pick_a, pick_b = npr.integers(0, 32, total), npr.integers(0, 32, total)
    label_src = npr.integers(0, len(LABEL_SOURCES), total)
    cer = npr.beta(1.2, 12.0, total).round(4)
    floats = {name: arr.round(4).tolist() for name, arr in {
        "language_prob": npr.uniform(0.5, 1.0, total),
        "text_language_prob": npr.uniform(0.5, 1.0, total),
        "avg_logprob": -npr.uniform(0.05, 0.8, total),
        "no_speech_prob": npr.uniform(0, 0.3, total),
        "compression_ratio": npr.uniform(1.1, 2.2, total),
        "speech_ratio": npr.uniform(0.5, 1.0, total)}.items()}
    snr = npr.normal(22, 8, total).round(2).tolist()
    lufs = npr.normal(-24, 4, total).round(2).tolist()
    pii_at = npr.random(total) < 0.01
    cluster_at = npr.random(total) < 0.02
    clusters = npr.integers(0, n_clusters, total)
    dur_l, gap_l, cer_l = dur.tolist(), gap.tolist(), cer.tolist()
    # plain lists: indexing a numpy array element by element is ~10x slower
    is_reject, pii_at, cluster_at = is_reject.tolist(), pii_at.tolist(), cluster_at.tolist()
    clusters, label_src = clusters.tolist(), label_src.tolist()
    n_words, half = n_words.tolist(), half.tolist()
    pick_a, pick_b = pick_a.tolist(), pick_b.tolist()

    recordings: list[dict] = []
    segments: list[dict] = []
    rejects: list[dict] = []
    rec: dict[str, Any] = {}
    t = 0.0
    for g in range(total):
        idx = g % SEGMENTS_PER_RECORDING
        if idx == 0:
            rid = f"{rng.getrandbits(64):016x}"
            segment_id_for(rid, idx)  # the id rule holds (checked once per recording)
            source = rng.choice(SOURCES)
            rec = {"recording_id": rid, "source_name": source, "duration": 0.0,
                   "source_uri": f"https://{source}.example.org/media/{rid}.mp3",
                   "page_url": f"https://{source}.example.org/feed.xml",
                   "licence": rng.choice(LICENCES), "language": rng.choice(LANGUAGES)}
            recordings.append(rec)
            t = gap_l[g]
        d = dur_l[g]
        start, end = round(t, 3), round(t + d, 3)
        t = end + gap_l[g]
        rec["duration"] = t
        sid = f"{rec['recording_id']}-{idx:05d}"
        lang = rec["language"]
        text = f"{pool[half[g]][pick_a[g]].capitalize()} {pool[n_words[g] - half[g]][pick_b[g]]}."
        if is_reject[g]:
            stage, reason = next(seg_reasons)
            if reason == "segment_too_short":
                d = round(0.2 + 0.79 * (d - 1.0) / 29.0, 3)
                end = round(start + d, 3)
            detail = {"duplicate": f"near duplicate of cluster c{clusters[g]:06d}",
                      "pii": ("email", "phone", "person")[g % 3] + " in text",
                      "segment_too_short": f"{d:.2f}s < segment.min_segment_s=1.0"
                      }.get(reason, f"{reason.replace('_', ' ')}: score {cer_l[g]:.3f}")
            rejects.append({
                "id": sid, "stage": stage, "reason": reason, "detail": detail,
                "recording_id": rec["recording_id"], "source_uri": rec["source_uri"],
                "source_name": rec["source_name"], "page_url": rec["page_url"],
                "start": start, "end": end, "duration": d, "language": lang,
                "text": "" if stage == "segment" else text,
                "pseudo_label": "" if stage == "segment" else text})
            continue
        src = LABEL_SOURCES[label_src[g]]
        c = None if src == "pseudo" else cer_l[g]
        segments.append({
            "segment_id": sid, "recording_id": rec["recording_id"], "index": idx,
            "source_uri": rec["source_uri"], "source_name": rec["source_name"],
            "page_url": rec["page_url"], "licence": rec["licence"], "declared_language": lang,
            "start": start, "end": end, "duration": d,
            "source_text": None if src == "pseudo" else text,
            "source_text_kind": "none" if src == "pseudo" else "timed",
            "pseudo_label": text, "text": text, "label_source": src,
            "task": "translate" if src == "translation" else "transcribe",
            "language": lang, "language_prob": floats["language_prob"][g],
            "text_language": lang, "text_language_prob": floats["text_language_prob"][g],
            "audio_language": lang, "audio_language_prob": 0.94,
            "audio_language_probs": lang_probs[lang],
            "avg_logprob": floats["avg_logprob"][g],
            "no_speech_prob": floats["no_speech_prob"][g],
            "compression_ratio": floats["compression_ratio"][g], "cer": c,
            "wer": None if c is None else min(1.0, round(c * 1.8, 4)),
            "speech_ratio": floats["speech_ratio"][g], "snr_db": snr[g], "clipping_ratio": 0.0,
            "loudness_lufs": lufs[g], "chars_per_second": round(len(text) / d, 3),
            "dnsmos": None, "pii_spans": pii[g % 2] if pii_at[g] else [],
            "dedup_cluster": f"c{clusters[g]:06d}" if cluster_at[g] else "",
            "verdicts": verdicts[src], "shard": "", "key": sid,
        })
    for stage, reason in _weighted(rng, RECORDING_REASONS, n_rec_rejects):
        rid = f"{rng.getrandbits(64):016x}"
        source = rng.choice(SOURCES)
        rejects.append({
            "id": rid, "stage": stage, "reason": reason,
            "detail": f"{reason.replace('_', ' ')} ({source})", "recording_id": rid,
            "source_uri": f"https://{source}.example.org/media/{rid}.mp3", "source_name": source,
            "page_url": f"https://{source}.example.org/feed.xml", "start": None, "end": None,
            "duration": None if reason == "corrupt_audio" else round(rng.uniform(0.1, 600), 3),
            "language": "", "text": "", "pseudo_label": ""})
    return recordings, segments, rejects


def plan_shards(segments: list[dict], shard_mb: float) -> list[dict]:
    """Assign kept segments, sorted by key, to shards of about ``shard_mb``; planned sizes."""
    from schemas.keys import shard_name

    segments.sort(key=lambda r: r["key"])
    limit = shard_mb * 1e6
    plan: list[dict] = []
    size = limit
    for row in segments:
        nbytes = int(row["duration"] * FLAC_BYTES_PER_S) + 2048  # + tar headers and JSON
        if size + nbytes > limit and size > 0:
            plan.append({"name": shard_name(len(plan)), "members": [], "filesize": 0})
            size = 0
        plan[-1]["members"].append(row)
        plan[-1]["filesize"] += nbytes
        size += nbytes
        row["shard"] = plan[-1]["name"]
    return plan


def speech_flac(seconds: float, cache: dict[str, Any]) -> bytes:
    """FLAC of espeak-ng speech (a tone without espeak-ng), cut or looped to ``seconds``."""
    import numpy as np

    from filters.audio import encode_flac

    if "wave" not in cache:
        wave = None
        if shutil.which("espeak-ng"):
            sys.path.insert(0, str(PROBE_DIR))
            from report_fixture_run import speech_wave

            wave = speech_wave()
        if wave is None or not len(wave):
            t = np.arange(4 * SR) / SR
            wave = (0.3 * np.sin(2 * np.pi * 220 * t)).astype("float32")
        cache["wave"] = wave
    wave = cache["wave"]
    n = int(seconds * SR)
    return encode_flac(np.resize(wave, n) if n > len(wave) else wave[:n])


def write_run(run_dir: Path, n_segments: int, n_rejects: int, shard_mb: float, seed: int
              ) -> dict[str, Any]:
    """Write the synthetic run; returns what was written and how long each step took."""
    import polars as pl

    from filters.shards import write_tar
    from pipelines.manifests import compute_stats, write_manifests
    from pipelines.report import ReportConfig
    from pipelines.report.aggregate import sample_ids

    info: dict[str, Any] = {}
    t0 = time.perf_counter()
    recordings, segments, rejects = make_rows(n_segments, n_rejects, seed)
    info["rows_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    plan = plan_shards(segments, shard_mb)
    cfg = ReportConfig()
    sampled = set(sample_ids(pl.DataFrame({"segment_id": [r["segment_id"] for r in segments]}),
                             "segment_id", cfg.kept_samples, cfg.seed))
    (run_dir / "shards").mkdir(parents=True)
    wave_cache: dict[str, Any] = {}
    shardlist, written, written_bytes = [], 0, 0
    for shard in plan:
        entry = {"url": f"../shards/{shard['name']}", "nsamples": len(shard["members"]),
                 "filesize": shard["filesize"], "md5sum": "0" * 32}
        if any(r["segment_id"] in sampled for r in shard["members"]):
            def members(rows=shard["members"]):
                for r in rows:
                    flac = (speech_flac(r["duration"], wave_cache) if r["segment_id"] in sampled
                            else bytes(int(r["duration"] * FLAC_BYTES_PER_S)))
                    yield r["key"], flac, {"segment_id": r["segment_id"], "text": r["text"],
                                           "language": r["language"]}
            with open(run_dir / "shards" / shard["name"], "wb") as fh:
                done = write_tar(fh, members())
            entry.update(filesize=done.filesize, md5sum=done.md5sum)
            written += 1
            written_bytes += done.filesize
        shardlist.append(entry)
    by_reason: dict[str, list[dict]] = {}
    for r in rejects:
        if r["start"] is not None and r["stage"] != "segment":
            by_reason.setdefault(r["reason"], []).append(r)
    n_reject_audio = 0
    for reason, rows in sorted(by_reason.items()):
        picks = sorted(rows, key=lambda r: hashlib.sha1(r["id"].encode()).digest())
        d = run_dir / "samples" / "rejected" / reason
        d.mkdir(parents=True)
        for r in picks[:REJECT_SAMPLES_PER_REASON]:
            (d / f"{r['id']}.flac").write_bytes(speech_flac(r["duration"], wave_cache))
            n_reject_audio += 1
    info["shards_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    run_info = {"started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-02T00:00:00Z",
                "wall_s": 86400.0, "runner": "synthetic (benchmarks/report_scale.py)",
                "config_hash": "0" * 64, "asr_model": "base", "compute_type": "int8",
                "versions": {"speechcurate": "synthetic"}}
    kwargs: dict[str, Any] = {}
    if "decide_stages" in inspect.signature(compute_stats).parameters:
        kwargs["decide_stages"] = ["lid", "label", "quality", "pii", "dedup"]
    stats = compute_stats(recordings, segments, rejects, shardlist, run_info, **kwargs)
    info["stats_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_manifests(str(run_dir), segments, rejects, shardlist, stats)
    info["manifests_s"] = time.perf_counter() - t0
    info.update(
        segments=len(segments), rejects=len(rejects), recordings=len(recordings),
        hours=sum(r["duration"] for r in segments) / 3600, shards=len(shardlist),
        shards_written=written, shard_bytes_written=written_bytes, reject_audio=n_reject_audio,
        segments_parquet=(run_dir / "manifest" / "segments.parquet").stat().st_size,
        rejects_parquet=(run_dir / "manifest" / "rejects.parquet").stat().st_size)
    return info


# ------------------------------------------------------------------------------ measuring
def proc_status_mb(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, in MB. Not ``ru_maxrss``: on Linux
    a child started from a large parent reports the parent's peak there."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child_build(run_dir: str) -> int:
    """(In the child process.) Time ``build_report`` on ``run_dir``; print one JSON line."""
    import plotly.graph_objects  # noqa: F401 - imported before the clock, as a caller has it

    from pipelines.report import build_report

    before = proc_status_mb("VmRSS")
    t0 = time.perf_counter()
    page = build_report(run_dir)
    build_s = time.perf_counter() - t0
    print(json.dumps({"build_s": build_s, "rss_before_mb": before, "page": page,
                      "peak_rss_mb": proc_status_mb("VmHWM")}))
    return 0


def measure_build(run_dir: Path, times: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(times):
        proc = subprocess.run([sys.executable, __file__, "--_build", str(run_dir)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"build_report failed on {run_dir}:\n{proc.stderr[-3000:]}")
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def embedded_audio(html: str) -> tuple[int, int, float]:
    """(clips, bytes, seconds) of the ``data:audio`` URIs in a page."""
    import av

    n, nbytes, seconds = 0, 0, 0.0
    for m in re.finditer(r"data:audio/[a-z]+;base64,([A-Za-z0-9+/=]+)", html):
        blob = base64.b64decode(m.group(1))
        n += 1
        nbytes += len(blob)
        with av.open(io.BytesIO(blob)) as c:
            s = c.streams.audio[0]
            seconds += sum(f.samples for f in c.decode(s)) / (s.rate or 48_000)
    return n, nbytes, seconds


def browser_times(exe: str, page: Path, loads: int) -> dict[str, Any]:
    """DOMContentLoaded / load of the first (cold profile) and the next ``loads`` (warm)."""
    sys.path.insert(0, str(PROBE_DIR))
    from chromium_probe import Browser

    js = "JSON.stringify(performance.getEntriesByType('navigation')[0])"
    browser = Browser(exe, timeout=180)
    try:
        targets = browser.send("Target.getTargets")["targetInfos"]
        target = next(t for t in targets if t["type"] == "page")
        session = browser.send("Target.attachToTarget",
                               {"targetId": target["targetId"], "flatten": True})["sessionId"]
        browser.send("Page.enable", session=session)
        runs = []
        for _ in range(1 + loads):
            browser.events.clear()
            browser.send("Page.navigate", {"url": page.as_uri()}, session=session)
            browser.wait_event("Page.loadEventFired", timeout=180)
            nav: dict[str, Any] = {}
            for _poll in range(100):
                value = browser.send("Runtime.evaluate", {"expression": js, "returnByValue": True},
                                     session=session)["result"].get("value")
                nav = json.loads(value) if value else {}
                if nav.get("loadEventEnd", 0) > 0:
                    break
                time.sleep(0.05)
            runs.append((nav.get("domContentLoadedEventEnd", float("nan")) / 1000,
                         nav.get("loadEventEnd", float("nan")) / 1000))
    finally:
        browser.close()
    warm = runs[1:] or runs
    return {"cold_dcl": runs[0][0], "cold_load": runs[0][1],
            "warm_dcl": statistics.median(r[0] for r in warm),
            "warm_load": statistics.median(r[1] for r in warm),
            "warm_all": [round(r[0], 3) for r in warm]}


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) == 3 and sys.argv[1] == "--_build":
        return child_build(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segments", type=int, default=1_000_000, help="kept segments")
    ap.add_argument("--rejects", type=int, default=None, help="reject rows (default segments/5)")
    ap.add_argument("--baseline-segments", type=int, default=1_000,
                    help="kept segments of the small baseline run (0: none)")
    ap.add_argument("--shard-mb", type=float, default=256.0, help="planned shard size")
    ap.add_argument("--builds", type=int, default=2, help="build_report runs per run directory")
    ap.add_argument("--loads", type=int, default=3, help="warm page loads in the browser")
    ap.add_argument("--no-browser", action="store_true", help="skip the Chromium timings")
    ap.add_argument("--run-dir", action="append", default=[],
                    help="an existing run directory to measure too (copied first); repeatable")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", default="", help="write the runs here and keep them (default: a "
                    "temporary directory, removed at the end)")
    args = ap.parse_args(argv)
    n_rejects = args.segments // 5 if args.rejects is None else args.rejects

    from pipelines.report import figures

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="report-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"# report_scale: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at "
          f"start; work dir {work}")
    try:
        pages: list[tuple[str, Path, list[dict[str, Any]] | None]] = []
        synthetic = [("baseline", args.baseline_segments, args.baseline_segments // 5)] \
            if args.baseline_segments else []
        synthetic.append(("large", args.segments, n_rejects))
        for name, n_seg, n_rej in synthetic:
            run_dir = work / f"synthetic-{n_seg}"
            if run_dir.exists():
                shutil.rmtree(run_dir)
            t0 = time.perf_counter()
            info = write_run(run_dir, n_seg, n_rej, args.shard_mb, args.seed)
            gc.collect()
            print(f"\n## synthetic run ({name}): {info['segments']:,} kept segments "
                  f"({info['hours']:,.0f} h) in {info['recordings']:,} recordings, "
                  f"{info['rejects']:,} rejects, {info['shards']:,} shards planned "
                  f"({info['shards_written']} written, {info['shard_bytes_written'] / 1e6:,.0f} "
                  f"MB), {info['reject_audio']} reject clips")
            print(f"written in {time.perf_counter() - t0:.1f} s (rows {info['rows_s']:.1f} s, "
                  f"shards {info['shards_s']:.1f} s, compute_stats {info['stats_s']:.1f} s, "
                  f"write_manifests {info['manifests_s']:.1f} s); segments.parquet "
                  f"{info['segments_parquet'] / 1e6:,.1f} MB, rejects.parquet "
                  f"{info['rejects_parquet'] / 1e6:,.1f} MB; writer peak RSS "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB",
                  flush=True)
            builds = measure_build(run_dir, args.builds)
            pages.append((f"synthetic {info['segments']:,} segments + {info['rejects']:,} "
                          f"rejects", Path(builds[0]["page"]), builds))
        for extra in args.run_dir:
            src = Path(extra)
            dst = work / f"copy-{src.name}"
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("report"),
                            dirs_exist_ok=True)
            builds = measure_build(dst, args.builds)
            pages.append((f"{extra} (copy)", Path(builds[0]["page"]), builds))
        plotly_page = work / "plotly-only.html"
        plotly_page.write_text("<!doctype html><html><head><meta charset='utf-8'><script>"
                               + figures.plotlyjs() + "</script></head><body></body></html>",
                               encoding="utf-8")
        pages.append(("plotly.js alone (baseline)", plotly_page, None))

        print("\n## build_report (fresh child process per build)\n")
        print("| run | build s (each) | peak RSS MB (after imports) | page MB | embedded audio |")
        print("|---|---:|---:|---:|---|")
        for name, page, builds in pages:
            html = page.read_text(encoding="utf-8")
            clips, abytes, asec = embedded_audio(html)
            audio = (f"{clips} clips, {abytes / 1e3:,.0f} kB, {asec:.0f} s = "
                     f"{abytes / 1e3 / asec:.1f} kB/s" if clips else "none")
            if builds:
                each = ", ".join(f"{b['build_s']:.1f}" for b in builds)
                rss = (f"{max(b['peak_rss_mb'] for b in builds):,.0f} "
                       f"({min(b['rss_before_mb'] for b in builds):,.0f})")
            else:
                each = rss = "–"
            print(f"| {name} | {each} | {rss} | {page.stat().st_size / 1e6:.2f} | {audio} |")
        print(f"\nplotly.js bundle: {len(figures.plotlyjs().encode()) / 1e6:.2f} MB")

        sys.path.insert(0, str(PROBE_DIR))
        from chromium_probe import chromium_path

        exe = None if args.no_browser else chromium_path()
        if exe is None:
            why = "--no-browser" if args.no_browser else "chromium is not installed"
            print(f"\nbrowser timings skipped ({why}; Debian: apt-get install chromium)")
        else:
            print(f"\n## headless Chromium ({exe}): navigation timing, s from navigation start;"
                  f" cold = first load in a fresh profile, warm = median of {args.loads} more\n")
            print("| page | DOMContentLoaded cold | load cold | DOMContentLoaded warm | "
                  "load warm | warm loads (DCL) |")
            print("|---|---:|---:|---:|---:|---|")
            for name, page, _builds in pages:
                t = browser_times(exe, page, args.loads)
                print(f"| {name} | {t['cold_dcl']:.2f} | {t['cold_load']:.2f} | "
                      f"{t['warm_dcl']:.2f} | {t['warm_load']:.2f} | {t['warm_all']} |",
                      flush=True)
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
