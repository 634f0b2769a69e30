"""Translation pairs: English text on other-language audio, verified against the audio before
it becomes X->en training data (the Whisper paper's ``task: translate``).

An English transcript beside German audio is either a real translation of what is said or
English text that belongs to something else (another episode, a show description, a wrong
file). The audio-language pseudo-label cannot tell them apart: English never aligns with German.
So analyse decodes each candidate's audio a second time with ``task="translate"`` (Whisper's
X->en translation, ``pipelines/whisper.py``), slices an untimed English text across the
segments by aligning it to those translations (English against English, ``filters/alignment.py``;
the first and last segments take the text's edges), and scores each segment's English text
against its audio: the text's mean per-token log-probability under Whisper's translate task
given the audio, minus given silence (pointwise mutual information, nats per token;
``pipelines.whisper.reference_scores``). Decide keeps a pair when that score reaches
``min_segment_score`` and the recording's pairs, pooled (duration-weighted), reach
``min_recording_score``; chrF of the text against Whisper's translation is recorded beside it.

Why not chrF alone. Measured on 17 speech-eval clips with hand-written translations against
the English texts of the 16 other clips (Whisper base, beam 5, ``benchmarks/translation.py``):
chrF of true pairs 15-63, of mismatched ones up to 28; the ranges overlap (base translates
"Uma raposa velha..." as "A velha gun can not be learned in an office"), and sv/it pairs fell
below mismatches once the clips were cut by VAD. The score above: true pairs 0.07-2.8 (every
language but one 4 s Chinese clip above 0.5), mismatched -0.2-0.11. It reads how well the audio
predicts the human's words rather than how close Whisper's own wording comes to them.

Pure code (no Beam, no model): ``slice_english`` is called by analyse's ASR stage,
``TranslationConfig``, ``pooled_score`` and ``segment_chrf`` by ``filters/label_decisions.py``,
``summarise_pairs`` by ``stats.json``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import median
from typing import Any

from filters.alignment import align_transcript
from filters.config_checks import checker, need_finite_floats

SCORE_DETAIL = re.compile(r"score=(-?\d+(?:\.\d+)?)")  # the segment's score in a detail


@dataclass(frozen=True)
class TranslationConfig:
    """Thresholds of the translation-pair check (``curate.labels.translation``)."""

    # PMI (nats per token) of a segment's English text given its audio under Whisper's
    # translate task, minus given silence, below which the pair is translation_mismatch
    min_segment_score: float = 0.3
    # the same, pooled over all of a recording's pairs (weighted by duration), below which
    # every pair of the recording is translation_mismatch (one good segment cannot carry a
    # wrong transcript)
    min_recording_score: float = 0.3
    # a candidate analysed without a score (asr.translate off, or analysed before translation
    # pairs were verified): true keeps it unverified, false (the default) rejects its text as
    # translation_mismatch and keeps the audio with its pseudo-label
    keep_unverified: bool = False

    def validate(self, where: str) -> None:
        need = checker(where)
        need_finite_floats(self, need)
        for name in ("min_segment_score", "min_recording_score"):
            value = getattr(self, name)
            need(-20.0 <= value <= 20.0, name,
                 f"must be in [-20, 20] nats per token, got {value!r}")


# Untimed English text is sliced by alignment only (no bound): two good translations of one
# sentence can share no word at all, and the score judges every slice afterwards.
SLICE_MAX_ERROR = 1.0
SLICE_MIN_MATCHES = 0


def slice_english(text: str, translations: Sequence[str | None],
                  adjacent: Sequence[bool] | None = None) -> list[str | None]:
    """Each segment's share of an untimed English ``text``, cut by aligning it to the segments'
    Whisper translations in order (None where nothing aligned)."""
    pieces = align_transcript(text, [t or "" for t in translations], adjacent,
                              SLICE_MAX_ERROR, SLICE_MIN_MATCHES, "en", extend_edges=True)
    return [p.text for p in pieces]


def pooled_score(scores: Sequence[float], weights: Sequence[float]) -> float:
    """Weighted mean of a recording's pair scores (weights: segment durations)."""
    total = sum(weights)
    if total <= 0:
        return sum(scores) / len(scores) if scores else 0.0
    return sum(s * w for s, w in zip(scores, weights, strict=True)) / total


@lru_cache(maxsize=1)
def _chrf() -> Any:
    from sacrebleu.metrics import CHRF

    return CHRF(lowercase=True)


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def segment_chrf(english: str | None, translation: str | None) -> float:
    """chrF of Whisper's translation (hypothesis) against the English text (reference)."""
    ref, hyp = _clean(english), _clean(translation)
    if not ref or not hyp:
        return 0.0
    return round(float(_chrf().sentence_score(hyp, [ref]).score), 2)


def verdict(seg_score: float, rec_score: float, config: TranslationConfig) -> str:
    """'' when the pair passes, else why not (for the reject's detail)."""
    if rec_score < config.min_recording_score:
        return (f"recording score {rec_score:.2f} < {config.min_recording_score:g} "
                f"(segment {seg_score:.2f})")
    if seg_score < config.min_segment_score:
        return f"segment score {seg_score:.2f} < {config.min_segment_score:g}"
    return ""


def pair_name(language: str | None) -> str:
    """``de-en``: the audio's language to English."""
    return f"{language or 'unknown'}-en"


def summarise_pairs(segments: Iterable[dict[str, Any]],
                    rejects: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per language pair: translation pairs kept (segments, hours, score and chrF min/median/max)
    and English texts rejected as ``translation_mismatch`` (with their score where scored).
    ``stats.json`` holds it under ``translations``; the report draws it."""
    kept: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in segments:
        if s.get("label_source") == "translation":
            kept[pair_name(s.get("language"))].append(s)
    dropped: dict[str, list[float | None]] = defaultdict(list)
    for r in rejects:
        if r.get("reason") == "translation_mismatch":
            found = SCORE_DETAIL.search(r.get("detail") or "")
            dropped[pair_name(r.get("language"))].append(float(found.group(1)) if found
                                                         else None)
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(set(kept) | set(dropped)):
        pairs = kept.get(name, [])
        bad = [x for x in dropped.get(name, []) if x is not None]
        out[name] = {
            "kept": len(pairs),
            "kept_hours": round(sum(s.get("duration") or 0.0 for s in pairs) / 3600.0, 6),
            "kept_score": _spread([s["translation_score"] for s in pairs
                                   if s.get("translation_score") is not None]),
            "kept_chrf": _spread([s["translation_chrf"] for s in pairs
                                  if s.get("translation_chrf") is not None]),
            "mismatch": len(dropped.get(name, [])),
            "mismatch_score": _spread(bad),
        }
    return out


def _spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"min": round(min(values), 2), "median": round(median(values), 2),
            "max": round(max(values), 2)}
