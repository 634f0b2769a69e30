"""The pii filter and decide's scrub with the real detector (spaCy NER), on hand-made rows with
word times: placeholders, spans as times, audio edits with the margin, drop and keep actions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from filters.pii import PiiConfig
from filters.redaction import decide_pii, scrub_recording
from pipelines.config import PrivacyConfig
from schemas.records import Recording, Segment, Verdict

TEXT = "Please call me on 020 7946 0958 tomorrow."
WORDS = tuple((w, 0.5 * i, 0.5 * i + 0.4) for i, w in enumerate(TEXT.split()))
REC = Recording("r", "file:///r.wav", "file:///r.wav")


def _seg(index: int, text: str, words=WORDS, **kw) -> Segment:
    return Segment(f"r-{index:05d}", "r", index, "file:///r.wav", 10.0 * index,
                   10.0 * index + 5.0, source_text=text, source_text_kind="timed", text=text,
                   pseudo_label=text, label_source="source", language="en",
                   source_words=words, pseudo_words=words, **kw)


@pytest.fixture(scope="module")
def privacy() -> PrivacyConfig:
    return PrivacyConfig(pii=PiiConfig(), audio="tone", fade_ms=10, margin_ms=100)


def test_redact_puts_placeholders_in_the_label_and_plans_tone_over_the_words(privacy):
    kept, rejects = decide_pii(REC, [_seg(0, TEXT), _seg(1, "The weather is fine.")], privacy)
    assert not rejects and [s.text for s in kept] == ["Please call me on <PHONE> tomorrow.",
                                                     "The weather is fine."]
    (start, end, kind, action), = kept[0].pii_spans
    assert (start, end, kind, action) == (2.0, 3.4, "PHONE", "redact")  # "020" .. "0958"
    assert kept[0].audio_edits == ((1.9, 3.5, "tone"),)
    assert kept[1].pii_spans == () and kept[1].audio_edits == ()
    assert kept[0].verdicts[-1] == Verdict("pii", True, "", "PHONE redact x1")


def test_drop_rejects_with_reason_pii_and_keep_only_records_the_span(privacy):
    actions = dict(PiiConfig().actions, PHONE="drop", PERSON="keep")
    cfg = replace(privacy, pii=replace(privacy.pii, actions=actions))
    named = "My name is John Whitaker."
    words = tuple((w, 0.5 * i, 0.5 * i + 0.4) for i, w in enumerate(named.split()))
    kept, rejects = decide_pii(REC, [_seg(0, TEXT), _seg(1, named, words)], cfg)
    assert [r.reason for r in rejects] == ["pii"] and rejects[0].detail == \
        "PHONE found (action drop)"
    assert kept[0].text == named and kept[0].audio_edits == ()
    assert [s[2:] for s in kept[0].pii_spans] == [("PERSON", "keep")]


def test_scrub_redacts_every_text_column_and_the_details_of_a_plan_row(privacy):
    seg = _seg(0, TEXT)
    row = {"segment_id": seg.segment_id, "index": 0, "language": "en", "keep": False,
           "source_text": TEXT, "pseudo_label": TEXT, "text": TEXT,
           "reject_detail": "long_word '7946' in 020 7946 0958",
           "verdicts": [{"filter": "label", "passed": False, "reason": "x",
                         "detail": "020 7946 0958 x3", "value": None}],
           "audio_edits": []}
    (out,) = scrub_recording([row], {seg.segment_id: seg}, privacy)
    assert out["source_text"] == out["pseudo_label"] == out["text"] == \
        "Please call me on <PHONE> tomorrow."
    assert "7946" not in out["reject_detail"] and "7946" not in out["verdicts"][0]["detail"]
    assert out["audio_edits"] and all(e["action"] == "tone" for e in out["audio_edits"])
