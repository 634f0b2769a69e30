"""Label decisions: which text a segment is trained on, or why it is dropped.

Two hooks called by the curate pipeline:

* :func:`decide_segment` — before the shuffle, per segment: audio/text language policy,
  hallucination flags, and the label choice for timed transcripts and segments with no
  transcript. Rejected audio is never shuffled.
* :func:`decide_recording` — after the shuffle, on all surviving segments of one recording:
  alignment of an untimed transcript across its segments, and machine-generated transcript
  detection over the whole recording's text (which can turn a "source" label into a pseudo-label
  or a reject), and the recording's audio language pooled over all its segments (a pseudo-label
  decoded in another language is dropped as ``lid_mismatch``).

Every decision is recorded as a verdict (``label.lid``, ``label.hallucination``,
``label.machine_text``, ``label.alignment``, ``label.choice``, ``label.recording_lid``) with its
evidence; every segment that enters leaves kept or as a :class:`Reject` — also when the policy
code itself fails.
"""

from __future__ import annotations

from dataclasses import replace

from filters.agreement import max_align_error_for
from filters.alignment import align_transcript
from filters.hallucination import pseudo_label_flags
from filters.label_choice import choose_label
from filters.label_config import LabelConfig
from filters.lid_policy import decide_language, pool_language_probs
from filters.machine_text import MachineVerdict, looks_machine_generated
from filters.translation import pooled_score, segment_chrf
from filters.translation import verdict as translation_verdict
from schemas.reasons import Reason, Stage
from schemas.records import Recording, Reject, Segment, Verdict

__all__ = ["LabelConfig", "decide_recording", "decide_segment", "recording_machine_verdict"]


TRANSCRIPT_VERDICT = "label.transcript"  # a flag: the transcript was rejected, the audio went on
# label choices that reject the TEXT, not the audio: the audio goes on with its pseudo-label
TEXT_REASONS = frozenset({Reason.LABEL_DISAGREEMENT, Reason.MACHINE_TRANSCRIPT})


def transcript_rejected(seg: Segment, reason: str, detail: str,
                        config: LabelConfig) -> Segment | Reject:
    """The transcript is the reject; the audio goes on like a recording without one.

    The text's rejection is recorded as a passed ``label.transcript`` verdict carrying the
    reason (decide turns it into a ``stage: transcript`` reject row; the segment itself is still
    accounted for once). The audio's language is decided again without the text's vote, and its
    pseudo-label must pass the checks any segment without a transcript passes (confidence,
    hallucination, coverage); if it does not, the segment is dropped for that reason, and the
    transcript's rejection stays in its verdicts and detail."""
    seg = seg.with_verdict(Verdict(TRANSCRIPT_VERDICT, True, reason, detail))
    lid = decide_language(seg.audio_language, seg.audio_language_prob, seg.audio_language_probs,
                          "", 0.0, config, seg.declared_language)
    why = f"transcript rejected ({reason}: {detail})"
    if not seg.audio_language and seg.language and seg.language != lid.language:
        # An English-only model (tiny.en) gives no audio LID: on speech the text says is German
        # its pseudo-label is English words for German sounds; the audio cannot go on alone.
        return Reject.for_segment(seg, Stage.LABEL, reason, f"{detail}; no audio language ID "
                                  f"to keep the audio on its own (the text says {seg.language})")
    if lid.reason:
        seg = seg.with_verdict(Verdict("label.lid", False, lid.reason,
                                       f"audio alone: {lid.detail}"))
        return Reject.for_segment(seg, Stage.LID, lid.reason, f"{lid.detail}; {why}")
    bare = replace(seg, source_text=None, text="", label_source="none", task="transcribe",
                   language=lid.language, language_prob=float(lid.prob), cer=None, wer=None)
    out = _choose(bare, config, MachineVerdict(False, ""))
    if isinstance(out, Reject):
        return replace(out, text=seg.source_text or "", detail=f"{out.detail}; {why}"[:2000])
    return replace(out, source_text=seg.source_text)


def _choose(seg: Segment, config: LabelConfig, machine: MachineVerdict) -> Segment | Reject:
    """Label choice for one segment whose language and task are already decided. A text the
    audio contradicts (or a machine-made translation text) is rejected on its own; the audio
    goes on with its pseudo-label (:func:`transcript_rejected`)."""
    flags = pseudo_label_flags(seg.pseudo_label, seg.duration, seg.language, seg.avg_logprob,
                               seg.no_speech_prob, seg.compression_ratio, seg.speech_ratio, config)
    choice = choose_label(seg.source_text, seg.pseudo_label, seg.language, seg.task,
                          machine.machine, flags, seg.avg_logprob, config,
                          seg.no_speech_prob, seg.label_coverage)
    seg = replace(seg, cer=choice.cer, wer=choice.wer)
    flag_text = "; ".join(f"{f.name}={f.detail}" for f in flags) or "none"
    rejected_for_flags = choice.reason in (Reason.HALLUCINATION, Reason.LOW_ASR_CONFIDENCE)
    seg = seg.with_verdict(Verdict("label.hallucination", not (flags and rejected_for_flags),
                                   Reason.HALLUCINATION if flags and rejected_for_flags else "",
                                   f"flags: {flag_text}"))
    if choice.reason in TEXT_REASONS and (seg.source_text or "").strip():
        return transcript_rejected(seg, choice.reason, choice.detail, config)
    if choice.reason:
        return Reject.for_segment(seg, Stage.LABEL, choice.reason, choice.detail)
    return replace(seg, text=choice.text, label_source=choice.label_source).with_verdict(
        Verdict("label.choice", True, "", f"{choice.label_source}: {choice.detail}"))


def decide_segment(seg: Segment, config: LabelConfig) -> Segment | Reject:
    """Per-segment decision, before the shuffle (see module docstring)."""
    try:
        return _decide_segment(seg, config)
    except Exception as exc:  # a policy bug must not crash the job
        return Reject.for_segment(seg, Stage.LABEL, Reason.LABEL_FAILED,
                                  f"{type(exc).__name__}: {exc}")


def _decide_segment(seg: Segment, config: LabelConfig) -> Segment | Reject:
    # an untimed segment has no text of its own yet; its recording's transcript language votes
    has_text = bool((seg.source_text or "").strip()) or (
        seg.source_text_kind == "untimed" and bool(seg.text_language))
    lid = decide_language(
        seg.audio_language, seg.audio_language_prob, seg.audio_language_probs,
        seg.text_language if has_text else "", seg.text_language_prob if has_text else 0.0,
        config, seg.declared_language)
    seg = seg.with_verdict(Verdict("label.lid", not lid.reason, lid.reason,
                                   f"{lid.language or '-'} {lid.task}: {lid.detail}"))
    if lid.reason:
        return Reject.for_segment(seg, Stage.LID, lid.reason, lid.detail)
    seg = replace(seg, language=lid.language, language_prob=float(lid.prob), task=lid.task)
    if seg.source_text_kind == "untimed":
        # The label waits for the recording-wide alignment; only audio evidence decides now.
        flags = [f for f in pseudo_label_flags(
            seg.pseudo_label, seg.duration, seg.language, seg.avg_logprob, seg.no_speech_prob,
            seg.compression_ratio, seg.speech_ratio, config) if f.audio]
        if flags:
            detail = "audio: " + "; ".join(f"{f.name}={f.detail}" for f in flags)
            seg = seg.with_verdict(Verdict("label.hallucination", False, Reason.HALLUCINATION,
                                           detail))
            return Reject.for_segment(seg, Stage.LABEL, Reason.HALLUCINATION, detail)
        return seg
    machine = MachineVerdict(False, "")
    if has_text and config.detect_machine_text:
        machine = looks_machine_generated(seg.source_text, config.machine_min_chars,
                                          config.machine_unbroken_chars)
    return _choose(seg, config, machine)


def recording_machine_verdict(
    recording: Recording, segments: list[Segment], config: LabelConfig
) -> MachineVerdict:
    """Judge the recording's whole transcript (untimed text, cues, or segment texts)."""
    if not config.detect_machine_text:
        return MachineVerdict(False, "")
    text = recording.transcript_text or " ".join(c.text for c in recording.cues)
    if not text.strip():
        text = " ".join(s.source_text or "" for s in segments)
    return looks_machine_generated(text, config.machine_min_chars, config.machine_unbroken_chars)


def decide_recording(
    recording: Recording, segments: list[Segment], config: LabelConfig
) -> tuple[list[Segment], list[Reject]]:
    """Per-recording decision, after the shuffle (see module docstring)."""
    segments = sorted(segments, key=lambda s: s.index)
    try:
        return _decide_recording(recording, segments, config)
    except Exception as exc:  # every segment must still leave as a Reject
        detail = f"{type(exc).__name__}: {exc}"
        return [], [Reject.for_segment(s, Stage.LABEL, Reason.LABEL_FAILED, detail)
                    for s in segments]


def recording_audio_language(segments: list[Segment]) -> tuple[str, float]:
    """The recording's audio language: its segments' LID pooled, weighted by duration."""
    pooled = pool_language_probs((s.audio_language_probs, s.duration) for s in segments)
    if not pooled:
        return "", 0.0
    best = max(pooled, key=pooled.__getitem__)
    return best, pooled[best]


def _off_language(seg: Segment, language: str, prob: float, config: LabelConfig) -> str:
    """Why a pseudo-labelled segment decoded in another language than its recording is dropped
    ("" when it is not): its label would be a transcript in the wrong language."""
    if (not language or prob < config.min_audio_language_prob or seg.label_source != "pseudo"
            or not seg.audio_language or seg.audio_language == language):
        return ""
    return (f"pseudo-label decoded as {seg.audio_language}:{seg.audio_language_prob:.2f}, "
            f"the recording's audio is {language}:{prob:.2f}")


def _decide_recording(
    recording: Recording, segments: list[Segment], config: LabelConfig
) -> tuple[list[Segment], list[Reject]]:
    kept, rejects = _decide_labels(recording, segments, config)
    language, prob = recording_audio_language(segments)
    consistent = []
    for seg in kept:
        detail = _off_language(seg, language, prob, config)
        if detail:
            seg = seg.with_verdict(Verdict("label.recording_lid", False, Reason.LID_MISMATCH,
                                           detail))
            rejects.append(Reject.for_segment(seg, Stage.LID, Reason.LID_MISMATCH, detail))
        else:
            consistent.append(seg)
    return _transcript_coverage(recording, consistent, config), rejects


def transcript_coverage(recording: Recording, kept: list[Segment]) -> tuple[int, int]:
    """(words of the recording's transcript, words of it used by kept source labels)."""
    text = recording.transcript_text or " ".join(c.text for c in recording.cues)
    total = len(text.split())
    used = sum(len(s.text.split()) for s in kept if s.label_source in ("source", "translation"))
    return total, min(used, total)


def _transcript_coverage(recording: Recording, kept: list[Segment],
                         config: LabelConfig) -> list[Segment]:
    """Flag (keep, but mark) the kept segments of a recording whose transcript is mostly unused:
    a 5 MB transcript of which 17 words made it into labels is not this recording's."""
    total, used = transcript_coverage(recording, kept)
    if total < max(1, config.transcript_coverage_min_words):
        return kept
    share = used / total
    if share >= config.min_transcript_coverage:
        return kept
    detail = f"labels use {used} of the transcript's {total} words ({share:.2f})"
    return [s.with_verdict(Verdict("label.transcript_coverage", True,
                                   Reason.TRANSCRIPT_COVERAGE, detail)) for s in kept]


def _align_untimed(transcript: str, segments: list[Segment], config: LabelConfig,
                   machine: MachineVerdict, machine_verdict: Verdict) -> list[Segment | Reject]:
    """Slice an untimed transcript across ``segments`` and choose their labels.

    Transcribed segments align the text to their pseudo-labels. Translation candidates were
    sliced in analyse, by aligning the English text to Whisper's English translations, and their
    slices scored against the audio there (``translation_text``, ``translation_score``). A
    segment its text does not align to keeps its audio: the text is rejected (``unaligned_text``,
    or ``translation_mismatch`` for a pair)."""
    if not segments:
        return []
    pair = segments[0].task == "translate"
    if pair:
        slices = [s.translation_text for s in segments]
        details = ["sliced by Whisper's translation in analyse"] * len(segments)
        whys = ["not aligned to Whisper's translation" if s.translation is not None else
                "no Whisper translation to slice the English text by (asr.translate off?)"
                for s in segments]
    else:
        adjacent = [b.index == a.index + 1 for a, b in zip(segments, segments[1:], strict=False)]
        pieces = align_transcript(transcript, [s.pseudo_label for s in segments], adjacent,
                                  max_align_error_for(segments[0].language, config),
                                  config.min_align_matches, segments[0].language)
        slices = [p.text for p in pieces]
        details = [f"matches={p.matches} errors={p.errors} words={p.words} "
                   f"error_rate={p.error_rate:.2f}" for p in pieces]
        whys = [f"not aligned to the pseudo-label: {p.reason}" for p in pieces]
    out: list[Segment | Reject] = []
    for seg, piece, detail, why in zip(segments, slices, details, whys, strict=True):
        if piece is None:
            reason = Reason.TRANSLATION_MISMATCH if pair else Reason.UNALIGNED_TEXT
            out.append(transcript_rejected(seg, reason, f"{why}; {detail}", config))
            continue
        seg = replace(seg, source_text=piece).with_verdict(
            Verdict("label.alignment", True, "", detail)).with_verdict(machine_verdict)
        out.append(_choose(seg, config, machine))
    return out


def _verify_translations(kept: list[Segment], config: LabelConfig
                         ) -> tuple[list[Segment], list[Reject]]:
    """Judge every translation pair of one recording by the score analyse gave its English
    text against its audio (``filters/translation.py``), per segment and pooled; a pair below
    either threshold has its text rejected (``translation_mismatch``) and its audio goes on
    with its pseudo-label. chrF against Whisper's translation is recorded as evidence."""
    tcfg = config.translation
    pairs = [s for s in kept if s.label_source == "translation"]
    out = [s for s in kept if s.label_source != "translation"]
    rejects: list[Reject] = []

    def add(result: Segment | Reject) -> None:
        (rejects if isinstance(result, Reject) else out).append(result)

    scored = [replace(s, translation_chrf=segment_chrf(s.text, s.translation)
                      if s.translation is not None else None) for s in pairs]
    unverified = [s for s in scored if s.translation_score is None]
    scored = [s for s in scored if s.translation_score is not None]
    for seg in unverified:
        detail = "no score against the audio (asr.translate off, or an older analysis)"
        if tcfg.keep_unverified:
            add(seg.with_verdict(Verdict("label.translation", True, "", "unverified: " + detail)))
        else:
            add(transcript_rejected(seg, Reason.TRANSLATION_MISMATCH, detail, config))
    pooled = pooled_score([s.translation_score for s in scored], [s.duration for s in scored])
    for seg in scored:
        score = float(seg.translation_score)
        why = translation_verdict(score, pooled, tcfg)
        detail = (f"score={score:.2f} recording_score={pooled:.2f} ({len(scored)} pairs) "
                  f"chrf={seg.translation_chrf}")
        if why:
            add(transcript_rejected(seg, Reason.TRANSLATION_MISMATCH, f"{detail}: {why}", config))
        else:
            add(seg.with_verdict(Verdict("label.translation", True, "", detail, score)))
    out.sort(key=lambda s: s.index)
    return out, rejects


def _decide_labels(
    recording: Recording, segments: list[Segment], config: LabelConfig
) -> tuple[list[Segment], list[Reject]]:
    machine = recording_machine_verdict(recording, segments, config)
    # A detection, not a drop: the segment may still be kept with its pseudo-label.
    machine_verdict = Verdict("label.machine_text", True, "",
                              f"machine: {machine.reason}" if machine.machine else "human")
    kept: list[Segment] = []
    rejects: list[Reject] = []
    untimed = [s for s in segments if s.source_text_kind == "untimed"]
    transcript = recording.transcript_text or ""
    if untimed and not transcript.strip():
        # "untimed" without any text: nothing to align, so they are segments without a source.
        for seg in untimed:
            out = _choose(replace(seg, source_text=None), config, machine)
            (rejects if isinstance(out, Reject) else kept).append(out)
    elif untimed:
        translate = [s for s in untimed if s.task == "translate"]
        transcribe = [s for s in untimed if s.task != "translate"]
        for out in (_align_untimed(transcript, translate, config, machine, machine_verdict)
                    + _align_untimed(transcript, transcribe, config, machine, machine_verdict)):
            (rejects if isinstance(out, Reject) else kept).append(out)
    for seg in segments:
        if seg.source_text_kind == "untimed":
            continue
        if not (seg.source_text or "").strip():
            kept.append(seg)
            continue
        seg = seg.with_verdict(machine_verdict)
        if machine.machine and seg.label_source in ("source", "translation"):
            out = _choose(replace(seg, text="", label_source="none"), config, machine)
            (rejects if isinstance(out, Reject) else kept).append(out)
        else:
            kept.append(seg)
    kept, refused = _verify_translations(kept, config)
    return kept, rejects + refused
