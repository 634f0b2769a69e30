import numpy as np
import pytest

from filters.audio import decode_audio
from filters.vad import segment_speech
from pipelines.config import SegmentConfig
from pipelines.demo import ITEMS, synthesise
from schemas.records import Cue

SR = 16_000


def overlap(a, b):
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def test_long_recording_is_cut_at_pauses_into_segments_of_at_most_30s(speech_eval):
    audio = decode_audio((speech_eval / "mfa/michaelandsickmichael.wav").read_bytes(), 600)
    spans = segment_speech(audio.samples, SegmentConfig())
    assert spans and all(s.duration <= 30.0 for s in spans)
    truth = []
    annotated = (speech_eval / "mfa/michaelandsickmichael.segments.tsv").read_text()
    for line in annotated.splitlines()[1:]:
        start, end = line.split("\t")[:2]
        truth.append((float(start), float(end)))
    speech = sum(e - s for s, e in truth)
    covered = sum(overlap((s.start, s.end), t) for s in spans for t in truth)
    assert covered / speech > 0.9  # the segments hold (nearly) all annotated speech
    found = sum(s.duration for s in spans)
    assert found < (truth[-1][1] - truth[0][0]) + 2  # and do not invent much beyond it


@pytest.mark.parametrize("name", ["aeneas/vad_zero.wav", "aeneas/vad_n.wav"])
def test_silence_and_room_noise_give_no_segments(speech_eval, name):
    audio = decode_audio((speech_eval / name).read_bytes(), 600)
    assert segment_speech(audio.samples, SegmentConfig()) == []


def test_a_monologue_without_pauses_is_split_under_the_ceiling(espeak_available):
    item = ITEMS[0]
    audio, _ = synthesise(item)
    long = np.concatenate([audio] * 5)  # ~75 s of speech
    spans = segment_speech(long, SegmentConfig(max_s=12.0, target_s=10.0))
    assert len(spans) >= 6 and all(s.duration <= 12.0 for s in spans)
    assert all(b.start >= a.end - 1e-6 for a, b in zip(spans, spans[1:], strict=False))


def test_timed_transcripts_cut_only_at_cue_boundaries(espeak_available):
    audio, cues = synthesise(ITEMS[0])
    cue_records = tuple(Cue(a, b, t) for a, b, t in cues)
    spans = segment_speech(audio, SegmentConfig(target_s=8.0), cue_records)
    assert " ".join(s.source_text for s in spans) == " ".join(t for _, _, t in cues)
    boundaries = {c.start for c in cue_records} | {c.end for c in cue_records}
    for s in spans:
        assert any(abs(s.start - b) < 1e-3 for b in boundaries)
        assert any(abs(s.end - b) < 1e-3 for b in boundaries)


def test_a_cue_longer_than_the_ceiling_loses_its_text_rather_than_guessing(espeak_available):
    audio, cues = synthesise(ITEMS[0])
    total = len(audio) / SR
    spans = segment_speech(audio, SegmentConfig(max_s=6.0, target_s=5.0),
                           (Cue(0.0, total, "everything"),))
    assert len(spans) >= 2 and all(s.duration <= 6.0 for s in spans)
    assert all(s.source_text is None for s in spans)


def test_speech_too_short_to_keep_is_counted_not_lost():
    from filters.vad import short_speech_seconds, speech_regions

    flags = np.zeros(200, dtype=bool)
    flags[10:14] = True  # 0.12 s blip: under min_speech_s
    flags[50:120] = True  # 2.1 s of speech: kept
    flags[150:155] = True  # 0.15 s blip
    assert speech_regions(flags, 0.03, 0.3, 0.5) == [(50, 120)]
    assert short_speech_seconds(flags, 0.03, 0.3, 0.5) == pytest.approx(9 * 0.03)
    assert short_speech_seconds(flags, 0.03, 0.3, 0.0) == 0.0
