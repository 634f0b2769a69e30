"""Unlabelled speech for self-supervised pretraining (``curate.ssl``, ``RUN/ssl/``).

wav2vec 2.0 and HuBERT pretrain on audio alone; they need clean speech, not transcripts. Decide
drops a segment at its first failing filter, so a segment dropped only because no label could be
trusted -- its transcript disagreed with the audio, its language was unclear, the text was
machine-made -- is good audio lost to the labelled corpus. This module says which of those drops
publish may also write, without any text, into ``RUN/ssl/``.

A drop qualifies when

* its reject reason and the reason of every failing verdict it collected are in
  ``SslConfig.reasons``, a subset of :data:`LABEL_TRUST_REASONS` (reasons that say nothing about
  the audio). Quality, non-speech (``hallucination``, ``empty_label``), language filter, dedup,
  PII, takedown and source reasons are never label-trust reasons, so a taken-down or PII-dropped
  segment can never qualify;
* the audio passes the quality filter's audio checks (``curate.quality``, same thresholds and
  flag-only checks; the label checks are skipped: there is no label). The label filter ran
  before the quality filter, so the drop was never judged on its audio; this is that judgement;
* PII detection found nothing in its texts (``audio_edits`` empty): the word times of an
  untrusted label cannot be trusted to place the redaction either, so such audio is left out
  rather than muted at a guessed place;
* with ``curate.lid.allowed_languages`` set, its audio language is one of them.

It stays a reject of the labelled corpus (the plan row keeps ``keep=false`` and its reason);
``ssl/`` is an extra output with its own books (``ssl_ledger`` in ``pipelines/curate.py``).
Pure: no Beam, no models; decide calls :func:`ssl_problem` on each plan row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from filters.config_checks import checker
from filters.quality import audio_failures
from filters.quality_config import QualityConfig
from schemas.arrow import SSL_SEGMENT_SCHEMA, segment_from_row
from schemas.reasons import Reason

# Reasons that distrust the label and say nothing against the audio (the menu ``reasons``
# picks from). low_asr_confidence is here but not on by default: Whisper is unsure of noisy
# audio as well as of unfamiliar languages.
LABEL_TRUST_REASONS = frozenset({
    Reason.LABEL_DISAGREEMENT,  # the transcript contradicts the audio, no pseudo-label took over
    Reason.MACHINE_TRANSCRIPT,  # machine-made text
    Reason.TRANSLATION_MISMATCH,  # an English text Whisper's own translation does not confirm
    Reason.UNALIGNED_TEXT,  # an untimed transcript that does not align to this audio
    Reason.LABEL_INCOMPLETE,  # the label leaves part of the speech uncovered
    Reason.LID_LOW_CONFIDENCE,  # no language could be trusted for the label
    Reason.LID_MISMATCH,  # the text's and the audio's language disagree
    Reason.LOW_ASR_CONFIDENCE,  # Whisper unsure of its pseudo-label (optional)
})
DEFAULT_REASONS = tuple(sorted(str(r) for r in LABEL_TRUST_REASONS
                               if r != Reason.LOW_ASR_CONFIDENCE))


@dataclass(frozen=True)
class SslConfig:
    """``RUN/ssl/``: label-untrusted clean speech as audio-only WebDataset shards."""

    enabled: bool = False  # publish also writes RUN/ssl/ (shards, shards.json, segments.parquet)
    reasons: tuple[str, ...] = DEFAULT_REASONS  # drops for only these reasons qualify (a subset
    #                                             of filters.ssl_speech.LABEL_TRUST_REASONS)
    check_audio: bool = True  # the audio must pass curate.quality's audio checks (when its mode
    #                           is drop); false takes every label-trust drop

    def validate(self, where: str) -> None:
        need = checker(where)
        need(bool(self.reasons), "reasons", "must name at least one label-trust reason")
        allowed = ", ".join(sorted(str(r) for r in LABEL_TRUST_REASONS))
        for i, reason in enumerate(self.reasons):
            need(reason in LABEL_TRUST_REASONS, f"reasons[{i}]",
                 f"{reason!r} is not a label-trust reason; expected one of: {allowed}")
        need(len(set(self.reasons)) == len(self.reasons), "reasons", "lists a reason twice")


def failing_reasons(row: dict[str, Any]) -> set[str]:
    """The reject reason of a plan row and the reason of every verdict that failed on it."""
    out = {row.get("reject_reason") or ""}
    out |= {v["reason"] or "" for v in row.get("verdicts") or () if not v["passed"]}
    return out


def only_label_trust(row: dict[str, Any], reasons: tuple[str, ...] | frozenset[str]) -> bool:
    """A dropped plan row whose every failing reason is in ``reasons`` (and no PII edits)."""
    return (not row["keep"] and failing_reasons(row) <= set(reasons)
            and not row.get("audio_edits"))


def ssl_problem(row: dict[str, Any], cfg: SslConfig, quality: QualityConfig,
                allowed_languages: tuple[str, ...] = ()) -> str:
    """Why a plan row does not go to ``ssl/`` ("" when it does)."""
    if row["keep"]:
        return "kept"
    if not only_label_trust(row, cfg.reasons):
        return "not only label-trust reasons" if not row.get("audio_edits") else "pii found"
    if allowed_languages:
        language = row.get("audio_language") or row.get("language") or ""
        if language.split("-")[0] not in allowed_languages:
            return f"audio language {language or 'unknown'} not allowed"
    if cfg.check_audio and quality.mode == "drop":
        failed = [reason for reason, _v, _d in audio_failures(segment_from_row(row), quality)
                  if str(reason) not in quality.flag_checks]
        if failed:
            return f"audio: {', '.join(str(r) for r in failed)}"
    return ""


SSL_FIELDS = tuple(n for n in SSL_SEGMENT_SCHEMA.names if n != "shard")


def ssl_metadata(row: dict[str, Any], alpha: float | None) -> dict[str, Any]:
    """The JSON of one ``ssl/`` sample (``alpha``: the voice's α when it is published)."""
    meta = {name: row.get(name) for name in SSL_FIELDS}
    meta.update(key=row["segment_id"], label_reject_reason=row.get("reject_reason") or "",
                anonymise_alpha=alpha)
    return meta


def ssl_stats(rows: list[dict[str, Any]], shardlist: list[dict[str, Any]],
              enabled: bool) -> dict[str, Any]:
    """What ``stats.json`` says about ``ssl/`` (rows: its ``segments.parquet`` rows): counted
    apart from the labelled corpus, whose rejects these segments still are."""

    def tally(column: str) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for r in rows:
            entry = out.setdefault(r[column] or "unknown", {"segments": 0, "hours": 0.0})
            entry["segments"] += 1
            entry["hours"] += r["duration"] / 3600.0
        return {k: {"segments": int(v["segments"]), "hours": round(v["hours"], 6)}
                for k, v in sorted(out.items())}

    return {"enabled": enabled, "segments": len(rows),
            "hours": round(sum(r["duration"] for r in rows) / 3600.0, 6),
            "recordings": len({r["recording_id"] for r in rows}),
            "by_reason": tally("label_reject_reason"), "languages": tally("audio_language"),
            "shards": {"count": len(shardlist), "bytes": sum(s["filesize"] for s in shardlist)}}
