"""DNSMOS P.835 from the model shipped in speechmos (skips when it is not installed)."""

from __future__ import annotations

import numpy as np
import pytest

from filters import dnsmos
from filters.dnsmos import WINDOW, windows

SR = 16_000


def test_windows_tile_short_clips_and_align_the_last_to_the_end():
    short = np.arange(SR, dtype=np.float32)
    w = windows(short)
    assert w.shape == (1, WINDOW) and w[0, SR] == 0.0  # tiled
    long = np.arange(20 * SR, dtype=np.float32)
    w = windows(long)
    assert w.shape == (3, WINDOW)
    assert w[1, 0] == WINDOW and w[-1, -1] == long[-1]


@pytest.fixture(scope="module")
def scorer():
    if not dnsmos.available():
        pytest.skip("speechmos/onnxruntime not installed")
    return dnsmos.DnsmosScorer(max_batch_windows=2)


def test_noise_scores_low_and_batches_equal_single_calls(scorer):
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(3 * SR) * 0.1).astype(np.float32)
    tone = (0.3 * np.sin(2 * np.pi * 200 * np.arange(2 * SR) / SR)).astype(np.float32)
    batch = scorer.score([noise, np.zeros(SR, np.float32), tone, noise[:100]])
    assert batch[1] is None and batch[3] is None  # silence and a 6 ms clip are not scored
    assert batch[0].ovrl < 2.0 and batch[0].bak < 2.0  # white noise: nothing but background
    single = scorer.score([tone])[0]
    assert single == batch[2]
    for s in (batch[0], batch[2]):
        assert 1.0 <= s.sig <= 5.0 and 1.0 <= s.bak <= 5.0 and 1.0 <= s.ovrl <= 5.0


def test_scores_do_not_depend_on_the_level(scorer):
    rng = np.random.default_rng(1)
    noisy_tone = (0.3 * np.sin(2 * np.pi * 180 * np.arange(4 * SR) / SR)
                  + 0.01 * rng.standard_normal(4 * SR)).astype(np.float32)
    loud, quiet = scorer.score([noisy_tone, noisy_tone * 0.01])
    assert quiet.ovrl == pytest.approx(loud.ovrl, abs=0.02)
