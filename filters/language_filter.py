"""``lid.allowed_languages``: keep only segments whose decided language is on the list."""

from __future__ import annotations

from typing import Any

from schemas.reasons import Reason, Stage
from schemas.records import Reject, Segment, Verdict


def _base(lang: str) -> str:
    return (lang or "").split("-")[0].split("_")[0].lower()


def allowed_language(seg: Segment, config: Any) -> Segment | Reject:
    """``config.allowed_languages`` (ISO 639-1 codes) keeps those languages; empty keeps all.

    A translation pair counts as its audio's language (what a model hears)."""
    allowed = {_base(x) for x in config.allowed_languages}
    if not allowed or _base(seg.language) in allowed:
        return seg.with_verdict(Verdict("language", True, "", seg.language or "-"))
    detail = f"language {seg.language or '-'} not in lid.allowed_languages={sorted(allowed)}"
    seg = seg.with_verdict(Verdict("language", False, Reason.LANGUAGE_NOT_ALLOWED, detail))
    return Reject.for_segment(seg, Stage.LID, Reason.LANGUAGE_NOT_ALLOWED, detail)
