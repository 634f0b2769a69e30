"""Build ``RUN/report/index.html`` from a run directory alone (stats, manifests, shards).

The page is one self-contained file: plotly.js inlined once, audio as data URIs, tables sorted
client-side by a few lines of inline JavaScript. It is built from aggregates and seeded samples
only, so its size and opening time do not depend on how many segments the run kept.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

import jinja2

from pipelines.config_base import check
from pipelines.io import join, write_text_atomic
from pipelines.report import aggregate, clusters, figures, runfiles, samples

log = logging.getLogger(__name__)

HEADLINE_COMPARE_KEYS = ["hours_in", "hours_kept", "hours_dropped", "segments_kept",
                         "recordings_kept", "rejects", "languages", "sources", "shards", "wall_s"]
GROUPINGS = (("language", "Hours by language"), ("source_name", "Hours by source"),
             ("licence", "Hours by licence"), ("label_source", "Hours by label source"))


@dataclass(frozen=True)
class ReportConfig:
    """How much the report samples and how it bins; the defaults suit any run size."""

    seed: int = 0  # seed of every random sample on the page (same run + seed = same page)
    kept_samples: int = 12  # kept segments shown with audio
    reject_rows_per_reason: int = 20  # reject rows listed under each drop reason
    reject_audio_per_reason: int = 3  # dropped segments per reason shown with audio
    threshold_samples: int = 2  # kept and dropped segments nearest each threshold, with audio
    clip_seconds: float = 6.0  # each embedded clip is cut to this many seconds
    histogram_bins: int = 40  # bins of each distribution
    top_groups: int = 25  # rows per "hours by ..." table before the rest becomes "(other)"
    dedup_clusters_per_kind: int = 3  # largest audio and text clusters shown with players
    dedup_members_shown: int = 3  # members of each shown cluster with audio (kept first)

    def validate(self, where: str = "report") -> None:
        for name in ("kept_samples", "reject_rows_per_reason", "reject_audio_per_reason",
                     "threshold_samples", "dedup_clusters_per_kind",
                     "dedup_members_shown"):
            check(getattr(self, name) >= 0, f"{where}.{name}", "must be >= 0")
        check(0 < self.clip_seconds <= 60, f"{where}.clip_seconds", "must be in (0, 60]")
        check(2 <= self.histogram_bins <= 500, f"{where}.histogram_bins", "must be in [2, 500]")
        check(self.top_groups >= 1, f"{where}.top_groups", "must be >= 1")


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pipelines", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["hours"] = fmt_hours
    env.filters["num"] = fmt_num
    env.filters["bytes"] = fmt_bytes
    env.filters["slug"] = slug
    return env


def fmt_hours(h: float | None) -> str:
    """Hours for people: minutes below one hour, two decimals above."""
    if h is None:
        return "not recorded"
    if abs(h) < 1:
        return f"{h * 60:.1f} min"
    return f"{h:,.2f} h"


def fmt_num(x: Any, digits: int = 3) -> str:
    if x is None:
        return "not recorded"
    if isinstance(x, float) and not x.is_integer():
        return f"{x:.{digits}g}" if abs(x) < 1000 else f"{x:,.0f}"
    return f"{int(x):,}" if isinstance(x, int | float) else str(x)


def fmt_bytes(b: float | None) -> str:
    if b is None:
        return "not recorded"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(b) < 1000 or unit == "TB":
            return f"{b:,.0f} {unit}" if unit == "B" else f"{b:,.1f} {unit}"
        b /= 1000
    return str(b)


def slug(s: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(s)).strip("-") or "x"


def _summarise(data: runfiles.RunData, cfg: ReportConfig) -> dict[str, Any]:
    """Every aggregate of one run that the page (or a comparison) needs."""
    return {
        "headline": aggregate.headline(data.stats, data.segments, data.rejects, data.shards),
        "reasons": aggregate.reasons_table(data.rejects),
        "funnel": aggregate.funnel(data.stats, data.rejects),
        "groups": [(col, title, aggregate.hours_by(data.segments, data.rejects, col,
                                                   top=cfg.top_groups))
                   for col, title in GROUPINGS],
        "distributions": aggregate.distributions(data.segments, data.rejects,
                                                 bins=cfg.histogram_bins,
                                                 plan_dropped=data.plan_dropped),
        "thresholds": data.stats.get("thresholds") or {},
        "dedup": aggregate.dedup(data.segments, data.rejects),
        "pii": aggregate.pii_counts(data.segments, data.rejects),
        "translations": aggregate.translation_pairs(data.segments, data.rejects,
                                                    bins=cfg.histogram_bins),
    }


def _plots(summary: dict[str, Any]) -> dict[str, str]:
    """HTML fragments of every figure, keyed by a stable id."""
    out: dict[str, str] = {}
    stages = summary["funnel"]
    if any(s.in_hours is not None or s.out_hours is not None for s in stages):
        out["funnel"] = figures.to_div(figures.funnel_figure(stages), "plot-funnel")
    if summary["reasons"].height:
        height = 140 + 24 * summary["reasons"].height
        out["reasons"] = figures.to_div(figures.reasons_figure(summary["reasons"]),
                                        "plot-reasons", height=min(900, height))
    for col, title, df in summary["groups"]:
        if df.height:
            out[f"by-{col}"] = figures.to_div(figures.hours_by_figure(df, col, title),
                                              f"plot-by-{slug(col)}")
    for col, title, unit, hist in summary["distributions"]:
        if hist is not None:
            lines = [tuple(line) for line in summary["thresholds"].get(col, [])]
            fig = figures.histogram_figure(hist, title, unit, share=len(hist.counts) > 1,
                                           lines=lines)
            out[f"dist-{col}"] = figures.to_div(fig, f"plot-dist-{slug(col)}")
    if summary["dedup"] is not None and summary["dedup"].size_counts:
        out["dedup"] = figures.to_div(figures.dedup_figure(summary["dedup"]), "plot-dedup")
    if summary["pii"].height:
        out["pii"] = figures.to_div(figures.pii_figure(summary["pii"]), "plot-pii")
    if summary["translations"][1] is not None:
        fig = figures.histogram_figure(summary["translations"][1],
                                       "Translation pairs: English text vs audio (PMI)",
                                       "nats/token")
        out["translations"] = figures.to_div(fig, "plot-translations")
    return out


def _comparison(a: runfiles.RunData, sa: dict[str, Any], b: runfiles.RunData,
                sb: dict[str, Any], cfg: ReportConfig) -> dict[str, Any]:
    """What changed between this run (A) and another (B): headline, reasons, languages and
    the kept distributions on shared bins."""
    reasons = aggregate.compare_frames(sa["reasons"], sb["reasons"], ["stage", "reason"], "count")
    by_lang_a = next(df for col, _, df in sa["groups"] if col == "language")
    by_lang_b = next(df for col, _, df in sb["groups"] if col == "language")
    languages = aggregate.compare_frames(by_lang_a, by_lang_b, ["language"], "kept_hours")
    plots: dict[str, str] = {}
    if languages.height:
        plots["cmp-language"] = figures.to_div(
            figures.compare_bars_figure(languages, "language", "Kept hours by language", "hours"),
            "plot-cmp-language")
    dists = []
    for column, title, unit in aggregate.MEASURES:
        hist = aggregate.histogram(
            {"A": aggregate.measure_series(a.segments, column),
             "B": aggregate.measure_series(b.segments, column)}, bins=cfg.histogram_bins)
        if hist is not None:
            plots[f"cmp-{column}"] = figures.to_div(
                figures.histogram_figure(hist, f"{title}: kept, A vs B", unit, share=True),
                f"plot-cmp-{slug(column)}")
        dists.append((column, title, hist))
    return {
        "run_dir": b.run_dir, "missing": b.missing,
        "headline": aggregate.compare_table(sa["headline"], sb["headline"],
                                            HEADLINE_COMPARE_KEYS),
        "reasons": reasons.to_dicts(), "languages": languages.to_dicts(),
        "distributions": dists, "plots": plots,
    }


def render(run_dir: str, compare: str | None = None,
           config: ReportConfig | None = None) -> str:
    """The report page of ``run_dir`` (optionally compared with ``compare``) as HTML text."""
    cfg = config or ReportConfig()
    cfg.validate()
    data = runfiles.load_run(run_dir)
    summary = _summarise(data, cfg)
    plan = clusters.read_plan(data.run_dir)  # dedup clusters, kept and dropped members alike
    if plan is not None and plan.height:
        summary["dedup"] = aggregate.dedup_from_plan(plan)
    plots = _plots(summary)
    comparison = None
    if compare:
        other = runfiles.load_run(compare)
        comparison = _comparison(data, summary, other, _summarise(other, cfg), cfg)
        plots.update(comparison["plots"])
    reject_samples = samples.reject_samples(
        data, cfg.reject_rows_per_reason, cfg.reject_audio_per_reason, cfg.seed, cfg.clip_seconds)
    kept = samples.kept_samples(data, cfg.kept_samples, cfg.seed, cfg.clip_seconds)
    near = samples.threshold_samples(data, summary["thresholds"], cfg.threshold_samples,
                                     cfg.clip_seconds)
    dedup_clusters = clusters.clusters(data.run_dir, data.stats, plan,
                                       per_kind=cfg.dedup_clusters_per_kind,
                                       members=cfg.dedup_members_shown,
                                       max_seconds=cfg.clip_seconds)
    context = {
        "run_dir": data.run_dir, "missing": data.missing, "cfg": cfg,
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "h": summary["headline"],
        "funnel": summary["funnel"],
        "reasons": summary["reasons"].to_dicts(),
        "groups": [(col, title, df.to_dicts()) for col, title, df in summary["groups"]],
        "distributions": summary["distributions"],
        "thresholds": summary["thresholds"], "near_threshold": near,
        "dedup": summary["dedup"],
        "dedup_stats": data.stats.get("dedup"), "dedup_clusters": dedup_clusters,
        "pii": summary["pii"].to_dicts(),
        "privacy": data.stats.get("privacy") or {},
        "translations": summary["translations"][0].to_dicts(),
        "ssl": {"enabled": False, **(data.stats.get("ssl") or {})},  # runs before curate.ssl
        "sources_quality": data.stats.get("sources_quality") or {},
        "kept_samples": kept, "reject_samples": reject_samples,
        "plots": plots, "comparison": comparison,
        "plotlyjs": figures.plotlyjs(), "plotly_config": figures.config_json(),
    }
    return _env().get_template("report.html.j2").render(**context)


def build_report(run_dir: str, compare: str | None = None,
                 config: ReportConfig | None = None) -> str:
    """Write ``RUN/report/index.html`` for ``run_dir`` and return its path (or URL)."""
    html = render(run_dir, compare=compare, config=config)
    out = join(run_dir.rstrip("/"), "report", "index.html")
    write_text_atomic(out, html)
    log.info("report: wrote %s (%d kB)", out, len(html) // 1000)
    return out
