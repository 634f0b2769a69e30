"""What the demo run did, for a newcomer: one line per stage, hours kept per language and tier,
each planted case against its expected outcome, and the commands to try next.

Everything is read back from the run's own outputs (``manifest/rejects.parquet``,
``plan/segments.parquet``, ``stats.json``), so the summary cannot claim what the run did not do;
``tests/pipelines/test_demo.py`` asserts the planted outcomes from the same function.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

STAGE_ORDER = ("crawl", "source", "decode", "segment", "asr", "lid", "label", "dedup",
               "privacy", "quality", "takedown")


@dataclass(frozen=True)
class CaseResult:
    stem: str
    stage: str
    expected: str
    actual: str  # "kept", a reason code, or "missing" when no row names the case
    what: str

    @property
    def ok(self) -> bool:
        return self.actual == self.expected


def _read(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path).to_pylist() if path.is_file() else []


def _file_stem(uri: str) -> str:
    name = (uri or "").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


def case_outcome(planted: Any, plan: Sequence[dict[str, Any]],
                 rejects: Sequence[dict[str, Any]]) -> str:
    """The outcome the run gave one planted case (see ``pipelines.demo.PLANTED``).

    URL cases (``stem`` ending in ``/``) and whole-file cases are looked up in the rejects; a
    segment case is its segments in the plan (one, or all of the recording's): ``kept`` when
    every one was kept (``translate`` when kept as translation pairs, ``redacted`` when kept
    with PII spans), else the reason of the first dropped one in the planted stage (or any)."""
    if planted.stem.endswith("/"):
        hits = [r for r in rejects if f"/{planted.stem}" in (r.get("source_uri") or "")]
        return hits[0]["reason"] if hits else "missing"
    rows = [r for r in plan if _file_stem(r.get("source_uri", "")) == planted.stem
            and planted.segment in (None, r["index"])]
    if not rows:
        hits = [r for r in rejects if _file_stem(r.get("source_uri", "")) == planted.stem]
        return hits[0]["reason"] if hits else "missing"
    dropped = sorted((r for r in rows if not r["keep"]), key=lambda r: r["start"])
    if not dropped:
        if all(r.get("task") == "translate" for r in rows):
            return "translate"
        if all(r.get("pii_spans") for r in rows):
            return "redacted"
        return "kept"
    in_stage = [r for r in dropped if r["reject_stage"] == planted.stage]
    return (in_stage or dropped)[0]["reject_reason"]


def check_cases(run_dir: Path, planted: Sequence[Any]) -> list[CaseResult]:
    plan = _read(run_dir / "plan/segments.parquet")
    rejects = _read(run_dir / "manifest/rejects.parquet")
    return [CaseResult(p.stem, p.stage, p.outcome, case_outcome(p, plan, rejects), p.what)
            for p in planted]


def stage_lines(run_dir: Path) -> list[str]:
    """One line per stage that dropped or changed something, from the run's outputs."""
    plan = _read(run_dir / "plan/segments.parquet")
    rejects = _read(run_dir / "manifest/rejects.parquet")
    dropped: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rejects:
        dropped[r["stage"] or "?"][r["reason"]] += 1
    kept = [r for r in plan if r["keep"]]
    lines = []
    for stage in sorted(dropped, key=lambda s: (STAGE_ORDER.index(s)
                                                if s in STAGE_ORDER else 99, s)):
        reasons = ", ".join(f"{n} {reason}" for reason, n in dropped[stage].most_common())
        lines.append(f"{stage}: dropped {sum(dropped[stage].values())} ({reasons})")
    sources = Counter(r.get("label_source") or "?" for r in kept)
    if kept:
        lines.append("label: kept labels from " + ", ".join(
            f"{n} {src}" for src, n in sources.most_common()))
    redacted = [r for r in kept if r.get("pii_spans")]
    if redacted:
        spans = sum(len(r["pii_spans"]) for r in redacted)
        types = Counter(str(s.get("type") or s.get("pii_type") or "?")
                        for r in redacted for s in r["pii_spans"])
        lines.append(f"privacy: {spans} span(s) redacted in {len(redacted)} segment(s) ("
                     + ", ".join(f"{n} {t}" for t, n in types.most_common())
                     + "): placeholders in the text, audio muted")
    tiers = Counter(r.get("quality_tier") or "-" for r in kept)
    if kept:
        lines.append("quality: kept tiers " + ", ".join(
            f"{t} {tiers[t]}" for t in ("high", "medium", "low", "-") if tiers[t]))
    return lines


def hours_by_language_and_tier(run_dir: Path) -> list[str]:
    plan = _read(run_dir / "plan/segments.parquet")
    minutes: dict[str, Counter[str]] = defaultdict(Counter)
    for r in plan:
        if r["keep"]:
            minutes[r.get("language") or "?"][r.get("quality_tier") or "-"] += \
                float(r["duration"]) / 60
    return [f"{lang}: {sum(t.values()):.1f} min (" + ", ".join(
        f"{tier} {m:.1f}" for tier, m in sorted(t.items())) + ")"
        for lang, t in sorted(minutes.items())]


def render(run_dir: Path, strict_config: Path, planted: Sequence[Any], wall_s: float) -> str:
    stats = json.loads((run_dir / "stats.json").read_text()) if \
        (run_dir / "stats.json").is_file() else {}
    kept = stats.get("kept", {})
    lines = ["", "=" * 72, "What the demo did",
             f"  kept {kept.get('segments', 0)} segments, "
             f"{kept.get('hours', 0.0) * 60:.1f} min of speech; minutes per language and tier:"]
    lines += [f"    {line}" for line in hours_by_language_and_tier(run_dir)]
    lines.append("  per stage:")
    lines += [f"    {line}" for line in stage_lines(run_dir)]
    ssl = stats.get("ssl") or {}
    if ssl.get("enabled"):
        why = ", ".join(f"{v['segments']} {k}" for k, v in ssl.get("by_reason", {}).items())
        lines.append(f"  ssl/: {ssl.get('segments', 0)} dropped segment(s), "
                     f"{ssl.get('hours', 0.0) * 60:.1f} min, whose audio is clean and only the "
                     f"label untrusted ({why or 'none'}): audio-only shards for "
                     "self-supervised pretraining")
    results = check_cases(run_dir, planted)
    good = sum(r.ok for r in results)
    lines.append(f"  planted cases: {good} of {len(results)} behaved as expected")
    for r in results:
        mark = "ok  " if r.ok else "DIFF"
        got = "" if r.ok else f" (expected {r.expected}, got {r.actual})"
        lines.append(f"    {mark} {r.stage:<8} {r.stem:<20} {r.actual}{got}: {r.what}")
    lines += [
        "  try next:",
        f"    speechcurate refilter {run_dir} --config {strict_config} --out {run_dir}-strict",
        "        (the same analysis, stricter DNSMOS cut: decide + publish again in seconds)",
        f"    speechcurate verify {run_dir}",
        f"    open {run_dir / 'report/index.html'}",
        f"  demo wall time: {wall_s:.0f} s",
        "=" * 72,
    ]
    return "\n".join(lines)
