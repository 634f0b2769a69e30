"""Batched Whisper pseudo-labelling of short segments with faster-whisper / CTranslate2.

``WhisperModel.transcribe`` works one file at a time and walks it in 30 s windows. Our segments
are already at most 30 s, so we skip the sliding window: the mel features of many segments (from
many recordings) go through the encoder as one batch, language is detected per segment from the
same encoder output, and the decoder runs on the whole batch. No Beam here.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
MAX_SAMPLES = 30 * 16_000


@dataclass(frozen=True)
class AsrResult:
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    language: str  # decoding language ("" for English-only models: always "en")
    language_prob: float
    language_probs: tuple[tuple[str, float], ...]  # top audio-LID candidates ((), if not detected)


def load_whisper(model_dir: str, device: str = "auto", compute_type: str = "auto",
                 cpu_threads: int = 0) -> Any:
    """Load a CTranslate2 Whisper model once per worker."""
    import ctranslate2
    from faster_whisper import WhisperModel

    if device == "auto":
        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    threads = cpu_threads or len(os.sched_getaffinity(0))
    log.info("loading Whisper from %s on %s (%s, %d threads)", model_dir, device, compute_type,
             threads)
    return WhisperModel(str(model_dir), device=device, compute_type=compute_type,
                        cpu_threads=threads)


def _tokenizer(model: Any, language: str | None) -> Any:
    from faster_whisper.tokenizer import Tokenizer

    multilingual = model.model.is_multilingual
    return Tokenizer(model.hf_tokenizer, multilingual, task="transcribe",
                     language=(language or "en") if multilingual else None)


def transcribe_batch(model: Any, audios: list[np.ndarray], beam_size: int = 1,
                     language: str = "", lid_top_k: int = 5) -> list[AsrResult]:
    """Pseudo-label a batch of <= 30 s clips (16 kHz float32), one result per clip."""
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

    if not audios:
        return []
    fe = model.feature_extractor
    feats = np.stack([pad_or_trim(fe(a[:MAX_SAMPLES])[..., :-1]) for a in audios])
    encoded = model.encode(feats)
    multilingual = model.model.is_multilingual
    languages: list[str] = []
    lang_probs: list[tuple[tuple[str, float], ...]] = []
    if multilingual and not language:
        for candidates in model.model.detect_language(encoded):
            top = tuple((tok.strip("<|>"), float(p)) for tok, p in candidates[:lid_top_k])
            lang_probs.append(top)
            languages.append(top[0][0])
    else:
        lang = language if multilingual else "en"
        languages = [lang] * len(audios)
        lang_probs = [()] * len(audios)
    tokenizers = {lang: _tokenizer(model, lang) for lang in set(languages)}
    prompts = [
        model.get_prompt(tokenizers[lang], previous_tokens=[], without_timestamps=True)
        for lang in languages
    ]
    any_tok = next(iter(tokenizers.values()))
    results = model.model.generate(
        encoded, prompts, beam_size=beam_size, max_length=model.max_length,
        suppress_blank=True, suppress_tokens=get_suppressed_tokens(any_tok, [-1]),
        return_scores=True, return_no_speech_prob=True, sampling_temperature=1.0,
    )
    out = []
    for lang, probs, res in zip(languages, lang_probs, results, strict=True):
        tokens = res.sequences_ids[0]
        text = tokenizers[lang].decode(tokens).strip()
        seq_len = len(tokens)
        avg_logprob = float(res.scores[0] * seq_len / (seq_len + 1)) if res.scores else 0.0
        out.append(AsrResult(
            text=text,
            avg_logprob=avg_logprob,
            no_speech_prob=float(res.no_speech_prob),
            compression_ratio=float(get_compression_ratio(text)) if text else 0.0,
            language=lang,
            language_prob=float(probs[0][1]) if probs else (1.0 if lang == "en" else 0.0),
            language_probs=probs,
        ))
    return out
