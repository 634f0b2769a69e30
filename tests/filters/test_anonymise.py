"""McAdams voice anonymisation (filters/anonymise.py): formants move as φ -> φ^α predicts, α = 1
is the identity, loudness is kept without clipping, any length works, and each voice's α is a
pure function of the seed and the voice."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from filters.anonymise import _lpc, anonymise, anonymise_filter
from filters.anonymise_config import AnonymiseConfig, alpha_for, voice_key
from filters.audio_edits import DEFAULT_FADE_MS
from filters.registry import REGISTRY, funnel_stages
from pipelines.config import ConfigError, CurateConfig, parse_config
from pipelines.stages.publish import edited_audio
from schemas.records import SAMPLE_RATE, Recording, Segment

SR = SAMPLE_RATE


def vowel(formants=(700.0, 1200.0, 2600.0), f0: float = 120.0, seconds: float = 0.5,
          peak: float = 0.3) -> np.ndarray:
    """A glottal pulse train through three formant resonators (a synthetic /a/-like vowel)."""
    x = np.zeros(int(seconds * SR))
    x[::int(SR / f0)] = 1.0
    for f, bw in zip(formants, (80.0, 90.0, 120.0), strict=True):
        r = np.exp(-np.pi * bw / SR)
        x = scipy.signal.lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / SR), r * r], x)
    return (peak * x / np.max(np.abs(x))).astype(np.float32)


def measured_formants(x: np.ndarray) -> np.ndarray:
    """Formant frequencies (Hz) from an order-12 LPC fit of the clip's middle."""
    mid = x[len(x) // 4: 3 * len(x) // 4].astype(np.float64)
    a = _lpc((mid * np.hamming(len(mid)))[None, :], 12)[0]
    roots = np.roots(a)
    hz = np.sort(np.angle(roots[roots.imag > 0]) * SR / (2 * np.pi))
    return hz[hz > 90]


def predicted(hz: float, alpha: float) -> float:
    return (2 * np.pi * hz / SR) ** alpha * SR / (2 * np.pi)


@pytest.mark.parametrize("alpha", [0.8, 0.9])
def test_low_formants_move_up_as_phi_to_the_alpha(alpha):
    before = measured_formants(vowel())
    after = measured_formants(anonymise(vowel(), alpha))
    assert abs(before[0] - 700) < 40 and abs(before[1] - 1200) < 40  # the fit sees the vowel
    for original, moved in ((700.0, after[0]), (1200.0, after[1])):
        assert moved > original + 50, (original, moved)  # below 1 rad, α < 1 raises
        assert abs(moved - predicted(original, alpha)) < 0.06 * predicted(original, alpha)


def test_alpha_above_one_moves_them_down():
    after = measured_formants(anonymise(vowel(), 1.2))
    assert after[0] < 700 - 50 and abs(after[0] - predicted(700, 1.2)) < 0.06 * 700


def test_alpha_one_returns_the_input():
    x = vowel() + 0.01 * np.random.default_rng(0).standard_normal(8000).astype(np.float32)
    assert np.max(np.abs(anonymise(x, 1.0) - x)) < 1e-5


def test_output_differs_and_keeps_rms_without_clipping():
    x = vowel(peak=0.5)
    y = anonymise(x, 0.8)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert np.sqrt(np.mean(y ** 2)) == pytest.approx(np.sqrt(np.mean(x ** 2)), rel=1e-4)
    assert np.corrcoef(x, y)[0, 1] < 0.9  # the waveform really changed
    loud = np.clip(vowel(peak=1.0) * 3.0, -1.0, 1.0)  # clipped, square-ish: warping raises peaks
    z = anonymise(loud, 0.75)
    assert np.max(np.abs(z)) <= 0.999 + 1e-6 and np.all(np.isfinite(z))


@pytest.mark.parametrize("n", [0, 1, 7, 159, 319, 320, 321, 1000])
def test_any_length_including_under_one_window(n):
    x = (0.1 * np.random.default_rng(n).standard_normal(n)).astype(np.float32)
    y = anonymise(x, 0.8)
    assert y.shape == (n,) and y.dtype == np.float32 and np.all(np.isfinite(y))
    if n:
        assert np.sqrt(np.mean(y ** 2)) == pytest.approx(np.sqrt(np.mean(x ** 2)), rel=1e-3)


def test_silence_stays_silent_and_muted_spans_stay_muted():
    assert not np.any(anonymise(np.zeros(4000, np.float32), 0.8))
    from filters.audio import decode_flac, encode_flac

    x = np.tile(vowel(seconds=0.25), 4)  # 1 s
    flac = encode_flac(x, 5)
    out = decode_flac(edited_audio(flac, [{"start": 0.3, "end": 0.6, "action": "mute"}], 5,
                                   alpha=0.8))
    fade = int(DEFAULT_FADE_MS / 1000 * SR)  # the edit's fades lie inside its span
    assert not np.any(out[int(0.3 * SR) + fade:int(0.6 * SR) - fade])  # silent, no ringing
    plain = decode_flac(edited_audio(flac, [{"start": 0.3, "end": 0.6, "action": "mute"}], 5))
    assert np.corrcoef(out[int(0.3 * SR):int(0.6 * SR)],  # the fades too: anonymised audio
                       plain[int(0.3 * SR):int(0.6 * SR)])[0, 1] < 0.95
    assert np.corrcoef(out[:int(0.3 * SR)], x[:int(0.3 * SR)])[0, 1] < 0.9  # rest anonymised
    assert edited_audio(flac, [], 5, alpha=None) == flac  # nothing to do: bytes untouched


def test_alpha_is_a_pure_function_of_seed_and_voice():
    cfg = AnonymiseConfig(enabled=True)
    alphas = [alpha_for(f"recording:r{i}", cfg) for i in range(200)]
    assert alphas == [alpha_for(f"recording:r{i}", cfg) for i in range(200)]
    assert min(alphas) >= 0.75 and max(alphas) <= 0.9
    assert max(alphas) - min(alphas) > 0.1  # spread over the range, not one value
    other_seed = AnonymiseConfig(enabled=True, seed=1)
    assert sum(alpha_for(f"recording:r{i}", other_seed) != a for i, a in enumerate(alphas)) > 190
    fixed = AnonymiseConfig(enabled=True, alpha_min=0.8, alpha_max=0.8)
    assert {alpha_for(f"recording:r{i}", fixed) for i in range(10)} == {0.8}


def test_voice_is_the_recording_or_the_source():
    rows = [{"recording_id": "a", "source_name": "pod"}, {"recording_id": "b",
                                                          "source_name": "pod"}]
    per_rec = AnonymiseConfig(enabled=True)
    per_src = AnonymiseConfig(enabled=True, alpha_per="source")
    assert voice_key(rows[0], per_rec) != voice_key(rows[1], per_rec)
    assert voice_key(rows[0], per_src) == voice_key(rows[1], per_src)


def test_decide_gives_every_kept_segment_its_voice_alpha():
    rec = Recording("rec1", "file:///a.flac", "", source_name="pod")
    segs = [Segment(f"rec1-{i:05d}", "rec1", i, "file:///a.flac", i, i + 1.0, source_name="pod")
            for i in range(3)]
    cfg = AnonymiseConfig(enabled=True)
    kept, rejects = anonymise_filter(rec, segs, cfg)
    assert rejects == [] and len(kept) == 3
    assert {s.anonymise_alpha for s in kept} == {alpha_for("recording:rec1", cfg)}
    per_recording = [f.name for f in REGISTRY if f.scope != "global"]
    assert per_recording[-1] == "anonymise"  # last of them: only what they all kept gets an α
    on = CurateConfig(anonymise=cfg)
    assert "anonymise" not in [f.name for f in REGISTRY if f.enabled(
        getattr(CurateConfig(), f.config))]
    assert "pii" in funnel_stages(REGISTRY, on)


@pytest.mark.parametrize("section,field", [
    ({"alpha_min": 0.2}, "alpha_min"),
    ({"alpha_min": 0.9, "alpha_max": 0.8}, "alpha_max"),
    ({"alpha_per": "speaker"}, "alpha_per"),
    ({"enabled": "yes"}, "enabled"),
    ({"alpha": 0.8}, "alpha"),
])
def test_bad_config_fails_naming_the_field(section, field):
    with pytest.raises(ConfigError, match=rf"curate\.anonymise\.{field}"):
        parse_config({"sources": [{"type": "local", "path": "."}],
                      "curate": {"anonymise": section}})


def test_publish_alpha_false_keeps_alpha_out_of_the_shard_json():
    from pipelines.stages.publish import sample_metadata

    row = {"segment_id": "r-00000", "anonymise_alpha": 0.81}
    assert sample_metadata(row)["anonymise_alpha"] == 0.81
    assert sample_metadata(row, publish_alpha=False)["anonymise_alpha"] is None
