"""End to end with real models: the CLI on real speech (speech-eval) and generated espeak-ng
speech, read back with webdataset; the same job under the multi-process DirectRunner; and a run
into an fsspec memory:// directory."""

from __future__ import annotations

import io
import json
import shutil
import tarfile

import jiwer
import numpy as np
import polars as pl
import pytest
import soundfile as sf
import webdataset as wds

from pipelines.cli import main as cli_main
from pipelines.demo import ITEMS, encode, synthesise, write_transcript

pytestmark = pytest.mark.slow

LIBRISPEECH = ("picovoice_leopard/test.wav", "lhotse/2412-153948-0000.flac",
               "wenet/librispeech-1995-1837-0001.wav", "mfa/61-70968-0000.flac")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, speech_eval, espeak_available):
    root = tmp_path_factory.mktemp("corpus")
    audio = root / "audio"
    (audio / "librispeech").mkdir(parents=True)
    for rel in LIBRISPEECH:
        shutil.copy(speech_eval / rel, audio / "librispeech" / rel.replace("/", "__"))
    shutil.copy(speech_eval / "aeneas/vad_n.wav", audio / "room_noise.wav")
    speech, cues = synthesise(ITEMS[0])
    encode(speech, audio / "espeak_lecture.m4a", "m4a")
    write_transcript(audio / "espeak_lecture.vtt", "vtt", cues)
    (audio / "empty.wav").write_bytes(b"")
    (audio / "corrupt.flac").write_bytes(b"fLaC" + bytes(range(256)) * 8)
    encode(speech[: 16000 * 3], audio / "latin1.ogg", "ogg")
    (audio / "latin1.txt").write_bytes("d\xe9j\xe0 vu".encode("latin-1"))
    manifest = root / "manifest.tsv"
    shutil.copy(speech_eval / "picovoice_cheetah/test_en.wav", root / "cheetah_en.wav")
    manifest.write_text("audio\ttext\tlanguage\n"
                        "cheetah_en.wav\tToday only platforms one and three are used.\ten\n"
                        "\tno audio column here\t\n", encoding="utf-8")
    config = root / "sources.yaml"
    config.write_text(
        "sources:\n"
        "  - name: files\n    type: local\n    path: audio\n    licence: CC-BY-4.0\n"
        "  - name: listed\n    type: local\n    manifest: manifest.tsv\n"
        "curate:\n  asr:\n    batch_size: 4\n  shards:\n    target_size_mb: 0.3\n"
        "    writers: 2\n", encoding="utf-8")
    inputs = sorted(str(p) for p in audio.rglob("*") if p.suffix in (".wav", ".flac", ".m4a",
                                                                     ".ogg"))
    return {"config": config, "inputs": inputs + [str(root / "cheetah_en.wav")]}


def run(config, out, *extra):
    assert cli_main(["run", "--config", str(config), "--out", str(out), "--asr-model",
                     "tiny.en", *extra]) == 0


@pytest.fixture(scope="module")
def run_dir(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "r1"
    run(corpus["config"], out)
    return out


def test_every_input_is_kept_or_rejected_with_a_reason(run_dir, corpus):
    segments = pl.read_parquet(run_dir / "manifest/segments.parquet")
    rejects = pl.read_parquet(run_dir / "manifest/rejects.parquet")
    seen = set(segments["source_uri"]) | set(rejects["source_uri"])
    missing = [f for f in corpus["inputs"] if f not in seen]
    assert not missing
    reasons = dict(zip(rejects["source_uri"].to_list(), rejects["reason"].to_list(),
                       strict=True))
    by_name = {uri.rsplit("/", 1)[-1]: reason for uri, reason in reasons.items()}
    assert by_name["empty.wav"] == "empty_file"
    assert by_name["corrupt.flac"] == "corrupt_audio"
    assert by_name["room_noise.wav"] == "no_speech"
    assert by_name["latin1.txt"] == "transcript_not_utf8"
    assert any(r == "manifest_row_invalid" for r in rejects["reason"])
    assert "room_noise.wav" not in {u.rsplit("/", 1)[-1] for u in segments["source_uri"]}


def test_shards_decode_and_match_the_manifest(run_dir):
    segments = pl.read_parquet(run_dir / "manifest/segments.parquet")
    index = json.loads((run_dir / "manifest/shards.json").read_text())
    assert index["__kind__"] == "wids-shard-index-v1"
    assert sum(s["nsamples"] for s in index["shardlist"]) == segments.height > 0
    urls = [str((run_dir / "manifest" / s["url"]).resolve()) for s in index["shardlist"]]
    rows = {r["segment_id"]: r for r in segments.iter_rows(named=True)}
    seen = 0
    for sample in wds.WebDataset(urls, shardshuffle=False):
        audio, rate = sf.read(io.BytesIO(sample["flac"]), dtype="float32")
        meta = json.loads(sample["json"])
        row = rows[sample["__key__"]]
        assert rate == 16000 and audio.ndim == 1
        assert len(audio) / 16000 == pytest.approx(row["end"] - row["start"], abs=0.002)
        assert meta["text"] == row["text"] and meta["segment_id"] == sample["__key__"]
        assert row["end"] - row["start"] <= 30.0
        seen += 1
    assert seen == segments.height
    for shard in urls:  # reproducible: sorted keys, fixed mtime
        with tarfile.open(shard) as tar:
            names = tar.getnames()
            assert names == sorted(names)
            assert {m.mtime for m in tar.getmembers()} == {946684800}


def test_librispeech_pseudo_labels_are_accurate(run_dir, speech_eval_manifest):
    from whisper.normalizers import EnglishTextNormalizer

    norm = EnglishTextNormalizer()
    segments = pl.read_parquet(run_dir / "manifest/segments.parquet").select(
        "source_uri", "start", "pseudo_label")
    rejects = pl.read_parquet(run_dir / "manifest/rejects.parquet").filter(
        pl.col("start").is_not_null()).select("source_uri", "start", "pseudo_label")
    labels = pl.concat([segments, rejects]).sort("source_uri", "start")
    refs, hyps = [], []
    for rel in LIBRISPEECH:
        name = rel.replace("/", "__")
        parts = labels.filter(pl.col("source_uri").str.ends_with(name))["pseudo_label"]
        assert len(parts) > 0, f"{rel} produced no segment"
        hyps.append(norm(" ".join(parts)))
        refs.append(norm(speech_eval_manifest[rel]["transcript"]))
    wer = jiwer.wer(refs, hyps)
    assert wer < 0.15, f"WER {wer:.3f}"


def test_stats_count_every_stage(run_dir):
    stats = json.loads((run_dir / "stats.json").read_text())
    segments = pl.read_parquet(run_dir / "manifest/segments.parquet")
    assert stats["kept"]["segments"] == segments.height
    assert stats["kept"]["hours"] == pytest.approx(segments["duration"].sum() / 3600, abs=1e-5)
    assert stats["stages"][-1]["out"]["count"] == segments.height
    assert stats["rejects"]["count"] == pl.read_parquet(
        run_dir / "manifest/rejects.parquet").height
    assert stats["run"]["asr_model"] == "tiny.en"


def test_a_completed_run_is_not_redone(run_dir, corpus, capsys):
    before = (run_dir / "manifest/segments.parquet").stat().st_mtime
    run(corpus["config"], run_dir)
    assert "already complete" in capsys.readouterr().out
    assert (run_dir / "manifest/segments.parquet").stat().st_mtime == before


def test_output_to_an_fsspec_url(tmp_path, espeak_available):
    import fsspec

    audio = tmp_path / "audio"
    audio.mkdir()
    speech, _ = synthesise(ITEMS[1])
    encode(speech, audio / "news.flac", "flac")
    (audio / "news.txt").write_text(" ".join(ITEMS[1].sentences), encoding="utf-8")
    config = tmp_path / "s.yaml"
    config.write_text(f"sources:\n  - type: local\n    path: {audio}\n    language: en\n",
                      encoding="utf-8")
    run(config, "memory://speechcurate-test/run")
    fs = fsspec.filesystem("memory")
    index = json.loads(fs.cat("/speechcurate-test/run/manifest/shards.json"))
    assert index["shardlist"][0]["nsamples"] >= 1
    table = pl.read_parquet(io.BytesIO(fs.cat("/speechcurate-test/run/manifest/segments.parquet")))
    assert table.height == index["shardlist"][0]["nsamples"]
    assert np.all(table["end"].to_numpy() > table["start"].to_numpy())
