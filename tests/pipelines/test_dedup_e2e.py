"""Dedup end to end with real models (espeak-ng speech, tiny.en): the same episode as FLAC, WAV
and MP3 leaves one copy; a sponsor read by three voices is capped at max_text_copies; an eval
sentence is decontaminated; a second run against the first does not re-admit a copy; refilter
replays the policy; stats and the report show the clusters. The JFK recording of speech-eval as
wav, mp3 and flac leaves one copy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from filters.dedup import audio as audio_fp
from pipelines.cli import main as cli_main

pytestmark = pytest.mark.slow
SPONSOR = "This episode is brought to you by Acme mattresses, sleep better tonight."
EPISODES = {  # stem: (espeak voice, sentences)
    "ep1": ("en-us", (SPONSOR, "The river flooded the old mill last spring.")),
    "ep2": ("en", (SPONSOR, "Tomorrow brings clouds and rain to the coast.")),
    "ep3": ("en-gb-x-rp", (SPONSOR, "Our guest today builds small wooden boats.")),
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
    max_text_copies: 2
{extra}"""


def _write(root: Path, name: str, audio_dir: Path, extra: str = "") -> Path:
    path = root / name
    path.write_text(CONFIG.format(audio=audio_dir, extra=extra), encoding="utf-8")
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
    from pipelines.demo import DemoItem, encode, synthesise, write_transcript

    root = tmp_path_factory.mktemp("dedup-e2e")
    audio = root / "audio"
    audio.mkdir()
    for stem, (voice, sentences) in EPISODES.items():
        speech, cues = synthesise(DemoItem(stem, voice, "en", sentences, "flac", "vtt"))
        formats = ("flac", "wav", "mp3") if stem == "ep1" else ("flac",)
        for fmt in formats:
            name = stem if fmt == "flac" else f"{stem}_copy_{fmt}"
            encode(speech, audio / f"{name}.{fmt}", fmt)
            write_transcript(audio / f"{name}.vtt", "vtt", cues)
    (root / "eval.txt").write_text("our guest today builds small wooden boats\n",
                                   encoding="utf-8")
    extra = (f"    eval_sets:\n      - {{name: podcast-test, path: {root / 'eval.txt'}}}\n"
             "    eval_ngram: 4\n")
    _run(_write(root, "run1.yaml", audio, extra), root / "run1")
    return root


def test_copies_leave_one_sponsor_is_capped_and_eval_text_is_dropped(corpus):
    run = corpus / "run1"
    rows = _by_source(_plan(run))
    mill = [rows[(f, 1)] for f in ("ep1.flac", "ep1_copy_wav.wav", "ep1_copy_mp3.mp3")]
    assert sum(r["keep"] for r in mill[:2]) <= 1, "the exact WAV copy of the FLAC must drop"
    assert mill[0]["dedup_cluster"].split()[0] == mill[1]["dedup_cluster"].split()[0]
    if audio_fp.available():  # the MP3 copy is a near duplicate, found by the fingerprint
        assert sum(r["keep"] for r in mill) == 1
        assert {r["reject_reason"] for r in mill if not r["keep"]} == {"near_duplicate_audio"}
    sponsor = [r for (f, i), r in rows.items() if i == 0]
    kept_sponsor = [r for r in sponsor if r["keep"]]
    assert len(kept_sponsor) == 2, "three voices, max_text_copies: 2"
    assert {r["reject_reason"] for r in sponsor if not r["keep"]} >= {"repeated_text"}
    assert len({Path(r["source_uri"]).stem[:3] for r in kept_sponsor}) == 2  # distinct episodes
    boats = rows[("ep3.flac", 1)]
    assert not boats["keep"] and boats["reject_reason"] == "eval_overlap"
    stats = json.loads((run / "stats.json").read_text())
    dedup = stats["dedup"]
    assert dedup["eval_sets"]["podcast-test"] == {"path": str(corpus / "eval.txt"),
                                                  "utterances": 1, "dropped": 1}
    assert dedup["dropped"]["repeated_text"]["count"] == 1
    assert dedup["clusters"]["audio"] >= 2 and dedup["clusters"]["text"] >= 1
    assert stats["rejects"]["by_reason"]["eval_overlap"] == 1
    html = (run / "report" / "index.html").read_text(encoding="utf-8")
    section = html[html.index('id="dedup"'):html.index('id="privacy"')]
    assert "podcast-test" in section and "near_duplicate_audio" in section
    assert section.count("<audio") >= 4  # players for members of real clusters
    assert (run / "dedup" / "index").is_dir()


def test_a_later_run_does_not_readmit_what_the_first_holds(corpus):
    audio2 = corpus / "audio2"
    audio2.mkdir()
    shutil.copy(corpus / "audio" / "ep2.flac", audio2 / "ep2_reposted.flac")
    shutil.copy(corpus / "audio" / "ep2.vtt", audio2 / "ep2_reposted.vtt")
    config = _write(corpus, "run2.yaml", audio2, f"    against: [{corpus / 'run1'}]\n")
    _run(config, corpus / "run2")
    plan = _plan(corpus / "run2")
    assert plan and not any(r["keep"] for r in plan.values()), "a repost of held audio"
    assert {r["reject_reason"] for r in plan.values()} <= {"near_duplicate_audio",
                                                          "repeated_text"}
    assert any("held by" in r["reject_detail"] for r in plan.values())
    stats = json.loads((corpus / "run2" / "stats.json").read_text())
    assert stats["dedup"]["dropped_as_held_elsewhere"] >= 1


def test_refilter_replays_the_policy_with_another_cap(corpus):
    config = _write(corpus, "refilter.yaml", corpus / "audio")
    config.write_text(config.read_text().replace("max_text_copies: 2", "max_text_copies: 3"))
    assert cli_main(["refilter", str(corpus / "run1"), "--config", str(config), "--out",
                     str(corpus / "refiltered"), "--asr-model", "tiny.en"]) == 0
    rows = _by_source(_plan(corpus / "refiltered"))
    sponsor = [r for (f, i), r in rows.items() if i == 0 and r["keep"]]
    assert len(sponsor) == 3  # each voice's reading stays under a cap of 3
    assert not any(r["reject_reason"] == "repeated_text" for r in rows.values())


def test_jfk_as_wav_mp3_and_flac_leaves_one(speech_eval, tmp_path):
    if not audio_fp.available():
        pytest.skip("filters/audio_fingerprint is not available")
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
