"""Agreement between a source transcript and a Whisper pseudo-label: CER and WER with jiwer.

Both texts are normalised first (filters/text_normalize.py) so that casing, punctuation and
spelling variants do not count as disagreement. CER ignores spaces, which makes it meaningful
for languages written without them.
"""

from __future__ import annotations

from typing import NamedTuple

import jiwer

from filters.text_normalize import normalize


class Agreement(NamedTuple):
    """Error rates of ``hypothesis`` against ``reference`` (both normalised)."""

    cer: float
    wer: float
    reference: str  # normalised reference
    hypothesis: str  # normalised hypothesis


def _rate(ref: str, hyp: str, fn) -> float:
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(fn(ref, hyp))


def agreement(reference: str | None, hypothesis: str | None, language: str = "") -> Agreement:
    """CER/WER of the hypothesis (pseudo-label) against the reference (source text).

    An empty reference against a non-empty hypothesis scores 1.0; two empty texts score 0.0.
    """
    ref = normalize(reference, language)
    hyp = normalize(hypothesis, language)
    cer = _rate(ref.replace(" ", ""), hyp.replace(" ", ""), jiwer.cer)
    wer = _rate(ref, hyp, jiwer.wer)
    return Agreement(cer=cer, wer=wer, reference=ref, hypothesis=hyp)


def corpus_error_rates(
    references: list[str], hypotheses: list[str], language: str = ""
) -> tuple[float, float]:
    """Corpus-level (CER, WER): edits summed over all pairs, divided by reference length.

    Used by the quality benchmark; empty normalised references are skipped.
    """
    refs, hyps = [], []
    for r, h in zip(references, hypotheses, strict=True):
        rn, hn = normalize(r, language), normalize(h, language)
        if rn:
            refs.append(rn)
            hyps.append(hn if hn else "")
    if not refs:
        return 0.0, 0.0
    cer = jiwer.cer([r.replace(" ", "") for r in refs], [h.replace(" ", "") for h in hyps])
    wer = jiwer.wer(refs, hyps)
    return float(cer), float(wer)
