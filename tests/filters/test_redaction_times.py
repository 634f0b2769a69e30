"""Span -> time: PII character spans of a label mapped to its words' times (no model needed)."""

from __future__ import annotations

import pytest

from filters.redaction import (
    label_word_times,
    locate_words,
    matched_words,
    scrub_detail,
    span_time,
    widen,
)
from schemas.records import Segment

PSEUDO = "Call me at 5, 5, 5, 1, 2, 3 now."
PSEUDO_WORDS = (("Call", 0.0, 0.4), ("me", 0.4, 0.6), ("at", 0.6, 1.0), ("5,", 1.0, 1.2),
                ("5,", 1.3, 1.7), ("5,", 1.7, 2.2), ("1,", 2.5, 2.6), ("2,", 2.6, 2.9),
                ("3", 2.9, 3.3), ("now.", 3.4, 3.8))


def _seg(**kw) -> Segment:
    return Segment("r-00000", "r", 0, "file:///r.wav", 10.0, 14.0, **kw)


def test_words_are_located_in_order_even_when_they_repeat():
    located = locate_words(PSEUDO, PSEUDO_WORDS)
    assert [PSEUDO[w.a:w.b] for w in located] == [w for w, _a, _b in PSEUDO_WORDS]
    assert [(w.start, w.end) for w in located][4] == (1.3, 1.7)


def test_a_span_takes_the_times_of_the_words_it_overlaps():
    located = locate_words(PSEUDO, PSEUDO_WORDS)
    a = PSEUDO.index("5,")
    b = PSEUDO.index("3") + 1
    assert span_time(a, b, located, 4.0) == (1.0, 3.3)
    # a part of one word is the whole word
    assert span_time(PSEUDO.index("Call") + 1, PSEUDO.index("Call") + 2, located, 4.0) == (0.0,
                                                                                       0.4)


def test_a_span_no_located_word_overlaps_takes_the_gap_between_its_neighbours():
    text = "Call me at Zyx now."
    located = locate_words(text, (("Call", 0.0, 0.4), ("me", 0.4, 0.6), ("at", 0.6, 1.0),
                                  ("now.", 3.4, 3.8)))  # the tokenizer spelt "Zyx" otherwise
    assert span_time(text.index("Zyx"), text.index("Zyx") + 3, located, 4.0) == (1.0, 3.4)
    assert span_time(0, 4, [], 4.0) == (0.0, 4.0)  # nothing located: the whole segment


def test_the_margin_widens_and_is_clipped_to_the_segment():
    assert widen(1.0, 3.3, 0.15, 4.0) == pytest.approx((0.85, 3.45))
    assert widen(0.05, 3.95, 0.15, 4.0) == (0.0, 4.0)


def test_the_label_uses_the_forced_alignment_of_the_source_text_when_it_is_the_source():
    source = "Call me at five five five, one two three now."
    source_words = tuple((w, i * 0.3, i * 0.3 + 0.25) for i, w in enumerate(source.split()))
    seg = _seg(source_text=source, pseudo_label=PSEUDO, text=source, label_source="source",
               source_words=source_words, pseudo_words=PSEUDO_WORDS)
    located = label_word_times(seg)
    assert [(source[w.a:w.b], w.start) for w in located] == [(w, a) for w, a, _b in source_words]
    seg = _seg(source_text=source, pseudo_label=PSEUDO, text=PSEUDO, label_source="pseudo",
               source_words=source_words, pseudo_words=PSEUDO_WORDS)
    assert [w.start for w in label_word_times(seg)] == [a for _w, a, _b in PSEUDO_WORDS]


def test_an_untimed_slice_is_matched_to_the_pseudo_labels_words():
    text = "call me at Joan's office now"
    words = (("Call", 0.0, 0.4), ("me", 0.4, 0.6), ("at", 0.6, 1.0), ("Jones", 1.0, 1.5),
             ("office", 1.6, 2.0), ("now.", 2.1, 2.4))
    located = matched_words(text, words, 3.0)
    assert [(text[w.a:w.b], w.start, w.end) for w in located] == [
        ("call", 0.0, 0.4), ("me", 0.4, 0.6), ("at", 0.6, 1.0), ("Joan's", 1.0, 1.6),
        ("office", 1.6, 2.0), ("now", 2.1, 2.4)]
    # no pseudo-label words at all: every word spans the whole segment (mute more, never less)
    assert {(w.start, w.end) for w in matched_words(text, (), 3.0)} == {(0.0, 3.0)}


def test_pii_values_quoted_in_a_detail_are_replaced():
    detail = "repeated_ngram: 'john smith john' x3; long_word 'smith@example.com'"
    out = scrub_detail(detail, ["John Smith", "smith@example.com"])
    assert "smith" not in out.lower() and "john" not in out.lower() and "<PII>" in out
    assert scrub_detail("cer 0.031 <= 0.10", ["John Smith"]) == "cer 0.031 <= 0.10"
