"""Recall and precision per PII type on the generated transcript set (tests/filters/pii/
pii_cases.py): 320 seeded transcripts with planted PII in written, spoken and mixed forms,
phone numbers of twelve regions, names of seventeen cultures, values dictated across segment
boundaries, and negative sentences full of numbers and capitalised words that are not PII.

Matching is by span overlap per type (a gold span is found when a predicted span of its type
shares a character with it; a predicted span is correct when it shares a character with a gold
span of its type), so "five five five, one two three" found as one span or as two both count.
The same figures, on this set and a larger one, are printed by ``benchmarks/pii.py``.
"""

from __future__ import annotations

import pytest

from filters.pii import PII_TYPES, PiiDetector
from tests.filters.pii.pii_cases import errors, generate, predict, score

MIN_RECALL = 0.95
MIN_PRECISION = 0.90


@pytest.fixture(scope="module")
def results(pii_detector: PiiDetector):  # noqa: ANN201
    cases = generate(320, seed=13)
    return cases, predict(pii_detector, cases)


def test_generated_set_is_broad() -> None:
    cases = generate(320, seed=13)
    kinds = {c.kind for c in cases}
    assert len(cases) >= 300 and {"negative", "split", "planted:en"} <= kinds
    assert {"planted:de", "planted:fr", "planted:es", "planted:it"} <= kinds
    forms = {f for c in cases for f in c.forms}
    assert forms == {"written", "spoken", "mixed"}
    gold_types = {t for c in cases for seg in c.gold for _, _, t in seg}
    assert gold_types == set(PII_TYPES)


@pytest.mark.parametrize("pii_type", PII_TYPES)
def test_recall_and_precision_per_type(results, pii_type: str) -> None:  # noqa: ANN001
    cases, predictions = results
    s = score(cases, predictions)[pii_type]
    problems = [line for line in errors(cases, predictions) if f" {pii_type}:" in line]
    assert s.gold >= 20, f"only {s.gold} planted {pii_type} spans"
    assert s.recall >= MIN_RECALL, (s.recall, problems[:10])
    assert s.precision >= MIN_PRECISION, (s.precision, problems[:10])


def test_gold_spans_are_where_the_values_are() -> None:
    """The generator's own bookkeeping: every gold span is non-empty, inside its segment and
    not cut through a word (a broken generator would make the scores meaningless)."""
    for case in generate(320, seed=13):
        for text, gold in zip(case.segments, case.gold, strict=True):
            for s, e, _ in gold:
                assert 0 <= s < e <= len(text)
                assert text[s:e] == text[s:e].strip()
                assert s == 0 or not text[s - 1].isalnum(), text
                assert e == len(text) or not text[e].isalnum(), text
