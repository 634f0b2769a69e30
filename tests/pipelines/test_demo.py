"""``make demo`` end to end: every planted case ends the way the demo says it does, the summary
shows each stage and the next commands, and those commands work on the demo run.

If a stage stops acting (dedup finds nothing, PII stops being redacted, the translation pair is
lost ...), its planted case changes outcome and this test names it.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from pipelines.cli import main as cli_main
from pipelines.demo import PLANTED
from pipelines.demo import main as demo_main
from pipelines.demo_summary import check_cases

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, espeak_available):
    out = tmp_path_factory.mktemp("demo") / "demo"
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert demo_main(["--out", str(out)]) == 0
    return out, printed.getvalue()


@pytest.mark.parametrize("case", PLANTED, ids=[p.stem.rstrip("/") for p in PLANTED])
def test_each_planted_case_has_its_outcome(demo_run, case):
    out, _ = demo_run
    (result,) = [r for r in check_cases(out, PLANTED) if r.stem == case.stem]
    assert result.actual == case.outcome, f"{case.stem} ({case.stage}): {case.what}"


def test_the_summary_shows_stages_hours_and_next_steps(demo_run):
    out, printed = demo_run
    assert f"planted cases: {len(PLANTED)} of {len(PLANTED)} behaved as expected" in printed
    for stage in ("crawl:", "decode:", "label:", "dedup:", "quality:", "privacy:"):
        assert f"    {stage}" in printed
    stats = json.loads((out / "stats.json").read_text())
    kept_min = stats["kept"]["hours"] * 60
    assert f"kept {stats['kept']['segments']} segments, {kept_min:.1f} min" in printed
    for command in ("speechcurate refilter", "speechcurate verify", "report/index.html"):
        assert command in printed
    assert "demo wall time:" in printed


def test_the_redacted_segment_has_placeholders_and_muted_audio(demo_run):
    out, _ = demo_run
    rows = [r for r in pq.read_table(out / "manifest/segments.parquet").to_pylist()
            if r["source_uri"].endswith("/en_contact.wav") and r["pii_spans"]]
    assert rows, "no redacted segment in the manifest"
    text = " ".join(r["text"] for r in rows)
    assert "<PHONE>" in text and "<PERSON>" in text
    assert "555" not in text and "Smith" not in text


def test_the_suggested_refilter_and_verify_work_on_the_demo_run(demo_run):
    out, printed = demo_run
    strict = next(line.split("--config ", 1)[1].split()[0] for line in printed.splitlines()
                  if "speechcurate refilter" in line)
    assert cli_main(["refilter", str(out), "--config", strict, "--out", f"{out}-strict"]) == 0
    before = json.loads((out / "stats.json").read_text())["kept"]["segments"]
    after = json.loads((out.parent / "demo-strict" / "stats.json").read_text())["kept"]
    assert 0 < after["segments"] < before  # the stricter DNSMOS cut drops some, not all
    assert cli_main(["verify", str(out)]) == 0
