"""``speechcurate takedown``: end to end on a published run (synthetic web run without models,
and the session's real curated run), with ``verify`` passing afterwards; idempotence, a rule that
matches nothing, crashes while rewriting and while committing, and later refilters and reruns
that must never publish a taken-down recording again."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from pipelines import takedown as td
from pipelines.cli import main as cli
from pipelines.curate import run_refilter
from pipelines.verify import Kind, verify_run
from schemas.keys import recording_id_for
from tests.pipelines.takedown_run import URLS, build_published_run, config

ALPHA = {recording_id_for(URLS[0]), recording_id_for(URLS[1])}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build_published_run(tmp_path_factory.mktemp("takedown-run"))[0]


@pytest.fixture()
def run(built, tmp_path) -> Path:
    """A private copy of the published run (with its analysis)."""
    copy = tmp_path / "run"
    shutil.copytree(built, copy)
    return copy


def _files(run: Path) -> dict[str, str]:
    return {str(p.relative_to(run)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(run.rglob("*")) if p.is_file()}


def _segments(run: Path) -> pl.DataFrame:
    return pl.read_parquet(run / "manifest" / "segments.parquet")


def _audit(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "takedown" / "audit.jsonl").read_text().splitlines()]


def _assert_verifies(run: Path) -> None:
    report = verify_run(str(run), progress=False)
    assert report.ok, report.render()


def test_domain_takedown_rewrites_only_affected_shards(run, capsys):
    before = _files(run)
    segs = _segments(run)
    alpha_shards = set(segs.filter(pl.col("recording_id").is_in(ALPHA))["shard"])
    assert len(alpha_shards) == 4  # two shared with other recordings, two alpha-only

    assert cli(["takedown", str(run), "--domain", "ALPHA.example", "--by", "steward",
                "--note", "ticket-17"]) == 0
    assert "2 recording(s), 6 segment(s) removed; 2 shard(s) rewritten, 2 deleted" in \
        capsys.readouterr().out
    after = _files(run)
    segs_after = _segments(run)
    assert not set(segs_after["recording_id"]) & ALPHA
    assert len(segs_after) == len(segs) - 6
    for name in {f"shards/{s}" for s in set(segs["shard"]) - alpha_shards}:
        assert after[name] == before[name]  # untouched shards are byte-identical
    rewritten = {f"shards/{s}" for s in alpha_shards if f"shards/{s}" in after}
    assert len(rewritten) == 2 and all(after[n] != before[n] for n in rewritten)
    index = json.loads((run / "manifest" / "shards.json").read_text())
    assert len(index["shardlist"]) == 4  # the two emptied shards are deleted, not left empty
    assert not list((run / "shards").glob(".takedown-*"))

    rejects = pl.read_parquet(run / "manifest" / "rejects.parquet")
    taken = rejects.filter(pl.col("reason") == "taken_down")
    assert set(taken["recording_id"]) == ALPHA and len(taken) == 6
    assert set(taken["stage"]) == {"takedown"}
    assert set(taken["text"]) == {""} and set(taken["pseudo_label"]) == {""}
    plan = pl.read_parquet(run / "plan" / "segments.parquet")
    assert plan.filter(pl.col("recording_id").is_in(ALPHA))["keep"].to_list() == [False] * 6
    stats = json.loads((run / "stats.json").read_text())
    assert stats["kept"]["segments"] == len(segs_after)
    assert stats["rejects"]["by_reason"]["taken_down"] == 6
    assert stats["accounting"]["decide.segments"] == {"in": 12, "kept": 6, "rejected": 6}
    assert [s["stage"] for s in stats["stages"]][3] == "takedown"
    assert "taken_down" in (run / "report" / "index.html").read_text()

    (entry,) = _audit(run)
    assert entry["who"] == "steward" and entry["note"] == "ticket-17"
    assert entry["rules"] == [{"kind": "domain", "value": "alpha.example"}]
    assert entry["outcome"] == "removed" and entry["segments_removed"] == 6
    assert sorted(entry["recordings"]) == sorted(ALPHA)
    assert "sunny" not in json.dumps(entry)  # ids and counts, never what was said
    assert td.load_rules(str(run))[0]["value"] == "alpha.example"
    _assert_verifies(run)

    # idempotent: the same request again changes nothing but the audit log
    assert cli(["takedown", str(run), "--domain", "alpha.example"]) == 0
    assert "already taken down; nothing changed" in capsys.readouterr().out
    again = _files(run)
    assert {k: v for k, v in again.items() if k != "takedown/audit.jsonl"} == \
        {k: v for k, v in after.items() if k != "takedown/audit.jsonl"}
    assert [e["outcome"] for e in _audit(run)] == ["removed", "no_change"]


def test_a_rule_that_matches_nothing_is_recorded_and_rewrites_nothing(run, capsys):
    before = _files(run)
    assert cli(["takedown", str(run), "--url-prefix", "HTTPS://Nowhere.Example/x/",
                "--recording-id", "0123456789abcdef"]) == 0
    assert "matched no recording" in capsys.readouterr().out
    after = _files(run)
    changed = {k for k in after if before.get(k) != after[k]}
    assert changed == {"takedown/audit.jsonl", "takedown/rules.jsonl", "manifest/_SUCCESS"}
    assert _audit(run)[0]["outcome"] == "matched_nothing"
    assert {r["value"] for r in td.load_rules(str(run))} == {"https://nowhere.example/x/",
                                                            "0123456789abcdef"}
    _assert_verifies(run)


def test_crash_while_writing_the_second_shard_leaves_the_run_as_it_was(run, monkeypatch):
    before = _files(run)
    calls = []
    real = td.write_tar

    def failing(fh, samples):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full (injected)")
        return real(fh, samples)

    monkeypatch.setattr(td, "write_tar", failing)
    with pytest.raises(OSError, match="injected"):
        td.run_takedown(str(run), td.TakedownConfig(domains=("alpha.example",)))
    assert _files(run) == before  # no temporaries, no rule, nothing renamed
    _assert_verifies(run)
    monkeypatch.setattr(td, "write_tar", real)
    td.run_takedown(str(run), td.TakedownConfig(domains=("alpha.example",)))
    _assert_verifies(run)
    assert not set(_segments(run)["recording_id"]) & ALPHA


def test_crash_while_committing_fails_verify_until_a_rerun_finishes_it(run, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("killed (injected)")

    monkeypatch.setattr(td, "_write_outputs", crash)  # after the shards were renamed
    with pytest.raises(RuntimeError, match="injected"):
        td.run_takedown(str(run), td.TakedownConfig(domains=("alpha.example",)))
    report = verify_run(str(run), progress=False)
    assert {Kind.TAKEDOWN_INCOMPLETE, Kind.TAKEN_DOWN_PUBLISHED} <= report.kinds()
    assert not (run / "manifest" / "_SUCCESS").exists()  # a rerun of `run` would redo it
    monkeypatch.undo()
    out = td.run_takedown(str(run), td.TakedownConfig(recording_ids=("0123456789abcdef",)))
    assert out.finished_pending and len(out.removed) == 6
    _assert_verifies(run)
    assert (run / "manifest" / "_SUCCESS").exists()


def test_verify_finds_a_taken_down_recording_still_published(run):
    rules = run / "takedown" / "rules.jsonl"
    rules.parent.mkdir(exist_ok=True)
    rules.write_text(json.dumps({"kind": "domain", "value": "beta.example.org"}) + "\n")
    report = verify_run(str(run), progress=False)
    hits = [p for p in report.problems if p.kind == Kind.TAKEN_DOWN_PUBLISHED]
    assert {p.key.split("-")[0] for p in hits} == {recording_id_for(URLS[2])}
    assert len(hits) == 6  # 3 manifest rows and 3 samples


def test_refilter_of_a_taken_down_run_never_publishes_it(run, tmp_path):
    td.run_takedown(str(run), td.TakedownConfig(domains=("alpha.example",)))
    cfg = config(tmp_path, "  lid:\n    allowed_languages: [en]\n")  # new thresholds
    new = tmp_path / "refiltered"
    summary = run_refilter(str(run), cfg, str(new))
    assert not set(_segments(new)["recording_id"]) & ALPHA  # all four were analysed
    assert summary.stats["rejects"]["by_reason"]["taken_down"] == 6
    assert td.load_rules(str(new))[0]["carried_from"] == str(run)  # binds new's own reruns
    _assert_verifies(new)
    # a later takedown of the source binds a refilter made before it, once rerun
    td.run_takedown(str(run), td.TakedownConfig(url_prefixes=("HTTP://gamma.example.net/a/",)))
    again = run_refilter(str(run), cfg, str(new))
    assert not again.skipped  # new rules: a finished refilter is not "already complete"
    assert set(_segments(new)["recording_id"]) == {recording_id_for(URLS[2])}
    _assert_verifies(new)


@pytest.mark.slow
def test_takedown_of_a_real_curated_run_then_incremental_rerun(curated_run, tmp_path, capsys):
    """The session's real run (espeak-ng speech, tiny.en): take one local recording down by its
    path (as a file:// URL prefix), verify, then rerun `run` on it."""
    run = tmp_path / "run"
    shutil.copytree(curated_run, run)
    segs = _segments(run)
    rid = sorted(set(segs["recording_id"]))[0]
    path = segs.filter(pl.col("recording_id") == rid)["source_uri"][0]
    assert cli(["takedown", str(run), "--url-prefix", f"file://{path}"]) == 0
    assert rid not in set(_segments(run)["recording_id"])
    _assert_verifies(run)
    sources = (curated_run.parent / "sources.yaml").read_text().replace(
        "path: audio", f"path: {curated_run.parent / 'audio'}")
    (tmp_path / "sources.yaml").write_text(sources)
    same = cli(["run", "--config", str(tmp_path / "sources.yaml"), "--out", str(run),
                "--asr-model", "tiny.en"])
    assert same == 0 and "already complete" in capsys.readouterr().out
    # a decide-only change: analysis is reused, decide + publish run again over everything
    (tmp_path / "sources.yaml").write_text(sources + "  lid:\n    allowed_languages: [en]\n")
    assert cli(["run", "--config", str(tmp_path / "sources.yaml"), "--out", str(run),
                "--asr-model", "tiny.en"]) == 0
    out = capsys.readouterr().out
    assert "already complete" not in out and "taken_down" in out
    assert rid not in set(_segments(run)["recording_id"])
    _assert_verifies(run)
