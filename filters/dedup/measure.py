"""The dedup measures analyse stores on each thin row (computed once, with the audio at hand):
exact hashes of the PCM and of the normalised text, the MinHash signature and the acoustic
fingerprint. Decide clusters them without reading audio again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from filters.dedup import audio as audio_fp
from filters.dedup.config import DedupConfig
from filters.dedup.text import normalise, signatures, text_hash, word_count


def dedup_text(source_text: str | None, pseudo_label: str | None) -> str:
    """The text a segment is deduplicated on: its timed source text, else its pseudo-label
    (the training label is chosen later, in decide; both say the same words when kept)."""
    return normalise(source_text) or normalise(pseudo_label)


def segment_measures(clips: Sequence[tuple[np.ndarray | None, str | None, str | None]],
                     cfg: DedupConfig) -> list[dict[str, Any]]:
    """One dict of DEDUP_SEGMENT_FIELDS per (audio, source text, pseudo-label); signatures in
    one bulk call."""
    texts = [dedup_text(src, pseudo) for _, src, pseudo in clips]
    sigs = signatures(texts, cfg.num_perm, cfg.seed, cfg.shingle, cfg.shingle_size)
    out = []
    for (audio, _, _), text, sig in zip(clips, texts, sigs, strict=True):
        has_audio = audio is not None and len(audio) > 0
        out.append({
            "text_hash": text_hash(text),
            "text_words": word_count(text),
            "text_minhash": sig,
            "audio_sha256": audio_fp.pcm_sha256(audio) if has_audio else "",
            "audio_fp": audio_fp.fingerprint_bytes(audio) if has_audio else None,
        })
    return out


def recording_measures(samples: np.ndarray | None) -> dict[str, Any]:
    """The whole recording's exact PCM hash and fingerprint."""
    if samples is None or not len(samples):
        return {"pcm_sha256": "", "audio_fp": None}
    return {"pcm_sha256": audio_fp.pcm_sha256(samples),
            "audio_fp": audio_fp.fingerprint_bytes(samples)}
