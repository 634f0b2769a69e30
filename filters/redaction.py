"""The redaction plan: PII found in a recording's labels becomes placeholders in the text and
audio edits over the same words' times (decide; publish applies the edits).

Why detection runs over a recording's consecutive segments and not one segment at a time: a
phone number read out slowly is cut across two segments as easily as a sentence is
(``PiiDetector.detect_recording``). Why word times come from analyse: they cost one ``align``
call on an encoder output that is already computed, whereas decide never reads audio, so a
change of PII policy is replayed by ``refilter`` in seconds.

Span -> time. A PII span is a pair of character offsets into the chosen label; the label's words
carry times (``Segment.pseudo_words`` for a pseudo-label, ``Segment.source_words`` for a source
text force-aligned to the audio). Each word is located in the label in order; a span takes the
times of the words it overlaps. A span no located word overlaps (a word the tokenizer spelt
otherwise) takes the whole gap between its neighbours, and a label whose words cannot be matched
at all (an untimed transcript's slice matched to the pseudo-label's words, see
:func:`label_word_times`) falls back to the gap too: the plan errs on muting more, never less.
The time span is then widened by ``margin_ms`` on each side (word boundaries from cross-attention
are good to a few tens of ms) and clipped to the segment.

Pure: the detector is loaded once per worker through :func:`detector_for` (called from the decide
DoFn's ``setup``), never at import time.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from schemas.reasons import Reason, Stage
from schemas.records import Recording, Reject, Segment, Verdict

Words = Sequence[tuple[str, float, float]]
_DETECTORS: dict[str, Any] = {}
_DETECTORS_LOCK = threading.Lock()  # held while loading: two threads never load one model twice
_WORD = re.compile(r"\S+")
PLACEHOLDER_VALUE = "<PII>"  # what a PII value quoted in a verdict detail becomes


@dataclass(frozen=True)
class LocatedWord:
    """A label word: its characters ``[a, b)`` in the label and its time ``[start, end]`` (s)."""

    a: int
    b: int
    start: float
    end: float


def detector_for(pii: Any) -> Any:
    """The loaded ``PiiDetector`` for a ``PiiConfig``, one per worker process and config."""
    from filters.pii import PiiDetector

    key = repr(pii)
    with _DETECTORS_LOCK:
        if key not in _DETECTORS:
            detector = PiiDetector(pii)
            detector.load_model()  # a failed load raises and stores nothing
            _DETECTORS[key] = detector
        return _DETECTORS[key]


def clear_detectors() -> int:
    """Forget this process's loaded detectors (the end of a phase); returns how many."""
    with _DETECTORS_LOCK:
        n = len(_DETECTORS)
        _DETECTORS.clear()
    return n


def _flat(text: str | None) -> str:
    return " ".join((text or "").split())


def locate_words(text: str, words: Words) -> list[LocatedWord]:
    """``words`` found in ``text`` in order (a word not found is skipped, not guessed)."""
    out: list[LocatedWord] = []
    cursor = 0
    for word, start, end in words:
        word = word.strip()
        if not word:
            continue
        k = text.find(word, cursor)
        if k < 0:
            k = text.lower().find(word.lower(), cursor)
        if k < 0:
            continue
        out.append(LocatedWord(k, k + len(word), float(start), float(end)))
        cursor = k + len(word)
    return out


def _key(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalnum())


def matched_words(text: str, words: Words, duration: float) -> list[LocatedWord]:
    """Times for ``text``'s words from another transcript of the same audio (``words``): words
    matched by a diff of their letters and digits take their times; an unmatched run of words
    takes the whole gap between its matched neighbours (0 and ``duration`` at the edges)."""
    tokens = [(m.start(), m.end(), _key(m.group())) for m in _WORD.finditer(text)]
    keys = [_key(w) for w, _a, _b in words]
    times: list[tuple[float, float] | None] = [None] * len(tokens)
    matcher = difflib.SequenceMatcher(None, [t[2] for t in tokens], keys, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            _w, a, b = words[block.b + k]
            times[block.a + k] = (float(a), float(b))
    out: list[LocatedWord] = []
    for i, (a, b, _k) in enumerate(tokens):
        if times[i] is not None:
            start, end = times[i]
        else:
            start = next((times[j][1] for j in range(i - 1, -1, -1) if times[j]), 0.0)
            end = next((times[j][0] for j in range(i + 1, len(tokens)) if times[j]), duration)
        out.append(LocatedWord(a, b, min(start, end), max(start, end)))
    return out


def label_word_times(seg: Segment) -> list[LocatedWord]:
    """The chosen label's words with times: the source text's forced alignment when the label
    is the source text, the pseudo-label's words when it is the pseudo-label, else (an untimed
    transcript's slice) the label's words matched to the pseudo-label's."""
    text = seg.text
    for words, ref in ((seg.source_words, seg.source_text), (seg.pseudo_words, seg.pseudo_label)):
        if words and ref and _flat(ref) == text:
            return locate_words(text, words)
    return matched_words(text, seg.pseudo_words, seg.duration)


def span_time(a: int, b: int, located: Sequence[LocatedWord], duration: float
              ) -> tuple[float, float]:
    """The time (s) of characters ``[a, b)``: the words they overlap, else the gap between the
    words around them (the whole segment when nothing is located)."""
    hit = [w for w in located if w.a < b and w.b > a]
    if hit:
        return min(w.start for w in hit), max(w.end for w in hit)
    before = [w.end for w in located if w.b <= a]
    after = [w.start for w in located if w.a >= b]
    return (max(before) if before else 0.0), (min(after) if after else duration)


def widen(start: float, end: float, margin_s: float, duration: float) -> tuple[float, float]:
    return max(0.0, start - margin_s), min(duration, end + margin_s)


def _language(segments: Sequence[Segment]) -> str:
    counts = Counter(s.language for s in segments if s.language)
    return min(counts, key=lambda k: (-counts[k], k)) if counts else ""


def _summary(found: Sequence[tuple[str, str]]) -> str:
    counts = Counter(found)
    return ", ".join(f"{t} {a} x{n}" for (t, a), n in sorted(counts.items()))


def decide_pii(recording: Recording, segments: list[Segment], config: Any
               ) -> tuple[list[Segment], list[Reject]]:
    """The ``pii`` filter (recording scope): find PII in the kept segments' labels, over the
    recording's consecutive segments; per type, ``redact`` puts placeholders in the label and
    plans audio edits over the words' times, ``drop`` rejects the segment (reason ``pii``),
    ``keep`` only records the span. ``config`` is ``curate.privacy``. Spans are stored as
    (start s, end s, type, action): never the PII text itself."""
    from filters.pii import PiiSpan, redact_text

    detector = detector_for(config.pii)
    ordered = sorted(segments, key=lambda s: s.index)
    found = detector.detect_recording([s.text for s in ordered], _language(ordered))
    margin = config.margin_ms / 1000.0
    kept: list[Segment] = []
    rejects: list[Reject] = []
    for seg, spans in zip(ordered, found, strict=True):
        if not spans:
            kept.append(seg.with_verdict(Verdict("pii", True, "", "none found")))
            continue
        located = label_word_times(seg)
        records, edits, redact, summary = [], [], [], []
        for span in spans:
            action = config.pii.action(span.type)
            start, end = span_time(span.start, span.end, located, seg.duration)
            records.append((round(start, 3), round(end, 3), span.type, action))
            summary.append((span.type, action))
            if action == "redact":
                redact.append(PiiSpan(span.start, span.end, span.type))
                a, b = widen(start, end, margin, seg.duration)
                edits.append((round(a, 3), round(b, 3), config.audio))
        detail = _summary(summary)
        drops = sorted({t for t, a in summary if a == "drop"})
        if drops:
            seg = replace(seg, pii_spans=tuple(records))
            rejects.append(Reject.for_segment(seg, Stage.PII, Reason.PII,
                                              f"{', '.join(drops)} found (action drop)"))
            continue
        kept.append(replace(seg, text=redact_text(seg.text, redact) if redact else seg.text,
                            pii_spans=tuple(records),
                            audio_edits=(*seg.audio_edits, *edits)).with_verdict(
            Verdict("pii", True, "", detail)))
    return kept, rejects


def scrub_detail(detail: str, values: Sequence[str]) -> str:
    """``detail`` with every PII value (and each word of 3+ characters of one) replaced by
    ``<PII>``: a verdict's evidence may quote the label (a repeated n-gram, a long word)."""
    if not detail or not values:
        return detail
    pieces = sorted({v for v in values if v.strip()}
                    | {w for v in values for w in _WORD.findall(v) if len(w) >= 3},
                    key=lambda v: (-len(v), v))
    for piece in pieces:
        detail = re.sub(re.escape(piece), PLACEHOLDER_VALUE, detail, flags=re.IGNORECASE)
    return detail


def _redact_column(rows: list[dict[str, Any]], column: str, detector: Any, config: Any,
                   language: str, values: set[str]) -> list[list[Any]]:
    """Redact ``column`` of ``rows`` (consecutive segments) in place; returns the spans acted
    on per row (``keep`` types are left in the text, as the label keeps them)."""
    from filters.pii import redact_text

    texts = [r.get(column) or "" for r in rows]
    found = detector.detect_recording(texts, language) if any(texts) else [[] for _ in rows]
    out = []
    for row, text, spans in zip(rows, texts, found, strict=True):
        acted = [s for s in spans if config.pii.action(s.type) != "keep"]
        values.update(text[s.start:s.end] for s in acted)
        if acted:
            row[column] = redact_text(text, acted)
        out.append(acted)
    return out


def scrub_recording(rows: list[dict[str, Any]], segments: dict[str, Segment], config: Any
                    ) -> list[dict[str, Any]]:
    """Plan rows of one recording made safe to publish (decide's last step when PII detection
    is on): the source text and the pseudo-label of every candidate, and a dropped candidate's
    label, get placeholders; every PII value found is replaced by ``<PII>`` in the reject detail
    and the verdict details; a dropped candidate (other than a ``pii`` drop, whose audio is
    never sampled) gets audio edits over its PII words so the report's reject samples are
    redacted too. ``segments`` (by id) carry the word times."""
    detector = detector_for(config.pii)
    ordered = sorted((dict(r) for r in rows), key=lambda r: r["index"])
    counts = Counter(r.get("language") or "" for r in ordered)
    language = min(counts, key=lambda k: (-counts[k], k)) if counts else ""
    values: set[str] = set()
    raw = {r["segment_id"]: (r.get("source_text") or "", r.get("pseudo_label") or "")
           for r in ordered}
    source_spans = _redact_column(ordered, "source_text", detector, config, language, values)
    pseudo_spans = _redact_column(ordered, "pseudo_label", detector, config, language, values)
    dropped = [r for r in ordered if not r["keep"]]
    _redact_column(dropped, "text", detector, config, language, values)
    margin = config.margin_ms / 1000.0
    for row, s_spans, p_spans in zip(ordered, source_spans, pseudo_spans, strict=True):
        row["reject_detail"] = scrub_detail(row.get("reject_detail") or "", sorted(values))
        row["verdicts"] = [dict(v, detail=scrub_detail(v.get("detail") or "", sorted(values)))
                           for v in row.get("verdicts") or ()]
        seg = segments.get(row["segment_id"])
        if row["keep"] or seg is None or not (s_spans or p_spans):
            continue
        source, pseudo = raw[row["segment_id"]]
        edits = []
        for spans, text, words in ((s_spans, source, seg.source_words),
                                   (p_spans, pseudo, seg.pseudo_words)):
            located = locate_words(text, words)
            for span in spans:
                a, b = widen(*span_time(span.start, span.end, located, seg.duration), margin,
                             seg.duration)
                edits.append({"start": round(a, 3), "end": round(b, 3), "action": config.audio})
        row["audio_edits"] = [*(row.get("audio_edits") or []), *edits]
    return ordered


def redact_reject_rows(rows: Sequence[dict[str, Any]], config: Any) -> list[dict[str, Any]]:
    """Reject rows (``REJECT_SCHEMA``, e.g. analyse's too-short segments with their cue text)
    with PII in ``text`` and ``pseudo_label`` replaced by placeholders and PII values in
    ``detail`` by ``<PII>``; detection runs over each recording's rejects in time order."""
    by_recording: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_recording.setdefault(row.get("recording_id") or "", []).append(dict(row))
    detector = detector_for(config.pii)
    out: list[dict[str, Any]] = []
    for group in by_recording.values():
        group.sort(key=lambda r: (r.get("start") is None, r.get("start") or 0.0, r["id"]))
        values: set[str] = set()
        counts = Counter(r.get("language") or "" for r in group)
        language = min(counts, key=lambda k: (-counts[k], k))
        for column in ("text", "pseudo_label"):
            _redact_column(group, column, detector, config, language, values)
        for row in group:
            row["detail"] = scrub_detail(row.get("detail") or "", sorted(values))
        out.extend(group)
    return out
