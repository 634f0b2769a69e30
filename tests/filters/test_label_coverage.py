"""A label covers the speech of its segment (issue 10, part 2): the decide side."""

from __future__ import annotations

import dataclasses

from filters.label_choice import choose_label
from filters.label_config import LabelConfig
from filters.label_decisions import decide_segment
from schemas.reasons import Reason
from schemas.records import Reject, Segment

CFG = LabelConfig()


def test_a_pseudo_label_covering_little_of_the_speech_is_label_incomplete():
    kept = choose_label(None, "the first sentence only", "en", "transcribe", False, [], -0.2,
                        CFG, 0.01, 0.95)
    assert kept.label_source == "pseudo"
    cut = choose_label(None, "the first sentence only", "en", "transcribe", False, [], -0.2,
                       CFG, 0.01, 0.4)
    assert cut.reason == Reason.LABEL_INCOMPLETE and "0.40" in cut.detail
    # unknown coverage (rows analysed before coverage was measured) decides as before
    assert choose_label(None, "some words", "en", "transcribe", False, [], -0.2, CFG, 0.01,
                        None).label_source == "pseudo"


def test_a_source_text_a_short_pseudo_label_cannot_confirm_is_incomplete_not_wrong():
    source = "one two three four five six seven eight nine ten eleven twelve"
    agree = choose_label(source, source, "en", "transcribe", False, [], -0.2, CFG, 0.0, 0.5)
    assert agree.label_source == "source"  # agreement is enough, whatever the coverage
    short = choose_label(source, "one two three", "en", "transcribe", False, [], -0.2, CFG,
                         0.0, 0.3)
    assert short.reason == Reason.LABEL_INCOMPLETE
    full = choose_label(source, "one two three", "en", "transcribe", False, [], -0.2, CFG, 0.0,
                        1.0)
    assert full.reason == Reason.LABEL_DISAGREEMENT


def test_decide_segment_reads_the_segment_s_coverage():
    seg = Segment("r-00000", "r", 0, "file:///x", 0.0, 6.0, pseudo_label="hello there world",
                  audio_language="en", audio_language_prob=0.99,
                  audio_language_probs=(("en", 0.99),), avg_logprob=-0.2, no_speech_prob=0.01,
                  compression_ratio=1.0, speech_ratio=0.9, label_coverage=0.3)
    out = decide_segment(seg, CFG)
    assert isinstance(out, Reject) and out.reason == Reason.LABEL_INCOMPLETE
    ok = decide_segment(dataclasses.replace(seg, label_coverage=0.97), CFG)
    assert not isinstance(ok, Reject) and ok.label_source == "pseudo"


def test_a_transcript_mostly_unused_is_flagged_on_the_kept_segments():
    from filters.label_decisions import _transcript_coverage
    from schemas.records import Recording

    words = " ".join(f"w{i}" for i in range(1000))
    rec = Recording(recording_id="r", source_uri="file:///x", audio_uri="/x",
                    transcript_text=words)
    seg = Segment("r-00000", "r", 0, "file:///x", 0.0, 5.0, text=" ".join(words.split()[:17]),
                  label_source="source")
    (flagged,) = _transcript_coverage(rec, [seg], CFG)
    (v,) = flagged.verdicts
    assert v.passed and v.reason == Reason.TRANSCRIPT_COVERAGE and "17 of" in v.detail
    whole = dataclasses.replace(seg, text=words)
    assert _transcript_coverage(rec, [whole], CFG) == [whole]
    short = Recording(recording_id="r", source_uri="file:///x", audio_uri="/x",
                      transcript_text="a few words")
    assert _transcript_coverage(short, [seg], CFG) == [seg]  # too short to judge
