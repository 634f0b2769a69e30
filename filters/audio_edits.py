"""Audio edits the plan asks publish to apply (time spans relative to the segment).

``mute`` silences a span; ``bleep`` replaces it with a 1 kHz tone at -20 dBFS (the broadcast
convention, audibly an edit rather than a gap). Spans are clipped to the clip, so a plan made
with other timings can never index outside the audio.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from schemas.records import SAMPLE_RATE

ACTIONS = ("mute", "bleep")
BLEEP_HZ = 1000.0
BLEEP_AMPLITUDE = 0.1  # -20 dBFS


def apply_edits(samples: np.ndarray, edits: Iterable[tuple[float, float, str]]) -> np.ndarray:
    """A copy of ``samples`` with every (start, end, action) span edited."""
    out = np.array(samples, dtype=np.float32, copy=True)
    for start, end, action in edits:
        if action not in ACTIONS:
            raise ValueError(f"unknown audio edit {action!r}; expected one of {ACTIONS}")
        a = max(0, int(round(start * SAMPLE_RATE)))
        b = min(len(out), int(round(end * SAMPLE_RATE)))
        if b <= a:
            continue
        if action == "mute":
            out[a:b] = 0.0
        else:
            t = np.arange(a, b, dtype=np.float32) / SAMPLE_RATE
            out[a:b] = BLEEP_AMPLITUDE * np.sin(2 * np.pi * BLEEP_HZ * t)
    return out
