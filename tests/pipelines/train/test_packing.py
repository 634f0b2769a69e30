"""Packing segments into windows: Whisper's consecutive-segment windows, filling by language,
pauses, the token budget, previous text and the padded share."""

from __future__ import annotations

import random

import pytest

from pipelines.train.packing import Packer, SegmentRef


def seg(rec, index, start, end, text="words", language="en", task="transcribe"):
    return SegmentRef(key=f"{rec}-{index:05d}", recording_id=rec, index=index,
                      duration=end - start, start=start, end=end, text=text,
                      language=language, task=task)


def layout(windows):
    return [[(round(off, 3), s.key) for off, s in w.items] for w in windows]


def test_recording_mode_packs_consecutive_segments_with_their_real_pause():
    segs = [seg("a", 0, 0.3, 8.0), seg("a", 1, 8.5, 18.0), seg("a", 2, 20.0, 29.0),
            seg("b", 0, 0.0, 5.0)]
    packer = Packer(window_s=30.0, mode="recording", max_gap_s=1.0)
    windows = list(packer.pack(segs))
    # a-0 at 0, a-1 after its real 0.5 s pause; a-2's 2 s pause is capped at 1 s but it would
    # end at 27.2 s: it fits; b-0 is another recording: a new window
    assert layout(windows) == [[(0.0, "a-00000"), (8.2, "a-00001"), (18.7, "a-00002")],
                               [(0.0, "b-00000")]]
    assert packer.stats.windows == 2 and packer.stats.segments == 4
    speech = 7.7 + 9.5 + 9.0 + 5.0
    assert packer.stats.padded_share == pytest.approx(1 - speech / 60)


def test_recording_mode_starts_a_new_window_when_the_next_segment_does_not_fit():
    segs = [seg("a", 0, 0.0, 20.0), seg("a", 1, 20.2, 35.0), seg("a", 3, 40.0, 42.0)]
    windows = list(Packer(window_s=30.0, mode="recording").pack(segs))
    # a-1 does not fit after a-0; a-3 does not follow a-1 (a-2 is missing): own window
    assert layout(windows) == [[(0.0, "a-00000")], [(0.0, "a-00001")], [(0.0, "a-00003")]]


def test_language_mode_fills_windows_with_other_recordings_of_the_same_language_and_task():
    segs = [seg("a", 0, 0, 12), seg("b", 0, 0, 10, language="de"), seg("c", 0, 0, 9),
            seg("d", 0, 0, 8, task="translate", language="de"), seg("e", 0, 0, 6)]
    packer = Packer(window_s=30.0, mode="language", max_gap_s=1.0)
    windows = list(packer.pack(segs))
    by_key = {(w.language, w.task): layout([w])[0] for w in windows}
    assert by_key[("en", "transcribe")] == [(0.0, "a-00000"), (13.0, "c-00000"),
                                            (23.0, "e-00000")]
    assert by_key[("de", "transcribe")] == [(0.0, "b-00000")]
    assert by_key[("de", "translate")] == [(0.0, "d-00000")]
    alone = Packer(window_s=30.0, mode="none")
    assert len(list(alone.pack(segs))) == 5
    assert packer.stats.padded_share < alone.stats.padded_share


def test_other_recordings_join_after_join_gap_s_and_a_window_fills_up_to_it():
    # 3 x 9 s of three recordings and a 1.3 s one: 0.3 s joins leave 2.4 s after the third,
    # room for the fourth (0.3 + 1.3 s); 1 s joins leave 1 s, and that window closes at once
    segs = [seg("a", 0, 0, 9), seg("b", 0, 0, 9), seg("c", 0, 0, 9), seg("d", 0, 0, 1.3)]
    joined = list(Packer(window_s=30.0, mode="language", max_gap_s=1.0,
                         join_gap_s=0.3).pack(segs))
    assert layout(joined) == [[(0.0, "a-00000"), (9.3, "b-00000"), (18.6, "c-00000"),
                               (27.9, "d-00000")]]
    wide = list(Packer(window_s=30.0, mode="language", max_gap_s=1.0).pack(segs))
    assert layout(wide)[0] == [(0.0, "a-00000"), (10.0, "b-00000"), (20.0, "c-00000")]
    # a consecutive segment of the same recording keeps its real pause, not the join gap
    cont = list(Packer(window_s=30.0, mode="language", max_gap_s=1.0, join_gap_s=0.0).pack(
        [seg("a", 0, 0, 5), seg("a", 1, 5.8, 9.8)]))
    assert layout(cont) == [[(0.0, "a-00000"), (5.8, "a-00001")]]


def test_language_mode_prefers_the_continuation_then_the_best_fit():
    segs = [seg("a", 0, 0, 10), seg("b", 0, 0, 20), seg("a", 1, 10.5, 14.5), seg("c", 0, 0, 8)]
    windows = list(Packer(window_s=30.0, mode="language", max_gap_s=1.0).pack(segs))
    # b-0 does not fit after a-0 (10 + 1 + 20 s); a-1 continues a-0 (its real 0.5 s pause)
    # although b-0's window would be the tighter fit; c-0 then goes where it leaves the least
    # room: after b-0 (21 + 8 = 29 s), not after a-1 (15.5 + 8 = 23.5 s); with 1 s left,
    # no segment (>= 1 s, after a pause) fits any more: that window closes at once
    assert layout(windows) == [[(0.0, "b-00000"), (21.0, "c-00000")],
                               [(0.0, "a-00000"), (10.5, "a-00001")]]


def test_token_budget_and_too_long_segments():
    segs = [seg("a", 0, 0, 5, text="one two three"), seg("a", 1, 5, 10, text="four five six"),
            seg("z", 0, 0, 31)]
    packer = Packer(window_s=30.0, mode="recording", max_tokens=7,
                    token_cost=lambda text: len(text.split()) + 2)
    windows = list(packer.pack(segs))
    assert layout(windows) == [[(0.0, "a-00000")], [(0.0, "a-00001")]]
    assert packer.stats.dropped == {"longer_than_window": 1}


def test_a_new_window_gets_the_text_before_it_as_previous_text():
    segs = [seg("a", 0, 0, 20, text="First part."), seg("a", 1, 20, 40, text="Second part."),
            seg("a", 2, 40, 60, text="Third part."), seg("b", 0, 0, 5, text="Other.")]
    windows = list(Packer(window_s=30.0, mode="recording", prev_text_prob=1.0,
                          rng=random.Random(0)).pack(segs))
    assert [w.prev_text for w in windows] == ["", "First part.", "First part. Second part.", ""]
    never = list(Packer(window_s=30.0, mode="recording", prev_text_prob=0.0).pack(segs))
    assert [w.prev_text for w in never] == ["", "", "", ""]


def test_previous_text_needs_the_segment_just_before():
    segs = [seg("a", 0, 0, 20, text="First."), seg("a", 2, 40, 60, text="Third.")]
    windows = list(Packer(window_s=30.0, mode="recording", prev_text_prob=1.0).pack(segs))
    assert [w.prev_text for w in windows] == ["", ""]


def test_a_new_recording_closes_the_previous_window_not_its_own():
    segs = [seg("a", 0, 0, 3), seg("b", 0, 0, 10), seg("b", 1, 10.2, 15)]
    windows = list(Packer(window_s=30.0, mode="recording").pack(segs))
    assert layout(windows) == [[(0.0, "a-00000")], [(0.0, "b-00000"), (10.2, "b-00001")]]
