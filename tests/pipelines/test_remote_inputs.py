"""What a remote job reads goes through fsspec (fsspec's ``memory://`` stands in for gs://, s3://):
the config, the sources it names relative to itself, their transcripts, and a Whisper model
directory, which a worker stages once into its own cache (pipelines/models.py)."""

from __future__ import annotations

import io
from pathlib import Path

import fsspec
import numpy as np
import pytest
import soundfile as sf

from pipelines.analyse import list_inputs
from pipelines.config import ConfigError, load_config
from pipelines.models import check_model, is_multilingual, resolve_model
from pipelines.sources.local import load_item

VTT = "WEBVTT\n\n00:00.000 --> 00:01.000\nhello there\n"


@pytest.fixture
def memfs():
    fs = fsspec.filesystem("memory")
    root = "/remote-test"
    yield fs, root
    if fs.exists(root):
        fs.rm(root, recursive=True)


def _wav() -> bytes:
    buf = io.BytesIO()
    tone = 0.1 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000).astype(np.float32)
    sf.write(buf, tone, 16000, format="WAV")
    return buf.getvalue()


def test_config_and_sources_are_read_through_fsspec(memfs):
    fs, root = memfs
    fs.pipe(f"{root}/cfg/sources.yaml", (
        b"sources:\n  - {name: talks, type: local, path: audio, language: en}\n"
        b"  - {name: listed, type: local, manifest: lists/rows.tsv}\n"
        b"curate:\n  asr: {model: tiny.en}\n"))
    fs.pipe(f"{root}/cfg/audio/a.wav", _wav())
    fs.pipe(f"{root}/cfg/audio/a.vtt", VTT.encode())
    fs.pipe(f"{root}/cfg/lists/b.wav", _wav())
    fs.pipe(f"{root}/cfg/lists/rows.tsv", b"audio\ttext\nb.wav\tsome words\n")
    config = load_config(f"memory://{root}/cfg/sources.yaml")
    talks, listed = config.sources
    assert talks.path == f"memory://{root}/cfg/audio"  # relative to the config's URL
    assert listed.manifest == f"memory://{root}/cfg/lists/rows.tsv"
    listing = list_inputs(config, f"memory://{root}/run")
    uris = sorted(item.audio_uri for item in listing.items)
    assert uris == [f"memory://{root}/cfg/audio/a.wav", f"memory://{root}/cfg/lists/b.wav"]
    loaded = [load_item(item)[0] for item in listing.items]
    recordings = {rec.source_name: rec for rec in loaded}
    assert [c.text for c in recordings["talks"].cues] == ["hello there"]
    assert recordings["listed"].transcript_text == "some words"


def test_a_missing_or_broken_remote_config_names_itself(memfs):
    fs, root = memfs
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(f"memory://{root}/nope.yaml")
    fs.pipe(f"{root}/bad.yaml", b"sources: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(f"memory://{root}/bad.yaml")
    fs.pipe(f"{root}/empty.yaml", b"sources: []\n")
    with pytest.raises(ConfigError, match=r"remote-test/empty.yaml: sources"):
        load_config(f"memory://{root}/empty.yaml")


def test_a_remote_model_is_staged_once_on_the_worker(memfs, tmp_path, monkeypatch):
    fs, root = memfs
    monkeypatch.setenv("SPEECHCURATE_CACHE", str(tmp_path / "cache"))
    local = resolve_model("tiny.en")
    for f in sorted(Path(local).iterdir()):
        if f.is_file():
            fs.pipe(f"{root}/models/tiny/{f.name}", f.read_bytes())
    url = f"memory://{root}/models/tiny"
    check_model(url)  # the launcher only looks: nothing is copied there
    assert not (tmp_path / "cache").exists()
    assert not is_multilingual(url)
    staged = resolve_model(url)
    assert staged.is_relative_to(tmp_path / "cache")
    assert (staged / "model.bin").read_bytes() == (local / "model.bin").read_bytes()
    fs.rm(f"{root}/models/tiny", recursive=True)
    assert resolve_model(url) == staged  # staged once: the worker does not fetch it again
    with pytest.raises(FileNotFoundError, match="no model.bin"):
        check_model(f"memory://{root}/models/none")
    from pipelines.whisper import load_whisper

    assert load_whisper(str(staged), "cpu", "int8", 1).model.is_multilingual is False
