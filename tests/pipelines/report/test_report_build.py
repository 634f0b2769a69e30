"""The written page: its numbers equal numbers computed from the manifests, it is self-contained,
bounded in size, and it survives missing, old and corrupt run directories."""

from __future__ import annotations

import base64
import io
import math
import re
import shutil
from collections import Counter
from pathlib import Path

import av
import fsspec
import lxml.html
import pyarrow.parquet as pq
import pytest
from report_fixture_run import make_run

from pipelines.config_base import ConfigError
from pipelines.report import ReportConfig, build_report, render
from pipelines.report.figures import plotlyjs


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    fx = make_run(tmp_path_factory.mktemp("build") / "run", n_segments=50, n_rejects=36)
    path = build_report(str(fx.path))
    html = Path(path).read_text(encoding="utf-8")
    return fx, path, html, lxml.html.fromstring(html)


def metric(doc, key: str) -> str:
    (node,) = doc.xpath(f'//*[@data-metric="{key}"]')
    return node.get("data-value", node.text_content())


def test_written_where_the_contract_says(built):
    fx, path, _, _ = built
    assert path == str(fx.path / "report" / "index.html")
    assert not [p for p in (fx.path / "report").iterdir() if p.name != "index.html"]


def test_headline_numbers_equal_the_manifests(built):
    fx, _, _, doc = built
    seg = pq.read_table(fx.path / "manifest" / "segments.parquet").to_pylist()
    rej = pq.read_table(fx.path / "manifest" / "rejects.parquet").to_pylist()
    assert math.isclose(float(metric(doc, "hours_kept")),
                        sum(r["duration"] for r in seg) / 3600, rel_tol=1e-12)
    assert math.isclose(float(metric(doc, "hours_dropped")),
                        sum(r["duration"] for r in rej) / 3600, rel_tol=1e-12)
    assert int(metric(doc, "segments_kept")) == len(seg)
    assert int(metric(doc, "rejects")) == len(rej)
    assert int(metric(doc, "languages")) == len({r["language"] for r in seg if r["language"]})
    assert int(metric(doc, "sources")) == len({r["source_name"] for r in seg})
    assert int(float(metric(doc, "shards"))) == len(list((fx.path / "shards").glob("*.tar")))
    assert float(metric(doc, "hours_in")) == fx.stats["input"]["hours"]
    assert metric(doc, "runner") == "DirectRunner"
    assert metric(doc, "config_hash") == fx.stats["run"]["config_hash"]
    versions = {n.get("data-version"): n.text for n in doc.xpath("//td[@data-version]")}
    assert versions == fx.stats["run"]["versions"]


def test_reason_counts_and_links(built):
    fx, _, _, doc = built
    rej = pq.read_table(fx.path / "manifest" / "rejects.parquet").to_pylist()
    expected = Counter(r["reason"] for r in rej)
    rows = doc.xpath('//table[@id="table-reasons"]/tbody/tr')
    got = {tr.get("data-reason"): int(tr.xpath("./td")[2].get("data-sort")) for tr in rows}
    assert got == dict(expected)
    funnel_links = doc.xpath('//table[@id="table-funnel"]//a[@data-reason]')
    assert {a.get("data-reason"): int(a.get("data-count")) for a in funnel_links} == got
    for a in funnel_links:  # every reason link lands on a section with that reason's rows
        (target,) = doc.xpath(f'//*[@id="{a.get("href")[1:]}"]')
        assert target.get("data-reason") == a.get("data-reason")
        shown = {c.text_content() for c in target.xpath(".//table//td[1]/code")}
        assert shown == {r["id"] for r in rej if r["reason"] == a.get("data-reason")}


def test_hours_by_language_table(built):
    fx, _, _, doc = built
    rows = doc.xpath('//table[@id="table-by-language"]/tbody/tr')
    got = {tr.get("data-key"): float(tr.xpath(".//td[@data-kept-hours]")[0].get("data-sort"))
           for tr in rows}
    expected = Counter()
    for r in fx.segments:
        expected[r["language"] or "(unknown)"] += r["duration"] / 3600
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        assert math.isclose(got[k], v, rel_tol=1e-12)


def test_unmeasured_columns_say_so(built):
    _, _, _, doc = built
    (node,) = doc.xpath('//*[@data-measure="dnsmos"]')
    assert "not measured" in node.text_content().lower()
    assert not node.xpath(".//figure")


def test_self_contained_plotly_once_and_no_network(built):
    _, _, html, doc = built
    js = plotlyjs()
    assert html.count(js[:200]) == 1  # the bundle is inlined exactly once
    assert not doc.xpath("//script[@src] | //link[@href] | //img[@src]")
    assert "cdn.plot.ly" not in html.replace(js, "")
    figures = doc.xpath("//figure[@class='plot']")
    assert len(figures) == int(doc.xpath("//body")[0].get("data-plots")) > 5


def test_audio_is_embedded_short_opus(built):
    fx, _, _, doc = built
    audios = doc.xpath("//audio")
    kept = doc.xpath("//*[@data-segment]//audio")
    assert len(kept) == ReportConfig().kept_samples
    dropped = doc.xpath("//*[@data-reject]//audio")
    assert len(dropped) == sum(min(3, len(v)) for v in fx.reject_audio.values())
    assert len(audios) == len(kept) + len(dropped)
    for a in audios:
        src = a.get("src")
        assert src.startswith("data:audio/ogg;base64,")
        raw = base64.b64decode(src.split(",", 1)[1])
        with av.open(io.BytesIO(raw)) as f:
            assert f.streams.audio[0].codec_context.name == "opus"
            seconds = sum(fr.samples for fr in f.decode(audio=0)) / 48_000  # Opus decodes at 48k
        assert 0.5 < seconds <= ReportConfig().clip_seconds + 0.1


def test_sampled_segment_text_is_escaped_and_matches_manifest(built):
    fx, _, _, doc = built
    by_id = {r["segment_id"]: r for r in fx.segments}
    cards = doc.xpath("//*[@data-segment]")
    assert cards
    for card in cards:
        row = by_id[card.get("data-segment")]
        assert row["text"] in card.text_content()  # "<b>" shown as text ...
        assert not card.xpath(".//b")  # ... never parsed as markup


def test_same_seed_same_page_samples(built, tmp_path):
    fx, _, html, doc = built
    again = lxml.html.fromstring(render(str(fx.path)))
    ids = [n.get("data-segment") for n in doc.xpath("//*[@data-segment]")]
    assert ids == [n.get("data-segment") for n in again.xpath("//*[@data-segment]")]
    other = lxml.html.fromstring(render(str(fx.path), config=ReportConfig(seed=7)))
    assert ids != [n.get("data-segment") for n in other.xpath("//*[@data-segment]")]


def test_page_does_not_grow_with_the_run(tmp_path):
    """A 20k-segment run lists only sampled rows: no segment id outside the samples appears."""
    fx = make_run(tmp_path / "big", n_segments=20_000, n_rejects=3_000, audio_segments=0)
    html = render(str(fx.path), config=ReportConfig(kept_samples=5, reject_rows_per_reason=4))
    doc = lxml.html.fromstring(html)
    shown = {n.get("data-segment") for n in doc.xpath("//*[@data-segment]")}
    assert len(shown) == 5
    tokens = set(re.findall(r"[A-Za-z0-9_-]+", html.replace(plotlyjs(), "")))
    mentioned = len(tokens & {r["segment_id"] for r in fx.segments})
    assert mentioned <= 5 + 10 * 12  # samples + kept members listed for the 10 largest clusters
    reject_ids = len(tokens & {r["id"] for r in fx.rejects})
    assert reject_ids <= 6 * 4 + 10 * 12 + 3 * 3  # rows per reason + cluster members + clips
    assert len(html) - len(plotlyjs()) < 1_000_000
    assert "audio not available" in html  # big fixture has no audio: said, not crashed


def test_empty_run_dir_gives_a_page_that_says_what_is_missing(tmp_path):
    path = build_report(str(tmp_path))
    doc = lxml.html.fromstring(Path(path).read_text())
    warn = doc.xpath("//*[@class='warn']")[0].text_content()
    for name in ("stats.json", "segments.parquet", "rejects.parquet", "shards.json"):
        assert name in warn
    assert metric(doc, "hours_in") == ""
    assert "Nothing was dropped" in doc.text_content()


def test_corrupt_files_do_not_crash(tmp_path):
    fx = make_run(tmp_path / "run", n_segments=12, n_rejects=6)
    (fx.path / "manifest" / "rejects.parquet").write_bytes(b"PAR1 not really parquet")
    (fx.path / "stats.json").write_text("{ not json")
    for tar in (fx.path / "shards").glob("*.tar"):
        tar.write_bytes(b"\0" * 100)
    for f in (fx.path / "samples" / "rejected").rglob("*.flac"):
        f.write_bytes(b"fLaC garbage")
    doc = lxml.html.fromstring(Path(build_report(str(fx.path))).read_text())
    warn = doc.xpath("//*[@class='warn']")[0].text_content()
    assert "rejects.parquet" in warn and "stats.json" in warn
    assert int(metric(doc, "segments_kept")) == 12
    assert not doc.xpath("//audio")


def test_fsspec_url_run_dir(tmp_path):
    fx = make_run(tmp_path / "run", n_segments=10, n_rejects=6)
    fs = fsspec.filesystem("memory")
    for f in fx.path.rglob("*"):
        if f.is_file():
            fs.pipe(f"/mrun/{f.relative_to(fx.path)}", f.read_bytes())
    path = build_report("memory://mrun")
    assert path == "memory://mrun/report/index.html"
    doc = lxml.html.fromstring(fs.cat("/mrun/report/index.html").decode())
    assert int(metric(doc, "segments_kept")) == 10
    assert len(doc.xpath("//*[@data-segment]//audio")) == 10


def test_compare_mode_shows_differences(tmp_path):
    a = make_run(tmp_path / "a", n_segments=30, n_rejects=12, seed=1)
    b = make_run(tmp_path / "b", n_segments=20, n_rejects=24, seed=2)
    doc = lxml.html.fromstring(Path(build_report(str(a.path), compare=str(b.path))).read_text())
    rows = {tr.get("data-key"): [td.get("data-sort") for td in tr.xpath("./td")]
            for tr in doc.xpath('//table[@id="table-compare-headline"]/tbody/tr')}
    assert [float(x) for x in rows["segments_kept"][1:]] == [30, 20, 10]
    reasons = {tr.get("data-key"): [float(td.get("data-sort")) for td in tr.xpath("./td")[2:]]
               for tr in doc.xpath('//table[@id="table-compare-reasons"]/tbody/tr')}
    ca, cb = Counter(r["reason"] for r in a.rejects), Counter(r["reason"] for r in b.rejects)
    assert reasons == {k: [ca[k], cb[k], ca[k] - cb[k]] for k in ca | cb}
    assert doc.xpath("//figure[@data-plot='cmp-duration']")


def test_config_is_validated_with_field_names():
    with pytest.raises(ConfigError, match="report.clip_seconds"):
        ReportConfig(clip_seconds=0).validate()
    with pytest.raises(ConfigError, match="report.kept_samples"):
        ReportConfig(kept_samples=-1).validate()
    with pytest.raises(ConfigError, match="report.histogram_bins"):
        ReportConfig(histogram_bins=1).validate()


def test_cli_report_command(tmp_path):
    from pipelines.cli import main

    fx = make_run(tmp_path / "run", n_segments=5, n_rejects=3)
    shutil.rmtree(fx.path / "samples")
    assert main(["report", str(fx.path)]) == 0
    assert (fx.path / "report" / "index.html").stat().st_size > 0


def test_thresholds_draw_lines_and_offer_the_segments_nearest_the_cut(tmp_path):
    """The run's own thresholds (stats.json) become dashed lines, dropped values come from the
    plan, and the kept and dropped segments nearest the cut are offered with audio."""
    import json

    from schemas.analysis import PLAN_SCHEMA
    from schemas.arrow import table

    fx = make_run(tmp_path / "run", n_segments=30, n_rejects=18, dnsmos=True)
    stats = json.loads((fx.path / "stats.json").read_text())
    stats["thresholds"] = {"dnsmos": [[3.0, "drops below 3"]]}
    (fx.path / "stats.json").write_text(json.dumps(stats))
    with_audio = [i for ids in fx.reject_audio.values() for i in ids]
    scores = {rid: 2.0 + 0.1 * k for k, rid in enumerate(with_audio)}  # 2.0, 2.1, ...
    scores["no-audio-but-nearest"] = 2.99
    plan = [{**fx.segments[0], "segment_id": rid, "dnsmos": v, "keep": False,
             "reject_stage": "quality", "reject_reason": "low_dnsmos", "reject_detail": "",
             "audio_edits": [], "shard_index": -1, "audio_pack": "", "audio_offset": 0,
             "audio_bytes": 0} for rid, v in scores.items()]
    (fx.path / "plan").mkdir()
    pq.write_table(table(plan, PLAN_SCHEMA), fx.path / "plan" / "segments.parquet")
    html = Path(build_report(str(fx.path), config=ReportConfig(threshold_samples=2))) \
        .read_text(encoding="utf-8")
    doc = lxml.html.fromstring(html)
    dist = doc.xpath('//div[@data-measure="dnsmos"]')[0]
    assert '"x0":3.0' in lxml.html.tostring(dist, encoding="unicode").replace(" ", "")
    (near,) = doc.xpath('//div[@class="near-threshold"][@data-measure="dnsmos"]')
    shown = [c.text_content() for c in near.xpath('.//div[contains(@class, "clip")]')]
    kept_values = sorted((abs(s["dnsmos"] - 3.0), s["segment_id"]) for s in fx.segments)
    for _, sid in kept_values[:2]:
        assert any(sid in text and text.startswith("kept") for text in shown)
    nearest_dropped = sorted(with_audio, key=lambda r: (abs(scores[r] - 3.0), r))[:2]
    for rid in nearest_dropped:  # the nearest with audio, not the one that has none
        assert any(rid in text and text.startswith("dropped (low_dnsmos)") for text in shown)
    assert not any("no-audio-but-nearest" in text for text in shown)
    assert len(near.xpath(".//audio")) == 4
