"""Plotly figures of the report, each rendered as a ``<div>`` that uses the page's single copy
of plotly.js (inlined once in ``<head>``, so the page works offline and can be mailed).

Figures are drawn from aggregates only (pre-binned histograms, group-bys), never from rows, so
their size does not grow with the run. Each div carries its figure as JSON and the page draws it
when it scrolls near the viewport: drawing a dozen plots up front costs about a second, drawing
the visible two costs almost nothing.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl

from pipelines.report.aggregate import Dedup, FunnelStage, Histogram

COLORS = {"kept": "#2a7ab0", "dropped": "#d0542c", "A": "#2a7ab0", "B": "#8a8a8a",
          "in": "#9bbcd6", "out": "#2a7ab0"}
CONFIG = {"displaylogo": False, "responsive": True,
          "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


def plotlyjs() -> str:
    """The plotly.js bundle shipped with the plotly package (no CDN, no network)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def to_div(fig: go.Figure, div_id: str, height: int = 320) -> str:
    """A figure as a placeholder div holding its JSON; the page's script draws it lazily."""
    fig.update_layout(template="plotly_white", height=height,
                      margin={"l": 60, "r": 20, "t": 64, "b": 50},
                      title={"x": 0.01, "y": 0.97, "yanchor": "top", "font": {"size": 14}},
                      legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.0,
                              "yanchor": "bottom"})
    spec = html.escape(pio.to_json(fig, validate=False, pretty=False), quote=True)
    return (f'<div class="plotly-lazy" id="{html.escape(div_id)}" style="height:{height}px" '
            f'data-figure="{spec}"></div>')


def config_json() -> str:
    """The plotly config shared by every figure, for the page's drawing script."""
    import json

    return json.dumps(CONFIG)


def funnel_figure(stages: list[FunnelStage]) -> go.Figure:
    """Hours entering and leaving each stage (only stages whose volumes were recorded)."""
    known = [s for s in stages if s.in_hours is not None or s.out_hours is not None]
    fig = go.Figure()
    names = [s.stage for s in known]
    fig.add_bar(name="hours in", x=names, y=[s.in_hours for s in known],
                marker_color=COLORS["in"],
                customdata=[s.in_count for s in known],
                hovertemplate="%{x}: %{y:.3f} h in (%{customdata} items)<extra></extra>")
    fig.add_bar(name="hours out", x=names, y=[s.out_hours for s in known],
                marker_color=COLORS["out"],
                customdata=[s.out_count for s in known],
                hovertemplate="%{x}: %{y:.3f} h out (%{customdata} items)<extra></extra>")
    fig.update_layout(barmode="group", title="Hours entering and leaving each stage",
                      yaxis_title="hours")
    return fig


def reasons_figure(reasons: pl.DataFrame) -> go.Figure:
    """Dropped items per reason (bar length = count, hover shows hours)."""
    df = reasons.sort("count")
    labels = [f"{r} ({s})" for s, r in zip(df["stage"], df["reason"], strict=True)]
    fig = go.Figure(go.Bar(
        x=df["count"].to_list(), y=labels, orientation="h", marker_color=COLORS["dropped"],
        customdata=df["hours"].to_list(),
        hovertemplate="%{y}: %{x} dropped, %{customdata:.3f} h<extra></extra>",
    ))
    fig.update_layout(title="Dropped, by reason", xaxis_title="items dropped")
    return fig


def hours_by_figure(df: pl.DataFrame, column: str, title: str) -> go.Figure:
    """Kept and dropped hours per value of ``column`` (stacked)."""
    fig = go.Figure()
    x = df[column].to_list()
    fig.add_bar(name="kept", x=x, y=df["kept_hours"].to_list(), marker_color=COLORS["kept"],
                customdata=df["kept_segments"].to_list(),
                hovertemplate="%{x}: %{y:.3f} h kept (%{customdata} segments)<extra></extra>")
    if df["dropped_hours"].sum() > 0:
        fig.add_bar(name="dropped", x=x, y=df["dropped_hours"].to_list(),
                    marker_color=COLORS["dropped"], customdata=df["dropped_segments"].to_list(),
                    hovertemplate="%{x}: %{y:.3f} h dropped (%{customdata})<extra></extra>")
    fig.update_layout(barmode="stack", title=title, yaxis_title="hours")
    return fig


def histogram_figure(hist: Histogram, title: str, unit: str, share: bool = False,
                     lines: Sequence[tuple[float, str]] = ()) -> go.Figure:
    """Overlaid pre-binned histograms of the series in ``hist`` (kept vs dropped, or A vs B).

    ``share`` plots each series as a percentage of its own values, so runs (or kept and
    dropped) of different sizes compare by shape; ``lines`` marks the run's thresholds."""
    fig = go.Figure()
    width = (hist.edges[-1] - hist.edges[0]) / max(1, len(hist.edges) - 1)
    for name, counts in hist.counts.items():
        total = max(1, hist.n[name])
        y = [100.0 * c / total for c in counts] if share else list(counts)
        fmt = "%{y:.1f}%" if share else "%{y}"
        fig.add_bar(name=f"{name} (n={hist.n[name]})", x=hist.centers, y=y,
                    width=width, opacity=0.6, marker_color=COLORS.get(name, "#555"),
                    hovertemplate=f"{name}: {fmt} at %{{x:.3g}} {unit}<extra></extra>")
    for value, label in lines:
        fig.add_vline(x=value, line_dash="dash", line_color="#222", line_width=1.5,
                      annotation_text=label, annotation_position="top")
    fig.update_layout(barmode="overlay", title=title, xaxis_title=unit,
                      yaxis_title="% of segments" if share else "segments", bargap=0)
    return fig


def dedup_figure(d: Dedup) -> go.Figure:
    """How many duplicate clusters there are of each size."""
    fig = go.Figure(go.Bar(x=[s for s, _ in d.size_counts], y=[n for _, n in d.size_counts],
                           marker_color=COLORS["kept"],
                           hovertemplate="%{y} clusters of size %{x}<extra></extra>"))
    fig.update_layout(title="Duplicate cluster sizes", xaxis_title="members per cluster",
                      yaxis_title="clusters", xaxis={"type": "category"})
    return fig


def pii_figure(df: pl.DataFrame) -> go.Figure:
    """PII counts by type, one bar series per action (redacted / dropped)."""
    fig = go.Figure()
    for action in sorted(set(df["action"].to_list())):
        part = df.filter(pl.col("action") == action)
        fig.add_bar(name=action, x=part["type"].to_list(), y=part["count"].to_list())
    fig.update_layout(barmode="group", title="PII by type and action", yaxis_title="count")
    return fig


def compare_bars_figure(df: pl.DataFrame, label: str, title: str, unit: str) -> go.Figure:
    """Run A and run B side by side for each value of ``label``."""
    fig = go.Figure()
    x = df[label].to_list()
    fig.add_bar(name="A (this run)", x=x, y=df["a"].to_list(), marker_color=COLORS["A"])
    fig.add_bar(name="B (compared)", x=x, y=df["b"].to_list(), marker_color=COLORS["B"])
    fig.update_layout(barmode="group", title=title, yaxis_title=unit)
    return fig
