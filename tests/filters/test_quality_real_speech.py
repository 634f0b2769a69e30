"""The quality filter's defaults on real speech (speech-eval; skips when absent): clean read
speech passes, non-speech fails, quiet but clean clips stay, heavily clipped copies go."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from filters import dnsmos
from filters.audio import decode_audio
from filters.audio_quality import measure
from filters.quality import decide_quality
from filters.quality_config import QualityConfig
from schemas.records import SAMPLE_RATE, Reject, Segment

CLEAN_READ = ["picovoice_leopard/test.wav", "speechbrain/LJ050-0131.wav",
              "pocketsphinx/sense_and_sensibility_01_austen_64kb-0870.wav",
              "mfa/se10x016-08071999-1334_u0016003.wav", "mfa/common_voice_ja_24511055.mp3"]
NON_SPEECH = ["aeneas/vad_n.wav", "aeneas/vad_zero.wav"]


@pytest.fixture(scope="module")
def scorer():
    if not dnsmos.available():
        pytest.skip("speechmos/onnxruntime not installed")
    return dnsmos.DnsmosScorer(max_batch_windows=4)


@pytest.fixture(scope="module")
def load(speech_eval: Path, speech_eval_manifest):
    def _load(name: str) -> tuple[np.ndarray, dict[str, str]]:
        audio = decode_audio((speech_eval / name).read_bytes(), 60).samples
        return audio, speech_eval_manifest[name]
    return _load


def judged(audio: np.ndarray, row: dict[str, str], scorer) -> Segment | Reject:
    m = measure(audio)
    mos = scorer.score([audio])[0]
    text = row["transcript"]
    seg = Segment(
        "r-00000", "r", 0, "file:///x", 0.0, len(audio) / SAMPLE_RATE, text=text,
        source_text=text or None, label_source="source" if text else "none",
        language=row["language"], snr_db=m.snr_db, clipping_ratio=m.clipping_ratio,
        loudness_lufs=m.loudness_lufs, bandwidth_hz=m.bandwidth_hz, dc_offset=m.dc_offset,
        silence_ratio=m.silence_ratio, peak_dbfs=m.peak_dbfs,
        dnsmos=mos.ovrl if mos else None, dnsmos_sig=mos.sig if mos else None,
        dnsmos_bak=mos.bak if mos else None)
    return decide_quality(seg, QualityConfig())


@pytest.mark.parametrize("name", CLEAN_READ)
def test_clean_read_speech_passes_the_defaults(name, load, scorer):
    audio, row = load(name)
    out = judged(audio, row, scorer)
    assert isinstance(out, Segment), out
    assert out.quality_tier in ("high", "medium")
    assert out.chars_per_second is not None


@pytest.mark.parametrize("name", NON_SPEECH)
def test_non_speech_fails(name, load, scorer):
    audio, row = load(name)
    out = judged(audio, row, scorer)
    assert isinstance(out, Reject), out
    assert out.reason in ("low_dnsmos", "low_snr", "digital_silence")


@pytest.mark.parametrize("gain_db", [-20, -35])
def test_quiet_but_clean_speech_is_kept(gain_db, load, scorer):
    audio, row = load(CLEAN_READ[0])
    out = judged(audio * 10 ** (gain_db / 20), row, scorer)
    assert isinstance(out, Segment), out


@pytest.mark.parametrize("name", CLEAN_READ[:3])
def test_heavily_clipped_copies_are_dropped(name, load, scorer):
    audio, row = load(name)
    out = judged(np.clip(audio * 30, -1, 1), row, scorer)  # the 30x amplified speech
    assert isinstance(out, Reject) and out.reason == "clipping", out
