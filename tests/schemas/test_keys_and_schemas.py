import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.arrow import (
    RECORDING_SCHEMA,
    REJECT_SCHEMA,
    SEGMENT_SCHEMA,
    recording_from_row,
    recording_row,
    reject_row,
    segment_from_row,
    segment_row,
    table,
)
from schemas.keys import recording_id_for, segment_id_for, shard_name, validate_key
from schemas.records import Cue, Recording, Reject, Segment, Verdict


@given(st.text(min_size=1), st.integers(min_value=0, max_value=99999))
def test_segment_keys_are_dot_free_and_sortable(uri, index):
    key = segment_id_for(recording_id_for(uri), index)
    assert "." not in key and "/" not in key
    assert validate_key(key) == key
    assert key.endswith(f"-{index:05d}")


def test_segment_keys_sort_in_time_order():
    rid = recording_id_for("https://example.org/a.mp3")
    keys = [segment_id_for(rid, i) for i in (10, 2, 100, 1)]
    assert sorted(keys) == [segment_id_for(rid, i) for i in (1, 2, 10, 100)]


@pytest.mark.parametrize("bad", ["", "a.b", "a/b", "a b", "x.flac"])
def test_invalid_keys_are_refused(bad):
    with pytest.raises(ValueError):
        validate_key(bad)


def test_segment_index_range_is_enforced():
    with pytest.raises(ValueError):
        segment_id_for("abc", 100000)


def test_shard_names():
    assert shard_name(7) == "shard-000007.tar"


def test_records_round_trip_through_arrow():
    rec = Recording("r1", "https://x/a.mp3", "raw/ab", cues=(Cue(0.0, 1.5, "hi"),),
                    transcript_text="hi", transcript_format="vtt", duration=2.0)
    back = recording_from_row(table([recording_row(rec)], RECORDING_SCHEMA).to_pylist()[0])
    assert back == rec
    seg = Segment("r1-00000", "r1", 0, "https://x/a.mp3", 0.5, 2.0, audio=np.zeros(8),
                  verdicts=(Verdict("lid", True, "", "en"),),
                  pii_spans=((0.5, 1.25, "EMAIL", "redact"),),
                  audio_language_probs=(("en", 0.9),), text="hi", avg_logprob=-0.2)
    row = table([segment_row(seg)], SEGMENT_SCHEMA).to_pylist()[0]
    assert row["duration"] == pytest.approx(1.5)
    assert segment_from_row(row) == seg
    rej = Reject.for_segment(seg, "label", "empty_label", "x" * 5000)
    assert len(rej.detail) == 2000
    assert table([reject_row(rej)], REJECT_SCHEMA).num_rows == 1


def test_schema_mismatch_is_caught():
    row = segment_row(Segment("r-00000", "r", 0, "u", 0.0, 1.0))
    row["start"] = "not a number"
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        table([row], SEGMENT_SCHEMA)


def test_verdicts_are_appended_not_replaced():
    seg = Segment("r-00000", "r", 0, "u", 0.0, 1.0)
    seg = seg.with_verdict(Verdict("a", False, "x")).with_verdict(Verdict("a", True))
    assert [v.passed for v in seg.verdicts] == [False, True]
    assert [v.filter for v in seg.failed_verdicts()] == ["a"]
