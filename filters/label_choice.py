"""Choose a segment's training label: the source text, the pseudo-label, or neither.

Policy (issue 4, after the Whisper paper): a human source text is used when it agrees with the
pseudo-label within ``max_cer`` (the audio confirms it); a disagreeing human text is rejected
rather than overruled. When the source is missing or machine-generated, the pseudo-label is used
only if Whisper was confident (mean log-probability and no-speech probability) and no
hallucination flag fired. Audio-evidence flags (no speech
in the audio) reject whatever the label. A translation pair keeps its English source text.
"""

from __future__ import annotations

from typing import NamedTuple

from filters.agreement import agreement, max_cer_for
from filters.hallucination import Flag
from filters.label_config import LabelConfig
from filters.text_normalize import normalize
from schemas.reasons import Reason


class LabelChoice(NamedTuple):
    text: str  # the chosen label ("" when rejected)
    label_source: str  # "source" | "pseudo" | "translation" | "none" when rejected
    reason: str  # a Reason code when rejected, "" when kept
    detail: str  # the evidence behind the choice
    cer: float | None  # source vs pseudo-label agreement, when both exist
    wer: float | None


def _flags_text(flags: list[Flag]) -> str:
    return "; ".join(f"{f.name}={f.detail}" for f in flags)


def choose_label(
    source_text: str | None,
    pseudo_label: str | None,
    language: str,
    task: str,
    machine: bool,
    flags: list[Flag],
    avg_logprob: float | None,
    config: LabelConfig,
    no_speech_prob: float | None = None,
    label_coverage: float | None = None,
) -> LabelChoice:
    """Apply the label policy to one segment's texts, flags and ASR confidence."""
    source = " ".join((source_text or "").split())
    pseudo = " ".join((pseudo_label or "").split())
    audio_flags = [f for f in flags if f.audio]
    text_flags = [f for f in flags if not f.audio]
    cer = wer = None
    if source and pseudo and task != "translate":
        agree = agreement(source, pseudo, language)
        cer, wer = agree.cer, agree.wer

    def reject(reason: str, detail: str) -> LabelChoice:
        return LabelChoice("", "none", reason, detail, cer, wer)

    if audio_flags:
        return reject(Reason.HALLUCINATION, "audio: " + _flags_text(audio_flags))
    if task == "translate":
        if not source:
            return reject(Reason.EMPTY_LABEL, "translation pair without source text")
        if machine:
            return reject(Reason.MACHINE_TRANSCRIPT, "machine-generated translation text")
        return _checked(LabelChoice(source, "translation", "", "English text on "
                                    f"{language} audio", None, None), language, config)
    incomplete = label_coverage is not None and label_coverage < config.min_label_coverage
    if source and not machine:
        if cer is None:
            return reject(Reason.LABEL_DISAGREEMENT, "no pseudo-label to confirm the source")
        max_cer = max_cer_for(language, config)
        if cer <= max_cer:
            return _checked(LabelChoice(source, "source", "", f"cer {cer:.3f} <= {max_cer:.2f}",
                                        cer, wer), language, config)
        if incomplete:
            return reject(Reason.LABEL_INCOMPLETE, f"cer {cer:.3f} > {max_cer:.2f} against a "
                          f"pseudo-label covering {label_coverage:.2f} of the speech")
        return reject(Reason.LABEL_DISAGREEMENT, f"cer {cer:.3f} > {max_cer:.2f} ({language})")
    why = "machine-generated source" if source else "no source text"
    if not normalize(pseudo, language):
        return reject(Reason.EMPTY_LABEL, f"{why}; empty pseudo-label")
    if text_flags:
        only_logprob = all(f.name == "avg_logprob" for f in text_flags)
        return reject(Reason.LOW_ASR_CONFIDENCE if only_logprob else Reason.HALLUCINATION,
                      f"{why}; " + _flags_text(text_flags))
    if avg_logprob is None or avg_logprob < config.min_pseudo_avg_logprob:
        return reject(Reason.LOW_ASR_CONFIDENCE,
                      f"{why}; avg_logprob {avg_logprob} < {config.min_pseudo_avg_logprob}")
    if no_speech_prob is not None and no_speech_prob > config.max_no_speech_prob:
        return reject(Reason.LOW_ASR_CONFIDENCE,
                      f"{why}; no_speech_prob {no_speech_prob:.2f} > {config.max_no_speech_prob}")
    if incomplete:
        return reject(Reason.LABEL_INCOMPLETE, f"{why}; the pseudo-label covers "
                      f"{label_coverage:.2f} < {config.min_label_coverage} of the VAD speech")
    return _checked(LabelChoice(pseudo, "pseudo", "", f"{why}; avg_logprob {avg_logprob:.2f}",
                                cer, wer), language, config)


def _checked(choice: LabelChoice, language: str, config: LabelConfig) -> LabelChoice:
    """Reject a chosen label that normalises to (almost) nothing."""
    if len(normalize(choice.text, language).replace(" ", "")) < max(1, config.min_label_chars):
        return LabelChoice("", "none", Reason.EMPTY_LABEL, f"label {choice.text[:40]!r} is empty "
                           "after normalisation", choice.cer, choice.wer)
    return choice
