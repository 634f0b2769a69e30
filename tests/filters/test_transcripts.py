import pytest
from hypothesis import given
from hypothesis import strategies as st

from filters.transcripts import (
    TranscriptError,
    cues_text_between,
    parse_transcript,
)
from pipelines.demo import write_transcript
from schemas.reasons import Reason


def test_vtt_with_markup_and_millisecond_times():
    data = (b"WEBVTT\n\nNOTE a comment\n\n00:00:01.250 --> 00:00:02.500 align:start\n"
            b"<v Alice>Hello &amp; <b>welcome</b>\n\n00:00:03.000 --> 00:00:04.000\nagain\n")
    t = parse_transcript(data, "vtt")
    assert [(c.start, c.end, c.text) for c in t.cues] == [
        (1.25, 2.5, "Hello & welcome"), (3.0, 4.0, "again")]
    assert t.text == "Hello & welcome again"


def test_srt_with_bom():
    data = ("\ufeff1\n00:00:01,000 --> 00:00:02,200\nHola\n\n"
            "2\n00:00:03,000 --> 00:00:04,000\nmundo\n")
    t = parse_transcript(data.encode("utf-8"), "srt")
    assert [(c.start, c.end) for c in t.cues] == [(1.0, 2.2), (3.0, 4.0)]


@pytest.mark.parametrize("data,fmt,reason", [
    (b"\xff\xfe\x00h\x00i", "txt", Reason.TRANSCRIPT_NOT_UTF8),
    ("caf\u00e9".encode("latin-1"), "vtt", Reason.TRANSCRIPT_NOT_UTF8),
    (b"not a vtt file", "vtt", Reason.TRANSCRIPT_MALFORMED),
    (b"1\nbroken --> times\nHi\n", "srt", Reason.TRANSCRIPT_MALFORMED),
    (b"   \n\t", "txt", Reason.TRANSCRIPT_MALFORMED),
    (b"WEBVTT\n\n", "vtt", Reason.TRANSCRIPT_MALFORMED),
    (b"a\x00b", "txt", Reason.TRANSCRIPT_MALFORMED),
])
def test_broken_transcripts_raise_with_a_reason(data, fmt, reason):
    with pytest.raises(TranscriptError) as err:
        parse_transcript(data, fmt)
    assert err.value.reason == reason


cue_text = st.text(alphabet=st.characters(whitelist_categories=("L", "N"), max_codepoint=0x2FF),
                   min_size=1, max_size=20)


@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 5_000), cue_text),
                min_size=1, max_size=8), st.sampled_from(["vtt", "srt"]))
def test_written_cues_parse_back_exactly(tmp_path_factory, cues, fmt):
    expected, t = [], 0
    for gap, length, text in cues:
        start, end = (t + gap) / 1000, (t + gap + length) / 1000
        expected.append((start, end, text))
        t += gap + length
    path = tmp_path_factory.mktemp("c") / f"x.{fmt}"
    write_transcript(path, fmt, expected)
    parsed = parse_transcript(path.read_bytes(), fmt)
    assert [(c.start, c.end, c.text) for c in parsed.cues] == expected


def test_cue_text_is_assigned_by_midpoint():
    t = parse_transcript(b"WEBVTT\n\n00:00:00.000 --> 00:00:02.000\none\n\n"
                         b"00:00:02.000 --> 00:00:04.000\ntwo\n", "vtt")
    assert cues_text_between(t.cues, 0.0, 2.0) == "one"
    assert cues_text_between(t.cues, 0.0, 4.0) == "one two"
