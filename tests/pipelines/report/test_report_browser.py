"""Open the report in a real headless Chromium: no JavaScript errors, every plot drawn (scrolled
into view, as they are drawn lazily) inside its cell, every audio element loads its metadata,
tables sort. The screenshot is kept under
``test-artifacts/`` for people to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from chromium_probe import Browser, chromium_path
from report_fixture_run import make_run

from pipelines.report import build_report

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"

# Plots are drawn as they scroll into view: bring the next undrawn one into view on each poll,
# and report ready once every plot is drawn and every audio element has its metadata.
READY_JS = """(() => {
  const next = document.querySelector("figure.plot:not(.drawn)");
  if (next) { next.scrollIntoView(); return false; }
  window.scrollTo(0, 0);
  const audio = [...document.querySelectorAll("audio")];
  return document.readyState === "complete" && audio.every(a => a.readyState >= 1 || a.error);
})()"""

PROBE_JS = """(() => {
  const figs = [...document.querySelectorAll("figure.plot")];
  const plots = figs.map(f => {
    const gd = f.querySelector(".js-plotly-plot");
    const svg = gd && gd.querySelector(".main-svg");
    return {id: f.dataset.plot, drawn: !!svg,
            traces: gd && gd.data ? gd.data.length : 0,
            points: gd && gd.data ? gd.data.reduce((n, t) => n + ((t.y || []).length), 0) : 0,
            svgWidth: svg ? +svg.getAttribute("width") : 0,
            cellWidth: f.getBoundingClientRect().width};
  });
  const audio = [...document.querySelectorAll("audio")].map(a => ({
    ready: a.readyState, error: a.error ? a.error.code : null, duration: a.duration}));
  // click "dropped" in the reasons table twice: descending by count
  const table = document.getElementById("table-reasons");
  const th = table.querySelectorAll("thead th")[2];
  th.click(); th.click();
  const counts = [...table.tBodies[0].rows].map(r => +r.cells[2].dataset.sort);
  return {expected: +document.body.dataset.plots, plots, audio, counts,
          sortState: th.getAttribute("aria-sort")};
})()"""


@pytest.mark.slow
def test_report_in_headless_chromium(tmp_path):
    exe = chromium_path()
    if exe is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium; `make setup` "
                    "installs it)")
    a = make_run(tmp_path / "a", n_segments=30, n_rejects=24, seed=1)
    b = make_run(tmp_path / "b", n_segments=20, n_rejects=12, seed=2, dnsmos=True)
    page = Path(build_report(str(a.path), compare=str(b.path)))

    browser = Browser(exe, timeout=60)
    try:
        result = browser.open_and_probe(page.as_uri(), PROBE_JS, READY_JS, settle_timeout=60,
                                        shots=("#distributions", "#samples", "#compare"))
    finally:
        browser.close()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report.png").write_bytes(result.screenshot_png)
    for selector, png in result.shots.items():
        (ARTIFACTS / f"report-{selector.strip('#')}.png").write_bytes(png)

    assert result.errors == []
    probe = result.probe
    assert len(probe["plots"]) == probe["expected"] > 10
    for plot in probe["plots"]:
        assert plot["drawn"] and plot["traces"] >= 1 and plot["points"] >= 1, plot
        assert plot["svgWidth"] <= plot["cellWidth"] + 1, plot  # fits its cell
    assert len(probe["audio"]) >= 12
    for clip in probe["audio"]:
        assert clip["error"] is None and clip["ready"] >= 1 and clip["duration"] > 0.5, clip
    assert probe["sortState"] == "descending"
    assert probe["counts"] == sorted(probe["counts"], reverse=True) and len(probe["counts"]) == 6
    assert result.screenshot_png.startswith(b"\x89PNG")
