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
    strict_run = out.parent / "demo-strict"  # refilter replays curate.ssl from the plan too
    marked = sum(r["ssl"] for r in pq.read_table(strict_run / "plan/segments.parquet").to_pylist())
    ssl_index = json.loads((strict_run / "ssl/shards.json").read_text())
    assert sum(s["nsamples"] for s in ssl_index["shardlist"]) == marked
    assert cli_main(["verify", str(out)]) == 0


def test_ssl_holds_clean_label_untrusted_speech_without_text(demo_run, tmp_path):
    """``curate.ssl`` (on in the demo): every ``ssl/`` sample, read with webdataset and wids
    through ``ssl/shards.json``, is a reject of the labelled corpus for a label-trust reason
    only, carries no text, and is counted in stats and the report."""
    import io

    import soundfile as sf
    import webdataset as wds
    import wids

    from filters.ssl_speech import LABEL_TRUST_REASONS, SSL_FIELDS

    out, printed = demo_run
    stats = json.loads((out / "stats.json").read_text())["ssl"]
    index = json.loads((out / "ssl/shards.json").read_text())
    plan = {r["segment_id"]: r for r in pq.read_table(out / "plan/segments.parquet").to_pylist()}
    rejects = {r["id"]: r for r in pq.read_table(out / "manifest/rejects.parquet").to_pylist()}
    urls = [str(out / "ssl" / s["url"]) for s in index["shardlist"]]
    samples = list(wds.WebDataset(urls, shardshuffle=False).to_tuple("__key__", "flac", "json"))
    assert stats["segments"] == len(samples) == sum(r["ssl"] for r in plan.values()) > 0
    words = {w.lower().strip(".,") for r in plan.values()
             for text in (r["source_text"], r["pseudo_label"], r["text"]) if text
             for w in text.split() if len(w) > 3}
    for key, flac, raw in samples:
        meta = json.loads(raw)
        assert tuple(sorted(meta)) == tuple(sorted(SSL_FIELDS)) and meta["key"] == key
        assert not plan[key]["keep"] and rejects[key]["reason"] in LABEL_TRUST_REASONS
        assert not words & {w.lower().strip(".,\"") for w in raw.decode().split()}, key
        audio, rate = sf.read(io.BytesIO(flac))
        assert rate == 16000 and len(audio) / rate == pytest.approx(meta["duration"], abs=0.002)
    ds = wids.ShardListDataset(str(out / "ssl/shards.json"), cache_dir=str(tmp_path / "wids"),
                               transformations=[])
    assert sorted(ds[i]["__key__"] for i in range(len(ds))) == sorted(k for k, _, _ in samples)
    assert sum(v["segments"] for v in stats["by_reason"].values()) == len(samples)
    html = (out / "report/index.html").read_text()
    assert 'id="ssl"' in html and f'data-metric="ssl_segments">{len(samples)}<' in html
    assert "ssl/:" in printed


def test_a_takedown_removes_its_recordings_from_ssl_too(demo_run, tmp_path):
    import shutil

    from pipelines.verify import verify_run

    out, _ = demo_run
    copy = tmp_path / "demo"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("analysis", "raw", "samples"))
    (copy / "analysis").symlink_to(out / "analysis")
    before = pq.read_table(copy / "ssl/segments.parquet").to_pylist()
    rid = before[0]["recording_id"]
    assert cli_main(["takedown", str(copy), "--recording-id", rid]) == 0
    after = pq.read_table(copy / "ssl/segments.parquet").to_pylist()
    assert {r["segment_id"] for r in after} == {r["segment_id"] for r in before
                                                 if r["recording_id"] != rid}
    stats = json.loads((copy / "stats.json").read_text())
    assert stats["ssl"]["segments"] == len(after)
    report = verify_run(str(copy), progress=False)
    assert report.ok, report.render()


def test_the_hf_export_carries_ssl_as_its_own_config(demo_run, tmp_path):
    import yaml
    from datasets import Features, Value, load_dataset

    from pipelines.export import export_run
    from schemas.arrow import SSL_SEGMENT_SCHEMA

    out, _ = demo_run
    result = export_run(out, "hf", tmp_path / "hf")
    card = (result.path / "README.md").read_text()
    header = yaml.safe_load(card.split("---")[1])
    assert [c["config_name"] for c in header["configs"]] == ["default", "ssl"]
    ssl_rows = pq.read_table(out / "ssl/segments.parquet").to_pylist()
    meta = dict(Features.from_arrow_schema(SSL_SEGMENT_SCHEMA.remove(
        SSL_SEGMENT_SCHEMA.get_field_index("shard"))))
    features = Features({"__key__": Value("string"), "__url__": Value("string"),
                         "flac": Value("binary"), "json": meta})
    ds = load_dataset(str(result.path), "ssl", split="train", features=features,
                      cache_dir=str(tmp_path / "cache"))
    assert sorted(ds["__key__"]) == sorted(r["segment_id"] for r in ssl_rows)
    assert "## Unlabelled speech" in card
