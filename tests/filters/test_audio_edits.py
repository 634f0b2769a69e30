"""apply_edits: the span is replaced (silence or tone), the rest is bit-identical, fades stay
inside the span, overlapping spans merge, spans are clipped to the clip."""

from __future__ import annotations

import numpy as np
import pytest

from filters.audio_edits import TONE_AMPLITUDE, TONE_HZ, apply_edits, merged_spans, sample_span
from schemas.records import SAMPLE_RATE


@pytest.fixture
def noise() -> np.ndarray:
    return (np.random.default_rng(1).standard_normal(2 * SAMPLE_RATE) * 0.3).astype(np.float32)


def test_silence_mutes_the_span_and_leaves_every_other_sample_unchanged(noise):
    out = apply_edits(noise, [(0.5, 1.0, "silence")], fade_ms=10)
    a, b = sample_span(0.5, 1.0, len(noise))
    fade = int(0.010 * SAMPLE_RATE)
    assert np.array_equal(out[:a], noise[:a]) and np.array_equal(out[b:], noise[b:])
    assert np.all(out[a + fade:b - fade] == 0.0)
    # the cross-fade lies inside the span and moves monotonically from the original to silence
    gain = np.abs(out[a:a + fade]) / np.maximum(np.abs(noise[a:a + fade]), 1e-9)
    assert np.all(gain <= 1.0 + 1e-6) and gain[0] > 0.9 and gain[-1] < 0.1
    assert out.dtype == np.float32 and len(out) == len(noise)


def test_tone_is_a_1khz_sine_at_minus_20_dbfs_inside_the_span(noise):
    out = apply_edits(noise, [(0.2, 0.8, "tone")], fade_ms=5)
    a, b = sample_span(0.2, 0.8, len(noise))
    mid = out[a + 200:b - 200]
    assert np.sqrt(np.mean(mid ** 2)) == pytest.approx(TONE_AMPLITUDE / np.sqrt(2), rel=0.01)
    spectrum = np.abs(np.fft.rfft(mid))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / len(mid)
    assert peak_hz == pytest.approx(TONE_HZ, abs=5)
    assert np.array_equal(out[:a], noise[:a]) and np.array_equal(out[b:], noise[b:])


def test_no_fade_replaces_exactly_the_span(noise):
    out = apply_edits(noise, [(0.25, 0.5, "mute")], fade_ms=0)
    a, b = sample_span(0.25, 0.5, len(noise))
    assert np.all(out[a:b] == 0) and np.array_equal(np.delete(out, range(a, b)),
                                                    np.delete(noise, range(a, b)))


def test_overlapping_spans_merge_and_spans_are_clipped_to_the_clip(noise):
    spans = merged_spans([(0.1, 0.3, "silence"), (0.25, 0.4, "silence"), (1.9, 5.0, "tone"),
                          (-1.0, -0.5, "silence")], len(noise))
    assert spans == [(1600, 6400, "silence"), (30400, len(noise), "tone")]
    out = apply_edits(noise, [(0.1, 0.3, "silence"), (0.25, 0.4, "silence")], fade_ms=10)
    fade = int(0.010 * SAMPLE_RATE)
    assert np.all(out[1600 + fade:6400 - fade] == 0.0)  # one gap, no fade in the middle


def test_unknown_edits_are_refused(noise):
    with pytest.raises(ValueError, match="unknown audio edit"):
        apply_edits(noise, [(0.1, 0.2, "reverse")])


def test_the_flac_round_trip_keeps_unedited_samples_bit_identical(noise):
    from filters.audio import decode_flac, encode_flac
    from pipelines.stages.publish import edited_audio

    stored = encode_flac(noise)
    original = decode_flac(stored)
    edited = decode_flac(edited_audio(stored, [{"start": 0.5, "end": 0.7, "action": "silence"}],
                                      5, fade_ms=10))
    a, b = sample_span(0.5, 0.7, len(original))
    assert np.array_equal(edited[:a], original[:a]) and np.array_equal(edited[b:], original[b:])
    assert np.all(edited[a + 160:b - 160] == 0.0)
    assert edited_audio(stored, [], 5) == stored
