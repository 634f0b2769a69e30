"""Aggregations behind every number and figure of the report: pure functions over DataFrames.

The report never ships rows, only what these functions return: totals, group-bys, pre-binned
histograms and small seeded samples. That keeps the page a fixed size whatever the run size,
and lets the tests check each number against the manifests directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from schemas.reasons import Stage

UNKNOWN = "(unknown)"
OTHER = "(other)"
SECONDS_PER_HOUR = 3600.0

# (column, title, unit) of each distribution plotted; kept and dropped overlaid where both exist.
MEASURES: tuple[tuple[str, str, str], ...] = (
    ("duration", "Segment duration", "s"),
    ("snr_db", "Signal-to-noise ratio", "dB"),
    ("dnsmos", "DNSMOS (overall)", "MOS"),
    ("loudness_lufs", "Loudness", "LUFS"),
    ("chars_per_second", "Characters per second", "chars/s"),
    ("cer", "Label agreement (CER, source text vs pseudo-label)", "CER"),
    ("language_prob", "Language ID probability", "p"),
)
STAGE_ORDER = {s.value: i for i, s in enumerate(Stage)}


def _empty(df: pl.DataFrame | None) -> bool:
    return df is None or df.height == 0


def _get(d: Any, *path: str) -> Any:
    """``d[path[0]][path[1]]...`` or None when any step is missing or not a mapping."""
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def _sum_field(items: list[Any], key: str) -> float:
    return sum(_num(_get(i, key)) or 0 for i in items)


def total_hours(df: pl.DataFrame | None) -> float:
    """Sum of ``duration`` in hours (0 for a missing frame or column)."""
    if _empty(df) or "duration" not in df.columns:
        return 0.0
    return float(df["duration"].fill_null(0.0).sum() or 0.0) / SECONDS_PER_HOUR


def _n_unique(df: pl.DataFrame | None, column: str) -> int:
    if _empty(df) or column not in df.columns:
        return 0
    col = df[column].drop_nulls()
    if col.dtype == pl.String:
        col = col.filter(col != "")
    return int(col.n_unique())


def headline(
    stats: dict[str, Any], segments: pl.DataFrame | None, rejects: pl.DataFrame | None,
    shards: dict[str, Any],
) -> dict[str, Any]:
    """The page's top box. Kept figures come from the manifests (the source of truth); input
    and run facts from stats.json; anything unrecorded is None."""
    shardlist = shards.get("shardlist") if isinstance(shards.get("shardlist"), list) else None
    run = _get(stats, "run")
    run = run if isinstance(run, dict) else {}
    versions = run.get("versions") if isinstance(run.get("versions"), dict) else {}
    return {
        "hours_in": _num(_get(stats, "input", "hours")),
        "recordings_in": _num(_get(stats, "input", "recordings")),
        "hours_kept": total_hours(segments) if segments is not None
        else _num(_get(stats, "kept", "hours")),
        "segments_kept": segments.height if segments is not None
        else _num(_get(stats, "kept", "segments")),
        "recordings_kept": _n_unique(segments, "recording_id"),
        "hours_dropped": total_hours(rejects),
        "rejects": rejects.height if rejects is not None else _num(_get(stats, "rejects", "count")),
        "languages": _n_unique(segments, "language"),
        "sources": _n_unique(segments, "source_name"),
        "shards": len(shardlist) if shardlist is not None else _num(_get(stats, "shards", "count")),
        "shard_bytes": _sum_field(shardlist, "filesize") if shardlist is not None
        else _num(_get(stats, "shards", "bytes")),
        "shard_samples": _sum_field(shardlist, "nsamples") if shardlist is not None else None,
        "wall_s": _num(run.get("wall_s")),
        "runner": run.get("runner"),
        "config_hash": run.get("config_hash"),
        "asr_model": run.get("asr_model"),
        "compute_type": run.get("compute_type"),
        "started_at": run.get("started_at"),
        "finished_at": run.get("finished_at"),
        "versions": {str(k): str(v) for k, v in sorted(versions.items())},
    }


def reasons_table(rejects: pl.DataFrame | None) -> pl.DataFrame:
    """One row per (stage, reason): count and hours dropped, largest first."""
    schema = {"stage": pl.String, "reason": pl.String, "count": pl.Int64, "hours": pl.Float64}
    if _empty(rejects):
        return pl.DataFrame(schema=schema)
    df = rejects.with_columns(
        pl.col("stage").fill_null(UNKNOWN) if "stage" in rejects.columns
        else pl.lit(UNKNOWN).alias("stage"),
        pl.col("reason").fill_null(UNKNOWN),
        pl.col("duration").fill_null(0.0) if "duration" in rejects.columns
        else pl.lit(0.0).alias("duration"),
    )
    out = df.group_by("stage", "reason").agg(
        pl.len().cast(pl.Int64).alias("count"),
        (pl.col("duration").sum() / SECONDS_PER_HOUR).alias("hours"),
    )
    return out.sort(["count", "stage", "reason"], descending=[True, False, False]).cast(schema)


@dataclass(frozen=True)
class FunnelStage:
    """One stage of the funnel; in/out are None when stats.json did not record them."""

    stage: str
    unit: str
    in_count: float | None
    in_hours: float | None
    out_count: float | None
    out_hours: float | None
    reasons: tuple[tuple[str, int, float], ...]  # (reason, count, hours), largest first


def funnel(stats: dict[str, Any], rejects: pl.DataFrame | None) -> list[FunnelStage]:
    """Stages in pipeline order with what entered, what left, and every drop reason.

    Drop reasons and their counts come from rejects.parquet (every reject is there); stats.json
    adds the in/out volumes. Stages that only one of the two knows are still listed.
    """
    by_stage: dict[str, list[tuple[str, int, float]]] = {}
    for row in reasons_table(rejects).iter_rows(named=True):
        by_stage.setdefault(row["stage"], []).append((row["reason"], row["count"], row["hours"]))
    stages: list[FunnelStage] = []
    seen: set[str] = set()
    recorded = _get(stats, "stages")
    for entry in recorded if isinstance(recorded, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("stage"), str):
            continue
        name = entry["stage"]
        reasons = by_stage.get(name)
        if reasons is None:  # no rejects manifest rows: fall back to the stats' own counts
            rej = entry.get("rejected") if isinstance(entry.get("rejected"), dict) else {}
            reasons = sorted(
                ((str(r), int(_num(_get(v, "count")) or 0), _num(_get(v, "hours")) or 0.0)
                 for r, v in rej.items()),
                key=lambda t: (-t[1], t[0]),
            )
        seen.add(name)
        stages.append(FunnelStage(
            stage=name, unit=str(entry.get("unit") or ""),
            in_count=_num(_get(entry, "in", "count")), in_hours=_num(_get(entry, "in", "hours")),
            out_count=_num(_get(entry, "out", "count")),
            out_hours=_num(_get(entry, "out", "hours")),
            reasons=tuple(reasons),
        ))
    extra = sorted(set(by_stage) - seen, key=lambda s: (STAGE_ORDER.get(s, 99), s))
    for name in extra:
        stages.append(FunnelStage(name, "", None, None, None, None, tuple(by_stage[name])))
    return stages


def hours_by(
    segments: pl.DataFrame | None, rejects: pl.DataFrame | None, column: str, top: int = 25
) -> pl.DataFrame:
    """Kept and dropped segments and hours per value of ``column``, largest kept first.

    Values beyond the ``top`` largest are folded into one ``(other)`` row so a run with
    thousands of sources still gives a readable table. Dropped figures are 0 when the rejects
    manifest has no such column.
    """
    schema = {
        column: pl.String, "kept_segments": pl.Int64, "kept_hours": pl.Float64,
        "dropped_segments": pl.Int64, "dropped_hours": pl.Float64,
    }

    def grouped(df: pl.DataFrame | None, prefix: str) -> pl.DataFrame:
        if _empty(df) or column not in df.columns:
            return pl.DataFrame(schema={column: pl.String, f"{prefix}_segments": pl.Int64,
                                        f"{prefix}_hours": pl.Float64})
        key = pl.col(column).cast(pl.String).fill_null("")
        key = pl.when(key == "").then(pl.lit(UNKNOWN)).otherwise(key).alias(column)
        dur = pl.col("duration").fill_null(0.0) if "duration" in df.columns else pl.lit(0.0)
        return df.group_by(key).agg(
            pl.len().cast(pl.Int64).alias(f"{prefix}_segments"),
            (dur.sum() / SECONDS_PER_HOUR).cast(pl.Float64).alias(f"{prefix}_hours"),
        )

    kept, dropped = grouped(segments, "kept"), grouped(rejects, "dropped")
    out = kept.join(dropped, on=column, how="full", coalesce=True).with_columns(
        pl.col("kept_segments", "dropped_segments").fill_null(0),
        pl.col("kept_hours", "dropped_hours").fill_null(0.0),
    )
    out = out.sort(["kept_hours", "dropped_hours", column], descending=[True, True, False])
    if out.height > top:
        head, tail = out.head(top), out.slice(top)
        rest = tail.select(
            pl.lit(OTHER).alias(column),
            *(pl.col(c).sum() for c in schema if c != column),
        )
        out = pl.concat([head, rest.cast(schema)], how="vertical")
    return out.select(list(schema)).cast(schema)


@dataclass(frozen=True)
class Histogram:
    """Counts of several named series on shared bins (values outside the range are clipped
    into the end bins, so nothing is silently lost)."""

    edges: tuple[float, ...]
    counts: dict[str, tuple[int, ...]]
    n: dict[str, int]  # non-null values per series
    nulls: dict[str, int]  # missing values per series
    medians: dict[str, float | None]

    @property
    def centers(self) -> list[float]:
        e = self.edges
        return [(e[i] + e[i + 1]) / 2 for i in range(len(e) - 1)]


def _finite(s: pl.Series | None) -> np.ndarray:
    if s is None or s.len() == 0:
        return np.empty(0)
    arr = s.cast(pl.Float64, strict=False).drop_nulls().to_numpy()
    return arr[np.isfinite(arr)]


def histogram(
    series: dict[str, pl.Series | None], bins: int = 40, clip_quantile: float = 0.005
) -> Histogram | None:
    """Shared-bin histogram of the given series, or None when none has a finite value.

    The range spans the ``clip_quantile``..``1-clip_quantile`` quantiles of all values together,
    so one absurd outlier cannot squash every other bar into one.
    """
    values = {name: _finite(s) for name, s in series.items()}
    pooled = np.concatenate([v for v in values.values()]) if values else np.empty(0)
    if pooled.size == 0:
        return None
    lo, hi = np.quantile(pooled, [clip_quantile, 1.0 - clip_quantile])
    if pooled.size < 200:
        lo, hi = float(pooled.min()), float(pooled.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    counts, n, nulls, medians = {}, {}, {}, {}
    for name, vals in values.items():
        c, _ = np.histogram(np.clip(vals, lo, hi), bins=edges)
        counts[name] = tuple(int(x) for x in c)
        n[name] = int(vals.size)
        s = series[name]
        nulls[name] = 0 if s is None else int(s.len() - vals.size)
        medians[name] = float(np.median(vals)) if vals.size else None
    return Histogram(tuple(float(e) for e in edges), counts, n, nulls, medians)


def measure_series(df: pl.DataFrame | None, column: str) -> pl.Series | None:
    """The values of a measure in a manifest, derived where the manifest lacks the column
    (a reject's characters per second from its text length and duration)."""
    if _empty(df):
        return None
    if column in df.columns:
        return df[column]
    if column == "chars_per_second" and {"text_chars", "duration"} <= set(df.columns):
        sub = df.filter((pl.col("duration") > 0) & (pl.col("text_chars") > 0))
        return (sub["text_chars"].cast(pl.Float64) / sub["duration"]).alias(column)
    return None


def distributions(
    segments: pl.DataFrame | None, rejects: pl.DataFrame | None, bins: int = 40,
    plan_dropped: pl.DataFrame | None = None,
) -> list[tuple[str, str, str, Histogram | None]]:
    """(column, title, unit, histogram of kept vs dropped) for each of :data:`MEASURES`.

    Dropped values come from the plan's dropped rows when the run has a plan (every measure of
    every candidate), else from the rejects manifest where it carries the measure."""
    out = []
    for column, title, unit in MEASURES:
        series = {"kept": measure_series(segments, column)}
        dropped = measure_series(plan_dropped, column)
        if dropped is None or not _finite(dropped).size:
            dropped = measure_series(rejects, column)
        if dropped is not None and _finite(dropped).size:
            series["dropped"] = dropped
        out.append((column, title, unit, histogram(series, bins=bins)))
    return out


@dataclass(frozen=True)
class Dedup:
    """Duplicate clusters: how many of each size, and the largest with their members."""

    size_counts: tuple[tuple[int, int], ...]  # (cluster size, number of clusters)
    # (cluster id, size, kept member ids, dropped member ids), largest first
    largest: tuple[tuple[str, int, tuple[str, ...], tuple[str, ...]], ...]
    duplicates_dropped: int
    duplicates_without_cluster: int


def dedup(
    segments: pl.DataFrame | None, rejects: pl.DataFrame | None, top: int = 10,
    members_shown: int = 12,
) -> Dedup | None:
    """Clusters from ``dedup_cluster`` of kept segments plus the dropped duplicates that name
    their cluster (a ``dedup_cluster`` column in the rejects, else a cluster id or a kept
    member's segment id mentioned in the reject's ``detail``). None when nothing was clustered.
    """
    frames = []
    clusters = pl.DataFrame(schema={"cluster": pl.String, "segment_id": pl.String})
    if not _empty(segments) and "dedup_cluster" in segments.columns:
        clusters = segments.select(
            pl.col("dedup_cluster").alias("cluster"), "segment_id"
        ).filter(pl.col("cluster").is_not_null() & (pl.col("cluster") != ""))
        frames.append(clusters.select("cluster", pl.col("segment_id").alias("member"),
                                      pl.lit(True).alias("kept")))
    dups = pl.DataFrame()
    if not _empty(rejects):
        dups = rejects.filter(pl.col("reason") == "duplicate")
    matched = 0
    if dups.height:
        if "dedup_cluster" in dups.columns:
            named = dups.filter(pl.col("dedup_cluster").fill_null("") != "").select(
                pl.col("dedup_cluster").alias("cluster"), pl.col("id").alias("member"))
        elif "detail" in dups.columns and clusters.height:
            tokens = dups.select(
                pl.col("id").alias("member"),
                pl.col("detail").fill_null("").str.extract_all(r"[A-Za-z0-9_-]+").alias("tok"),
            ).explode("tok")
            by_cluster = tokens.join(clusters.select("cluster").unique(), left_on="tok",
                                     right_on="cluster", how="inner").select(
                pl.col("tok").alias("cluster"), "member")
            by_member = tokens.join(clusters, left_on="tok", right_on="segment_id",
                                    how="inner").select("cluster", "member")
            named = pl.concat([by_cluster, by_member]).unique(subset="member", keep="first",
                                                              maintain_order=True)
        else:
            named = pl.DataFrame(schema={"cluster": pl.String, "member": pl.String})
        matched = named.height
        frames.append(named.select("cluster", "member", pl.lit(False).alias("kept")))
    if not frames or sum(f.height for f in frames) == 0:
        return None if not dups.height else Dedup((), (), dups.height, dups.height - matched)
    members = pl.concat(frames, how="vertical")
    sizes = members.group_by("cluster").agg(pl.len().alias("size"))
    size_counts = sizes.group_by("size").agg(pl.len().alias("n")).sort("size")
    big = sizes.sort(["size", "cluster"], descending=[True, False]).head(top)
    largest = []
    for cluster, size in big.iter_rows():
        m = members.filter(pl.col("cluster") == cluster).sort("member")
        kept = tuple(m.filter(pl.col("kept"))["member"].head(members_shown).to_list())
        dropped = tuple(m.filter(~pl.col("kept"))["member"].head(members_shown).to_list())
        largest.append((cluster, int(size), kept, dropped))
    return Dedup(
        size_counts=tuple((int(s), int(n)) for s, n in size_counts.iter_rows()),
        largest=tuple(largest), duplicates_dropped=dups.height,
        duplicates_without_cluster=dups.height - matched,
    )


def dedup_from_plan(plan: pl.DataFrame | None, top: int = 10,
                    members_shown: int = 12) -> Dedup | None:
    """Clusters from the plan's ``dedup_cluster`` (space-separated audio ``a-`` and text ``t-``
    cluster ids, on kept and dropped candidates alike). None when nothing was clustered."""
    if _empty(plan) or "dedup_cluster" not in plan.columns:
        return None
    members = (plan.filter(pl.col("dedup_cluster").fill_null("") != "")
               .select(pl.col("dedup_cluster").str.split(" ").alias("cluster"),
                       pl.col("segment_id").alias("member"), pl.col("keep").alias("kept"))
               .explode("cluster"))
    if members.height == 0:
        return None
    sizes = members.group_by("cluster").agg(pl.len().alias("size"))
    size_counts = sizes.group_by("size").agg(pl.len().alias("n")).sort("size")
    largest = []
    for cluster, size in sizes.sort(["size", "cluster"], descending=[True, False]).head(
            top).iter_rows():
        m = members.filter(pl.col("cluster") == cluster).sort("member")
        largest.append((cluster, int(size),
                        tuple(m.filter(pl.col("kept"))["member"].head(members_shown).to_list()),
                        tuple(m.filter(~pl.col("kept"))["member"].head(members_shown).to_list())))
    dropped = plan.filter(~pl.col("keep") & pl.col("reject_reason").is_in(
        ["near_duplicate_audio", "repeated_text"])).height
    return Dedup(size_counts=tuple((int(s), int(n)) for s, n in size_counts.iter_rows()),
                 largest=tuple(largest), duplicates_dropped=dropped, duplicates_without_cluster=0)


def pii_counts(segments: pl.DataFrame | None, rejects: pl.DataFrame | None) -> pl.DataFrame:
    """PII found, by type and action: spans ``redacted`` (or ``kept``, per the span's action)
    in kept segments (from ``pii_spans``) and segments ``dropped`` for PII (type = first word of
    the reject's detail)."""
    schema = {"type": pl.String, "action": pl.String, "count": pl.Int64}
    frames = []
    if not _empty(segments) and "pii_spans" in segments.columns:
        spans = segments.select(pl.col("pii_spans")).explode("pii_spans").drop_nulls()
        if spans.height:
            fields = {f.name for f in spans.schema["pii_spans"].fields}
            action = (pl.col("pii_spans").struct.field("action")
                      .replace_strict({"keep": "kept"}, default="redacted")
                      if "action" in fields else pl.lit("redacted"))
            frames.append(spans.select(
                pl.col("pii_spans").struct.field("type").fill_null(UNKNOWN).alias("type"),
                action.alias("action")))
    if not _empty(rejects):
        dropped = rejects.filter(pl.col("reason") == "pii")
        if dropped.height:
            detail = (pl.col("detail").fill_null("") if "detail" in dropped.columns
                      else pl.lit(""))
            typ = detail.str.to_lowercase().str.extract(r"([a-z][a-z_]*)", 1)
            frames.append(dropped.select(typ.fill_null("unspecified").alias("type"),
                                         pl.lit("dropped").alias("action")))
    if not frames:
        return pl.DataFrame(schema=schema)
    df = pl.concat(frames, how="vertical")
    out = df.group_by("type", "action").agg(pl.len().cast(pl.Int64).alias("count"))
    return out.sort(["count", "type", "action"], descending=[True, False, False]).cast(schema)


def sample_ids(df: pl.DataFrame | None, id_column: str, n: int, seed: int) -> list[str]:
    """A seeded random sample of ids, in id order (same run + seed gives the same sample)."""
    if _empty(df) or id_column not in df.columns or n <= 0:
        return []
    ids = df[id_column].drop_nulls().sort()
    if ids.len() > n:
        ids = ids.sample(n=n, seed=seed).sort()
    return ids.to_list()


def sample_ids_by(
    df: pl.DataFrame | None, id_column: str, group: str, n: int, seed: int
) -> dict[str, list[str]]:
    """Up to ``n`` seeded sample ids per value of ``group`` (e.g. per drop reason)."""
    if _empty(df) or group not in df.columns:
        return {}
    out = {}
    for (key,), part in sorted(df.group_by(group), key=lambda kv: str(kv[0][0])):
        out[str(key)] = sample_ids(part, id_column, n, seed)
    return out


def compare_table(a: dict[str, Any], b: dict[str, Any], keys: list[str]) -> list[dict[str, Any]]:
    """Rows of ``key, a, b, delta`` for the numeric headline figures of two runs."""
    rows = []
    for key in keys:
        va, vb = _num(a.get(key)), _num(b.get(key))
        rows.append({"key": key, "a": va, "b": vb,
                     "delta": None if va is None or vb is None else va - vb})
    return rows


def compare_frames(a: pl.DataFrame, b: pl.DataFrame, on: list[str], value: str) -> pl.DataFrame:
    """``on`` + ``value`` of run A and of run B side by side with the difference A - B."""
    left = a.select(*on, pl.col(value).alias("a"))
    right = b.select(*on, pl.col(value).alias("b"))
    out = left.join(right, on=on, how="full", coalesce=True).with_columns(
        pl.col("a", "b").fill_null(0))
    out = out.with_columns((pl.col("a") - pl.col("b")).alias("delta"))
    return out.sort(["delta", *on], descending=[True] + [False] * len(on))


def nearest_ids(df: pl.DataFrame | None, column: str, value: float, n: int,
                ids: Iterable[str] | None = None, id_column: str = "segment_id") -> list[str]:
    """Up to ``n`` ids whose ``column`` is closest to ``value`` (optionally among ``ids``);
    ties broken by id, so the page is reproducible."""
    if _empty(df) or column not in df.columns or n <= 0:
        return []
    sub = df.select(id_column, column).drop_nulls()
    if ids is not None:
        sub = sub.filter(pl.col(id_column).is_in(list(ids)))
    sub = sub.filter(pl.col(column).is_finite())
    sub = sub.with_columns((pl.col(column) - value).abs().alias("_gap")).sort(["_gap", id_column])
    return sub[id_column].head(n).to_list()


def translation_pairs(segments: pl.DataFrame | None, rejects: pl.DataFrame | None,
                      bins: int = 40) -> tuple[pl.DataFrame, Histogram | None]:
    """Translation pairs per language pair (``de-en``): kept pairs, their hours and their score
    against the audio (PMI, nats per token; median, min), and English texts rejected as
    ``translation_mismatch`` (score from the reject's ``detail``); plus the score histogram of
    kept vs rejected pairs."""
    schema = {"pair": pl.String, "kept": pl.Int64, "kept_hours": pl.Float64,
              "median_score": pl.Float64, "min_score": pl.Float64, "mismatch": pl.Int64,
              "median_mismatch_score": pl.Float64}
    frames = []
    if not _empty(segments) and {"label_source", "translation_score"} <= set(segments.columns):
        kept = segments.filter(pl.col("label_source") == "translation")
        frames.append(kept.select(
            (pl.col("language").fill_null("unknown") + "-en").alias("pair"),
            pl.col("translation_score").cast(pl.Float64).alias("score"),
            pl.col("duration").cast(pl.Float64), pl.lit(True).alias("kept")))
    if not _empty(rejects) and "detail" in rejects.columns:
        bad = rejects.filter(pl.col("reason") == "translation_mismatch")
        frames.append(bad.select(
            (pl.col("language").fill_null("unknown") + "-en").alias("pair"),
            pl.col("detail").fill_null("").str.extract(r"score=(-?[0-9.]+)", 1)
            .cast(pl.Float64, strict=False).alias("score"),
            pl.lit(0.0).alias("duration"), pl.lit(False).alias("kept")))
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame(schema=schema), None
    df = pl.concat(frames, how="vertical")
    kept_score = pl.col("score").filter(pl.col("kept"))
    bad_score = pl.col("score").filter(~pl.col("kept"))
    table = df.group_by("pair").agg(
        pl.col("kept").sum().cast(pl.Int64).alias("kept"),
        (pl.col("duration").filter(pl.col("kept")).sum() / SECONDS_PER_HOUR).alias("kept_hours"),
        kept_score.median().alias("median_score"), kept_score.min().alias("min_score"),
        (~pl.col("kept")).sum().cast(pl.Int64).alias("mismatch"),
        bad_score.median().alias("median_mismatch_score"),
    ).sort("pair").cast(schema)
    hist = histogram({"kept": df.filter(pl.col("kept"))["score"],
                      "dropped": df.filter(~pl.col("kept"))["score"]}, bins=bins)
    return table, hist
