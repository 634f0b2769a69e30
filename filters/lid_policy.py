"""Audio/text language agreement, after the Whisper paper (section 2.1).

Whisper's audio language detector and fastText on the transcript each vote. When both are
confident and disagree, the pair is dropped (``lid_mismatch``), with one exception: English
text on non-English audio is kept as a translation pair (``task="translate"``) — the paper's
X->en training data. A vote below its confidence threshold counts as no evidence; the audio
vote also "agrees" when Whisper gives the text's language a non-negligible probability, which
tolerates its confusions between close languages (es/pt/gl, sv/no/da) on short clips.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from filters.label_config import LabelConfig
from schemas.reasons import Reason


class LidDecision(NamedTuple):
    language: str  # the decided language ("" when rejected)
    prob: float  # its probability (the stronger of the agreeing votes)
    task: str  # "transcribe" or "translate"
    reason: str  # a Reason code when rejected, "" when kept
    detail: str  # human-readable evidence


def pool_language_probs(
    votes: Iterable[tuple[Iterable[tuple[str, float]], float]],
) -> dict[str, float]:
    """Weighted mean of several windows' language distributions (weight: their duration).

    Whisper's detection on one short window is noisy; pooled over a recording's windows it is the
    "several windows, not just the first 30 s" evidence. Windows without a distribution do not
    count."""
    sums: dict[str, float] = {}
    total = 0.0
    for probs, weight in votes:
        probs = list(probs)
        if not probs:
            continue
        for lang, p in probs:
            sums[lang] = sums.get(lang, 0.0) + p * weight
        total += weight
    return {lang: v / total for lang, v in sums.items()} if total > 0 else {}


def _base(lang: str) -> str:
    return (lang or "").split("-")[0].split("_")[0].lower()


def decide_language(
    audio_language: str,
    audio_prob: float,
    audio_probs: tuple[tuple[str, float], ...] | list[tuple[str, float]],
    text_language: str,
    text_prob: float,
    config: LabelConfig,
    declared_language: str = "",
) -> LidDecision:
    """Combine the audio and text votes into one language (or a reject reason)."""
    audio, text = _base(audio_language), _base(text_language)
    probs = {_base(k): float(v) for k, v in (audio_probs or ())}
    if audio and audio not in probs:
        probs[audio] = float(audio_prob)
    audio_ok = bool(audio) and audio_prob >= config.min_audio_language_prob
    text_ok = bool(text) and text_prob >= config.min_text_language_prob
    detail = (f"audio={audio or '-'}:{audio_prob:.2f} text={text or '-'}:{text_prob:.2f}"
              f" declared={declared_language or '-'}")
    if audio_ok and text_ok:
        if audio == text:
            return LidDecision(text, max(audio_prob, text_prob), "transcribe", "", detail)
        if probs.get(text, 0.0) >= config.lid_agree_min_prob:
            # Whisper hesitates between the two: trust the text on the text's language.
            return LidDecision(text, max(text_prob, probs[text]), "transcribe", "", detail)
        if (config.allow_translation and text == "en" and audio != "en"
                and audio_prob >= config.min_translation_audio_prob):
            return LidDecision(audio, audio_prob, "translate", "", detail + " translation")
        return LidDecision("", 0.0, "transcribe", Reason.LID_MISMATCH, detail)
    if text_ok:
        # An unsure audio vote does not veto; a wrong text language is caught later by the
        # source/pseudo-label agreement check.
        return LidDecision(text, text_prob, "transcribe", "", detail)
    if audio_ok:
        return LidDecision(audio, audio_prob, "transcribe", "", detail)
    declared = _base(declared_language) or _base(config.fallback_language)
    if declared and (not audio or probs.get(declared, 0.0) >= config.lid_agree_min_prob):
        return LidDecision(declared, probs.get(declared, 0.0), "transcribe", "",
                           detail + " from declared")
    if not config.require_language:
        best = audio or text or declared
        return LidDecision(best, max(audio_prob, text_prob) if best else 0.0, "transcribe",
                           "", detail + " low confidence")
    return LidDecision("", 0.0, "transcribe", Reason.LID_LOW_CONFIDENCE, detail)
