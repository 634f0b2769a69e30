"""Batched Whisper pseudo-labelling of short segments with faster-whisper / CTranslate2.

``WhisperModel.transcribe`` works one file at a time and walks it in padded 30 s windows. Our
segments are already at most 30 s, so three things make a batch cheaper than that:

* **Trimmed encoder context.** Whisper's encoder is ~80 % of the CPU time and its cost grows with
  the number of input frames (attention quadratically). A 10 s segment does not need 30 s of
  padding: we keep ``context_pad_s`` seconds of silence after the speech (the model needs some
  padding to end the transcript cleanly; with none, WER explodes) and drop the rest. On the
  speech-eval set this is faster *and* no worse in WER than full windows
  (``benchmarks/quality.py``).
* **Length buckets.** Segments are sorted by length and encoded in sub-batches of similar length,
  so a 3 s segment is not padded to the 25 s one beside it.
* **Language pooled per recording.** Whisper's per-segment language detection is noisy on short or
  conversational speech (an English earnings call was read as Welsh); the probabilities of all
  segments of one recording in the batch are summed, weighted by duration, and every segment is
  decoded in the pooled language. When even the pooled vote is unsure (a 3.7 s Spanish clip read
  as Malay at p = 0.40) and the caller knows the transcript's language, that language is used.

No Beam here: ``pipelines/stages/asr.py`` wraps this in RunInference.
"""

from __future__ import annotations

import logging
import math
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from filters.lid_policy import pool_language_probs

log = logging.getLogger(__name__)
SAMPLE_RATE = 16_000
MAX_SECONDS = 30
MAX_SAMPLES = MAX_SECONDS * SAMPLE_RATE
# A sub-batch is closed when the next segment's context is this much longer than its first one.
BUCKET_GROWTH = 1.25


@dataclass(frozen=True)
class AsrResult:
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    language: str  # the language decoded in ("en" for English-only models)
    detected_language: str  # pooled audio LID over the recording's clips ("" if not detected)
    detected_prob: float  # its pooled probability (0.0 when not detected)
    language_probs: tuple[tuple[str, float], ...]  # top pooled candidates ((), if not detected)


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


def context_seconds(n_samples: int, context_pad_s: float) -> int:
    """Whole seconds of encoder input for a clip: its length plus the pad, at most 30.

    ``context_pad_s <= 0`` keeps Whisper's full 30 s window."""
    if context_pad_s <= 0:
        return MAX_SECONDS
    return min(MAX_SECONDS, max(1, math.ceil(n_samples / SAMPLE_RATE + context_pad_s)))


def length_buckets(contexts: Sequence[int], max_size: int) -> list[list[int]]:
    """Indices grouped into sub-batches of similar context length (shortest first)."""
    order = sorted(range(len(contexts)), key=lambda i: contexts[i])
    buckets: list[list[int]] = []
    for i in order:
        if (buckets and len(buckets[-1]) < max_size
                and contexts[i] <= contexts[buckets[-1][0]] * BUCKET_GROWTH):
            buckets[-1].append(i)
        else:
            buckets.append([i])
    return buckets


def pool_languages(probs: Sequence[dict[str, float]], weights: Sequence[float],
                   groups: Sequence[object]) -> list[dict[str, float]]:
    """Per clip, the weighted mean language distribution of all clips in its group."""
    votes: dict[object, list[tuple[Iterable[tuple[str, float]], float]]] = defaultdict(list)
    for p, w, g in zip(probs, weights, groups, strict=True):
        votes[g].append((p.items(), w))
    pooled = {g: pool_language_probs(v) for g, v in votes.items()}
    return [pooled[g] for g in groups]


def _features(model: Any, audio: np.ndarray, seconds: int) -> np.ndarray:
    """Log-mel features of the clip zero-padded to ``seconds`` (as Whisper pads to 30 s)."""
    clip = audio[:MAX_SAMPLES].astype(np.float32, copy=False)
    padded = np.zeros(seconds * SAMPLE_RATE, dtype=np.float32)
    padded[:len(clip)] = clip[:len(padded)]
    return model.feature_extractor(padded)[..., :seconds * 100]


def _top(probs: dict[str, float], k: int) -> tuple[tuple[str, float], ...]:
    return tuple(sorted(probs.items(), key=lambda kv: -kv[1])[:k])


def decoding_language(pooled: dict[str, float], hint: str, hint_below_prob: float,
                      known: set[str]) -> str:
    """The pooled audio language, or the hint (the transcript's language) when audio is unsure."""
    best = max(pooled, key=pooled.__getitem__)
    if hint and hint in known and pooled[best] < hint_below_prob:
        return hint
    return best


def transcribe_batch(model: Any, audios: Sequence[np.ndarray], beam_size: int = 5,
                     language: str = "", lid_top_k: int = 5,
                     groups: Sequence[object] | None = None,
                     context_pad_s: float = 5.0, hints: Sequence[str] | None = None,
                     hint_below_prob: float = 0.5) -> list[AsrResult]:
    """Pseudo-label a batch of <= 30 s clips (16 kHz float32), one result per clip.

    ``groups`` names each clip's recording: language detection is pooled within a group (each
    clip is its own group when omitted). ``language`` forces the decoding language; ``hints``
    (per clip, "" for none) are used when the pooled audio LID is below ``hint_below_prob``."""
    from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

    if not audios:
        return []
    groups = list(groups) if groups is not None else list(range(len(audios)))
    contexts = [context_seconds(min(len(a), MAX_SAMPLES), context_pad_s) for a in audios]
    buckets = length_buckets(contexts, len(audios))
    multilingual = model.model.is_multilingual
    detect = multilingual and not language
    encoded: list[Any] = []
    own: list[dict[str, float]] = [{} for _ in audios]
    for bucket in buckets:
        seconds = max(contexts[i] for i in bucket)
        feats = np.stack([_features(model, audios[i], seconds) for i in bucket])
        out = model.encode(feats)
        encoded.append(out)
        if detect:
            for i, candidates in zip(bucket, model.model.detect_language(out), strict=True):
                own[i] = {tok.strip("<|>"): float(p) for tok, p in candidates}
    if detect:
        pooled = pool_languages(own, [min(len(a), MAX_SAMPLES) for a in audios], groups)
        known = set(own[0])
        languages = [decoding_language(p, h, hint_below_prob, known)
                     for p, h in zip(pooled, hints or [""] * len(audios), strict=True)]
    else:
        pooled = [{} for _ in audios]
        languages = [language if multilingual else "en"] * len(audios)
    tokenizers = {lang: _tokenizer(model, lang) for lang in set(languages)}
    suppress = get_suppressed_tokens(next(iter(tokenizers.values())), [-1])
    texts: list[tuple[str, list[int], Any]] = [("", [], None)] * len(audios)
    for bucket, enc in zip(buckets, encoded, strict=True):
        prompts = [model.get_prompt(tokenizers[languages[i]], previous_tokens=[],
                                    without_timestamps=True) for i in bucket]
        results = model.model.generate(
            enc, prompts, beam_size=beam_size, max_length=model.max_length,
            suppress_blank=True, suppress_tokens=suppress, return_scores=True,
            return_no_speech_prob=True, sampling_temperature=1.0,
        )
        for i, res in zip(bucket, results, strict=True):
            tokens = res.sequences_ids[0]
            texts[i] = (tokenizers[languages[i]].decode(tokens).strip(), tokens, res)
    out_results = []
    for i, (text, tokens, res) in enumerate(texts):
        seq_len = len(tokens)
        avg_logprob = float(res.scores[0] * seq_len / (seq_len + 1)) if res.scores else 0.0
        top = _top(pooled[i], lid_top_k)
        out_results.append(AsrResult(
            text=text,
            avg_logprob=avg_logprob,
            no_speech_prob=float(res.no_speech_prob),
            compression_ratio=float(get_compression_ratio(text)) if text else 0.0,
            language=languages[i],
            detected_language=top[0][0] if top else "",
            detected_prob=top[0][1] if top else 0.0,
            language_probs=top,
        ))
    return out_results
