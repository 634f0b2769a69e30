"""Heuristics for machine-generated transcripts, after the Whisper paper (section 2.1).

Training on another ASR system's output teaches its mistakes and its "transcript-ese", so the
paper drops transcripts that look machine-made: all upper case or all lower case, no
punctuation, no commas in a long text, or very long text without a sentence break. Human
transcripts almost always use mixed case and punctuation. Short texts are not judged: a
two-word cue carries no evidence either way.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

_SENTENCE_END = re.compile(r"[.!?;…。！？؟।]")
_COMMA = re.compile(r"[,，、،]")


class MachineVerdict(NamedTuple):
    machine: bool  # True when the text looks machine-generated
    reason: str  # which heuristic fired ("" when none)


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def looks_machine_generated(
    text: str | None, min_chars: int = 60, unbroken_chars: int = 500
) -> MachineVerdict:
    """Judge one transcript (a whole recording's text, or all its cues joined).

    Heuristics, in order: all upper case, all lower case (only for scripts with case), no
    punctuation at all, no commas in a text of at least ``4 * min_chars`` characters, and a run
    of ``unbroken_chars`` characters without sentence-ending punctuation.
    """
    text = " ".join((text or "").split())
    if len(text) < min_chars:
        return MachineVerdict(False, "")
    cased = [c for c in text if c.isalpha() and c.lower() != c.upper()]
    if len(cased) >= min_chars // 2:
        if all(c.isupper() for c in cased):
            return MachineVerdict(True, "all_upper_case")
        if all(c.islower() for c in cased):
            return MachineVerdict(True, "all_lower_case")
    if not any(_is_punct(c) for c in text):
        return MachineVerdict(True, "no_punctuation")
    if len(text) >= 4 * min_chars and not _COMMA.search(text):
        return MachineVerdict(True, "no_commas")
    longest = max((len(part) for part in _SENTENCE_END.split(text)), default=0)
    if longest >= unbroken_chars:
        return MachineVerdict(True, "long_unbroken_text")
    return MachineVerdict(False, "")


def summarise_by_source(
    verdicts: Iterable[tuple[str, MachineVerdict]],
) -> dict[str, dict[str, int]]:
    """Per source name: how many transcripts were judged, how many looked machine-made and why.

    ``verdicts`` yields (source_name, verdict) per recording; the report prints the result.
    """
    out: dict[str, Counter] = {}
    for source, verdict in verdicts:
        counts = out.setdefault(source, Counter())
        counts["transcripts"] += 1
        if verdict.machine:
            counts["machine"] += 1
            counts[f"machine_{verdict.reason}"] += 1
    return {k: dict(v) for k, v in out.items()}
