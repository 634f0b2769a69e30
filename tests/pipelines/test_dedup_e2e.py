"""Dedup end to end with real models (espeak-ng speech, tiny.en): an episode and its MP3
re-encode leave one copy; a sponsor read by two voices is capped at max_text_copies; an eval
sentence is decontaminated; refilter replays the policy; a run against an earlier one does not
re-admit what it holds; stats and the report show the clusters. The JFK recording of
speech-eval as wav, mp3 and flac leaves one copy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from pipelines.cli import main as cli_main

pytestmark = pytest.mark.slow
SPONSOR = "This episode is brought to you by Acme mattresses, sleep better tonight."
EPISODES = {  # stem: (espeak voice, sentences)
    "ep1": ("en-us", (SPONSOR, "The river flooded the old mill last spring.")),
    "ep2": ("en-gb-x-rp", (SPONSOR, "Our guest today builds small wooden boats.")),
}
CONFIG = """\
sources:
  - name: feed
    type: local
    path: {audio}
curate:
  segment: {{target_s: 3}}
  quality: {{mode: flag}}
  shards: {{target_size_mb: 0.05}}
  dedup:
    max_text_copies: {copies}
{extra}"""


def _write(root: Path, name: str, audio_dir: Path, copies: int = 1, extra: str = "") -> Path:
    path = root / name
    path.write_text(CONFIG.format(audio=audio_dir, copies=copies, extra=extra), encoding="utf-8")
    return path


def _run(config: Path, out: Path) -> None:
    assert cli_main(["run", "--config", str(config), "--out", str(out),
                     "--asr-model", "tiny.en"]) == 0


def _plan(run: Path) -> dict[str, dict]:
    frame = pl.read_parquet(run / "plan" / "segments.parquet")
    return {r["segment_id"]: r for r in frame.iter_rows(named=True)}


def _by_source(plan: dict[str, dict]) -> dict[tuple[str, int], dict]:
    return {(Path(r["source_uri"]).name, r["index"]): r for r in plan.values()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, espeak_available) -> Path:
    """ep1 as FLAC and as an MP3 re-encode, ep2 in another voice; the eval set holds ep2's
    second sentence."""
    from pipelines.demo import DemoItem, encode, synthesise, write_transcript

    root = tmp_path_factory.mktemp("dedup-e2e")
    audio = root / "audio"
    audio.mkdir()
    for stem, (voice, sentences) in EPISODES.items():
        speech, cues = synthesise(DemoItem(stem, voice, "en", sentences, "flac", "vtt"))
        for fmt in ("flac", "mp3") if stem == "ep1" else ("flac",):
            name = stem if fmt == "flac" else f"{stem}_copy"
            encode(speech, audio / f"{name}.{fmt}", fmt)
            write_transcript(audio / f"{name}.vtt", "vtt", cues)
    (root / "eval.txt").write_text("our guest today builds small wooden boats\n",
                                   encoding="utf-8")
    extra = (f"    eval_sets:\n      - {{name: podcast-test, path: {root / 'eval.txt'}}}\n"
             "    eval_ngram: 4\n")
    _run(_write(root, "run1.yaml", audio, 1, extra), root / "run1")
    return root


def test_a_copy_leaves_one_a_sponsor_is_capped_and_eval_text_drops(corpus):
    run = corpus / "run1"
    rows = _by_source(_plan(run))
    mill = [rows[("ep1.flac", 1)], rows[("ep1_copy.mp3", 1)]]
    assert sum(r["keep"] for r in mill) == 1, "the MP3 re-encode of ep1 must not stay twice"
    assert {r["reject_reason"] for r in mill if not r["keep"]} == {"near_duplicate_audio"}
    assert mill[0]["dedup_cluster"].split()[0] == mill[1]["dedup_cluster"].split()[0]
    sponsor = [r for (_f, i), r in rows.items() if i == 0]
    assert sum(r["keep"] for r in sponsor) == 1, "max_text_copies: 1"
    assert sorted(r["reject_reason"] for r in sponsor) == ["", "near_duplicate_audio",
                                                          "repeated_text"]
    boats = rows[("ep2.flac", 1)]
    assert not boats["keep"] and boats["reject_reason"] == "eval_overlap"
    stats = json.loads((run / "stats.json").read_text())
    dedup = stats["dedup"]
    assert dedup["eval_sets"]["podcast-test"] == {"path": str(corpus / "eval.txt"),
                                                  "utterances": 1, "dropped": 1}
    assert dedup["dropped"]["repeated_text"]["count"] == 1
    assert dedup["dropped"]["near_duplicate_audio"]["count"] == 2
    assert dedup["clusters"] == {"audio": 2, "text": 1}
    assert stats["rejects"]["by_reason"]["eval_overlap"] == 1
    html = (run / "report" / "index.html").read_text(encoding="utf-8")
    section = html[html.index('<section id="dedup"'):html.index('<section id="privacy"')]
    assert "podcast-test" in section and "near_duplicate_audio" in section
    assert section.count("<audio") >= 4  # players for members of real clusters
    assert list((run / "dedup" / "index").glob("*.parquet"))


def test_refilter_replays_the_policy_with_another_cap(corpus):
    config = _write(corpus, "refilter.yaml", corpus / "audio", copies=2)
    assert cli_main(["refilter", str(corpus / "run1"), "--config", str(config), "--out",
                     str(corpus / "refiltered"), "--asr-model", "tiny.en"]) == 0
    rows = _by_source(_plan(corpus / "refiltered"))
    sponsor = [r for (_f, i), r in rows.items() if i == 0]
    assert sum(r["keep"] for r in sponsor) == 2  # the two voices' readings stay under a cap of 2
    assert not any(r["reject_reason"] == "repeated_text" for r in rows.values())
    assert rows[("ep2.flac", 1)]["keep"]  # no eval set in this config


def test_a_later_run_does_not_readmit_what_an_earlier_one_holds(curated_run, tmp_path):
    """Deciding the session's curated run again against itself: every candidate is a copy of a
    segment the earlier run holds, so nothing is admitted twice (decide + publish only)."""
    config = tmp_path / "again.yaml"
    config.write_text(
        f"sources:\n  - {{name: files, type: local, path: {tmp_path}}}\n"
        "curate:\n  segment: {target_s: 3}\n  asr: {batch_size: 8}\n"
        "  shards: {target_size_mb: 0.05}\n  quality: {mode: flag}\n"
        f"  dedup: {{against: [{curated_run}]}}\n", encoding="utf-8")
    assert cli_main(["refilter", str(curated_run), "--config", str(config), "--out",
                     str(tmp_path / "again"), "--asr-model", "tiny.en"]) == 0
    plan = _plan(tmp_path / "again")
    held = pl.read_parquet(curated_run / "manifest" / "segments.parquet")["segment_id"]
    again = [r for r in plan.values() if r["segment_id"] in set(held.to_list())]
    assert again and not any(r["keep"] for r in again)
    assert {r["reject_reason"] for r in again} == {"near_duplicate_audio"}
    assert all("held by" in r["reject_detail"] for r in again)
    stats = json.loads((tmp_path / "again" / "stats.json").read_text())
    assert stats["dedup"]["dropped_as_held_elsewhere"] == len(again)
    assert stats["dedup"]["against"] == [str(curated_run)]


def test_jfk_as_wav_mp3_and_flac_leaves_one(speech_eval, tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    for rel in ("whisper_cpp/jfk.wav", "whisper_cpp/jfk.mp3", "openai_whisper/jfk.flac"):
        shutil.copy(speech_eval / rel, audio / rel.replace("/", "_"))
    config = tmp_path / "jfk.yaml"
    config.write_text(f"sources:\n  - {{name: jfk, type: local, path: {audio}}}\n"
                      "curate:\n  quality: {mode: flag}\n", encoding="utf-8")
    _run(config, tmp_path / "run")
    plan = _plan(tmp_path / "run")
    kept = [r for r in plan.values() if r["keep"]]
    assert len({r["recording_id"] for r in kept}) == 1, "one JFK recording survives"
    dropped = [r for r in plan.values() if not r["keep"]]
    assert dropped and {r["reject_reason"] for r in dropped} == {"near_duplicate_audio"}
