"""A tiny real curated run for the trainer and consumer tests, built once per test session.

Two English espeak-ng recordings with WebVTT cues go through the real ``speechcurate run`` (tiny.en
pseudo-labels, the filter registry, publish) with ``curate.segment.target_s: 3``, so every sentence
is its own segment (consecutive segments of a recording, for packing and previous-text targets) and
small shards, so two DDP ranks get shards of their own.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

SENTENCES = {
    "en_lecture": ("en-us", ("Speech recognition turns spoken language into text.",
                             "Large training sets come from public sources.",
                             "Every utterance needs a matching transcript.")),
    "en_news": ("en", ("The weather today will be sunny.",
                       "Tomorrow brings clouds and rain.")),
}


def build_curated_run(root: Path) -> Path:
    """Synthesise the corpus under ``root`` and curate it into ``root/run``; returns the run."""
    from pipelines.cli import main as cli_main
    from pipelines.config import CurateConfig
    from pipelines.demo import DemoItem, encode, synthesise, write_transcript

    run = root / "run"
    if (run / "manifest" / "shards.json").is_file():
        return run
    audio = root / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    for stem, (voice, sentences) in SENTENCES.items():
        speech, cues = synthesise(DemoItem(stem, voice, "en", sentences, "flac", "vtt"))
        encode(speech, audio / f"{stem}.flac", "flac")
        write_transcript(audio / f"{stem}.vtt", "vtt", cues)
    # synthetic voices score low on audio-quality measures (DNSMOS ~2.9): where the quality
    # filter exists, it only flags here -- these tests are about training, not quality
    quality = "  quality:\n    mode: flag\n" if "quality" in {
        f.name for f in dataclasses.fields(CurateConfig)} else ""
    config = root / "sources.yaml"
    config.write_text(
        "sources:\n  - name: files\n    type: local\n    path: audio\n    licence: CC-BY-4.0\n"
        "curate:\n  segment:\n    target_s: 3\n  asr:\n    batch_size: 8\n"
        "  shards:\n    target_size_mb: 0.05\n" + quality, encoding="utf-8")
    code = cli_main(["run", "--config", str(config), "--out", str(run), "--asr-model",
                     "tiny.en"])
    assert code == 0, f"speechcurate run failed with {code}"
    return run
