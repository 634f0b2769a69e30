"""Align an untimed whole-recording transcript to the recording's segments.

A plain text for a whole recording says what was said, not when. Each segment's pseudo-label
says roughly what was said in it, so a global alignment (Levenshtein, via rapidfuzz's C
implementation, fast enough for hour-long texts) of the transcript's words to the concatenated
pseudo-label words gives every segment its own slice of the original text, with its case and
punctuation. Nothing is guessed: a segment whose words mostly fail to align, or whose boundary
with its neighbour has unaligned source words that could belong to either, is reported as
unaligned and rejected by the caller; text that matches no segment is simply not used.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

from rapidfuzz.distance import Levenshtein

from filters.text_normalize import tokens_with_spans, word_keys

# Hesitation sounds transcribers write and Whisper omits (openai-whisper's English normaliser
# drops the same ones).
FILLERS: dict[str, frozenset[str]] = {
    "en": frozenset({"uh", "um", "umm", "hmm", "mm", "mhm", "mmm", "er", "erm", "ah"}),
}


class AlignedSlice(NamedTuple):
    """One segment's share of the transcript."""

    text: str | None  # the slice of the original transcript, None when unaligned
    matches: int  # words matched exactly
    errors: int  # substitutions + insertions + deletions (+ ambiguous boundary words)
    words: int  # the larger of the segment's pseudo-label words and slice words
    error_rate: float  # errors / words
    reason: str  # "" when aligned, otherwise why not


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"  # punctuation or symbol


def _extend(text: str, start: int, end: int) -> tuple[int, int]:
    """Grow a token span over attached punctuation: opening marks before, any marks after."""
    while start > 0 and (unicodedata.category(text[start - 1]) in ("Ps", "Pi", "Sc")
                         or text[start - 1] in "\"'¿¡«"):
        start -= 1
    while end < len(text) and _is_mark(text[end]):
        end += 1
    return start, end


def align_transcript(
    transcript: str,
    pseudo_labels: Sequence[str | None],
    adjacent: Sequence[bool] | None = None,
    max_error: float = 0.5,
    min_matches: int = 1,
    language: str = "",
    extend_edges: bool = False,
) -> list[AlignedSlice]:
    """Slice ``transcript`` across segments whose pseudo-labels are ``pseudo_labels`` (in order).

    ``adjacent[k]`` tells whether segment k+1 directly follows segment k (no segment between
    them was dropped); only then do unaligned transcript words between the two count against
    both, because they must have been spoken in one of them. Hesitation fillers of
    ``language`` ("uh", "um" in English, which Whisper does not write) are left out of the
    matching but stay in the slices. ``extend_edges`` gives the first segment the text before
    its first aligned word and the last segment the text after its last one (for a translation,
    whose edge words often differ from the reference's and would otherwise be cut off; they do
    not count as errors). Returns one slice per segment.
    """
    fillers = FILLERS.get((language or "").split("-")[0].lower(), frozenset())
    text = unicodedata.normalize("NFC", transcript or "")
    n = len(pseudo_labels)
    if adjacent is None:
        adjacent = [True] * max(0, n - 1)
    src = [t for t in tokens_with_spans(text) if t[0] not in fillers]
    src_keys = [k for k, _s, _e in src]
    hyp_keys: list[str] = []
    hyp_owner: list[int] = []
    for k, label in enumerate(pseudo_labels):
        keys = [w for w in word_keys(unicodedata.normalize("NFC", label or ""))
                if w not in fillers]
        hyp_keys.extend(keys)
        hyp_owner.extend([k] * len(keys))
    hyp_words = [0] * n
    for k in hyp_owner:
        hyp_words[k] += 1

    owner: list[int] = [-1] * len(src_keys)  # segment a source word is paired with
    matches = [0] * n
    errors = [0] * n
    if src_keys and hyp_keys:
        for op in Levenshtein.opcodes(src_keys, hyp_keys):
            if op.tag == "equal":
                for i, j in zip(range(op.src_start, op.src_end),
                                range(op.dest_start, op.dest_end), strict=True):
                    owner[i] = hyp_owner[j]
                    matches[hyp_owner[j]] += 1
            elif op.tag == "replace":
                for i, j in zip(range(op.src_start, op.src_end),
                                range(op.dest_start, op.dest_end), strict=True):
                    owner[i] = hyp_owner[j]
                    errors[hyp_owner[j]] += 1
            elif op.tag == "insert":  # pseudo-label words the transcript lacks
                for j in range(op.dest_start, op.dest_end):
                    errors[hyp_owner[j]] += 1
            # "delete": transcript words no segment heard; attributed below by position.

    first = [-1] * n
    last = [-1] * n
    for i, k in enumerate(owner):
        if k >= 0:
            if first[k] < 0:
                first[k] = i
            last[k] = i
    span_words = [0] * n
    for k in range(n):
        if first[k] >= 0:
            inner = sum(1 for i in range(first[k], last[k] + 1) if owner[i] < 0)
            errors[k] += inner  # transcript words inside the segment it did not hear
            span_words[k] = last[k] - first[k] + 1
    # Unaligned transcript words between two directly adjacent aligned segments were spoken in
    # one of them; not knowing which, count them against both.
    aligned = [k for k in range(n) if first[k] >= 0]
    for a, b in zip(aligned, aligned[1:], strict=False):
        gap = first[b] - last[a] - 1
        if gap > 0 and b == a + 1 and a < len(adjacent) and adjacent[a]:
            errors[a] += gap
            errors[b] += gap

    out: list[AlignedSlice] = []
    for k in range(n):
        words = max(hyp_words[k], span_words[k])
        rate = errors[k] / words if words else 1.0
        if first[k] < 0 or hyp_words[k] == 0:
            out.append(AlignedSlice(None, 0, errors[k], words, 1.0, "no words aligned"))
            continue
        lo = 0 if extend_edges and k == 0 else first[k]
        hi = len(src) - 1 if extend_edges and k == n - 1 else last[k]
        start, end = _extend(text, src[lo][1], src[hi][2])
        reason = ""
        if matches[k] < min_matches:
            reason = f"{matches[k]} matched words < {min_matches}"
        elif rate > max_error:
            reason = f"alignment error {rate:.2f} > {max_error}"
        out.append(AlignedSlice(None if reason else text[start:end].strip(), matches[k],
                                errors[k], words, rate, reason))
    return out
