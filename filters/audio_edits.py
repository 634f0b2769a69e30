"""Audio edits the plan asks publish to apply (time spans relative to the segment).

``silence`` replaces a span with digital silence; ``tone`` with a 1 kHz sine at -20 dBFS (the
broadcast bleep: audibly an edit rather than a gap). ``mute`` and ``bleep`` are the older names
of the same two edits.

Why the fades sit inside the span: the samples outside every edited span must stay the exact
samples analyse stored (a test compares them sample for sample), so the short raised-cosine
cross-fade that avoids a click at each edge is taken from the span itself. The redaction plan
widens each span by a margin at least as long as the fade (``curate.privacy``), so the faded
edge lies in the margin and the words themselves are fully replaced. Overlapping or touching
spans of the same edit are merged first, so two adjacent redactions make one gap, not two fades.
Spans are clipped to the clip, so a plan made with other timings can never index outside it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from schemas.records import SAMPLE_RATE

SILENCE, TONE = "silence", "tone"
ALIASES = {"mute": SILENCE, "bleep": TONE}
ACTIONS = (SILENCE, TONE, *ALIASES)
TONE_HZ = 1000.0
TONE_AMPLITUDE = 0.1  # -20 dBFS
DEFAULT_FADE_MS = 10.0


def sample_span(start: float, end: float, n: int) -> tuple[int, int]:
    """The samples ``[a, b)`` a time span covers in a clip of ``n`` samples (clipped)."""
    a = max(0, int(np.floor(start * SAMPLE_RATE)))
    b = min(n, int(np.ceil(end * SAMPLE_RATE)))
    return a, max(a, b)


def merged_spans(edits: Iterable[tuple[float, float, str]], n: int
                 ) -> list[tuple[int, int, str]]:
    """Sample spans per edit, in order, overlapping/touching spans of one action merged."""
    spans: list[tuple[int, int, str]] = []
    for start, end, action in edits:
        if action not in ACTIONS:
            raise ValueError(f"unknown audio edit {action!r}; expected one of {ACTIONS}")
        a, b = sample_span(float(start), float(end), n)
        if b > a:
            spans.append((a, b, ALIASES.get(action, action)))
    out: list[tuple[int, int, str]] = []
    for a, b, action in sorted(spans):
        if out and out[-1][2] == action and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b), action)
        else:
            out.append((a, b, action))
    return out


def _replacement(a: int, b: int, action: str) -> np.ndarray:
    if action == SILENCE:
        return np.zeros(b - a, dtype=np.float32)
    t = np.arange(a, b, dtype=np.float64) / SAMPLE_RATE
    return (TONE_AMPLITUDE * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)


def apply_edits(samples: np.ndarray, edits: Iterable[tuple[float, float, str]],
                fade_ms: float = DEFAULT_FADE_MS) -> np.ndarray:
    """A copy of ``samples`` with every (start, end, action) span replaced; samples outside
    the spans are returned unchanged, bit for bit."""
    out = np.array(samples, dtype=np.float32, copy=True)
    fade = max(0, int(round(fade_ms * SAMPLE_RATE / 1000.0)))
    for a, b, action in merged_spans(edits, len(out)):
        original = out[a:b].copy()
        new = _replacement(a, b, action)
        f = min(fade, (b - a) // 2)
        if f > 0:  # raised-cosine cross-fade from the original into the replacement and back
            ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(f) + 0.5) / f)).astype(np.float32)
            new[:f] = original[:f] * (1 - ramp) + new[:f] * ramp
            new[-f:] = original[-f:] * ramp + new[-f:] * (1 - ramp)
        out[a:b] = new
    return out
