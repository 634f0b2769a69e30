"""Voice-activity segmentation with webrtcvad into utterances of at most 30 s.

Whisper sees 30 s windows, so every segment must fit in one; we cut at pauses (the longest
silence available) rather than at fixed offsets so words are not chopped. When the transcript is
timed (VTT/SRT cues), segments are built from whole cues so each segment's source text is exactly
the cues it spans.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from schemas.records import SAMPLE_RATE, Cue


class SegmentParams(Protocol):
    aggressiveness: int
    frame_ms: int
    min_speech_s: float
    min_silence_s: float
    pad_s: float
    max_s: float
    target_s: float
    min_segment_s: float
    respect_cues: bool


@dataclass(frozen=True)
class SpeechSpan:
    start: float
    end: float
    speech_ratio: float
    source_text: str | None = None  # the cue text covering this span (timed transcripts)

    @property
    def duration(self) -> float:
        return self.end - self.start


# Level normalisation (issue 10, part 3): web audio varies in level by 40 dB and more, and
# webrtcvad (fixed-point, int16) finds nothing in clean speech far below -40 dBFS. Before VAD the
# recording is scaled so that its loud frames (the 95th percentile of 30 ms frame RMS) sit at
# LEVEL_TARGET_DBFS. The gain is a function of the recording's own frame-level distribution, so a
# recording scaled by any factor is normalised to the same samples: segmentation is
# level-independent (tests/filters/test_vad.py checks -20..-70 dBFS). Guards, so pure noise or
# digital silence is never boosted into "speech":
# * no gain when the loud frames are below LEVEL_FLOOR_DBFS (digital silence, dither);
# * no gain when the recording lacks speech's dynamics: loud frames less than
#   LEVEL_MIN_RANGE_DB above the quiet ones (10th percentile) is stationary noise or hum
#   (speech-eval's room noise spans 3 dB, its speech clips 30 dB and more);
# * the gain is capped to +/- LEVEL_MAX_GAIN_DB.
# Only the VAD and ASR inputs are normalised; the stored candidate audio stays as decoded.
LEVEL_TARGET_DBFS = -20.0
LEVEL_FLOOR_DBFS = -100.0
LEVEL_MIN_RANGE_DB = 15.0
LEVEL_MAX_GAIN_DB = 60.0
LEVEL_FRAME = 480  # 30 ms at 16 kHz


def frame_levels_db(samples: np.ndarray, frame_len: int = LEVEL_FRAME) -> np.ndarray:
    """dBFS RMS of each whole frame (-240 for digital silence)."""
    n = len(samples) // frame_len
    energy = _frame_energy(np.asarray(samples), frame_len, n)
    return 20.0 * np.log10(np.maximum(energy, 1e-12))


def level_gain(samples: np.ndarray, require_dynamics: bool = True) -> float:
    """Linear gain that puts the loud frames of ``samples`` at ``LEVEL_TARGET_DBFS``.

    1.0 for silence, for recordings too short to measure, and (``require_dynamics``) for
    stationary signals without speech-like dynamics."""
    db = frame_levels_db(samples)
    if len(db) == 0:
        return 1.0
    loud = float(np.percentile(db, 95))
    if loud < LEVEL_FLOOR_DBFS:
        return 1.0
    if require_dynamics and loud - float(np.percentile(db, 10)) < LEVEL_MIN_RANGE_DB:
        return 1.0
    gain_db = min(LEVEL_MAX_GAIN_DB, max(-LEVEL_MAX_GAIN_DB, LEVEL_TARGET_DBFS - loud))
    return float(10.0 ** (gain_db / 20.0))


def normalise_level(samples: np.ndarray, require_dynamics: bool = True) -> np.ndarray:
    """``samples`` scaled by :func:`level_gain` (float32; a new array, the input is untouched)."""
    gain = level_gain(samples, require_dynamics)
    return np.asarray(samples, dtype=np.float32) * np.float32(gain)


def speech_frames(samples: np.ndarray, aggressiveness: int, frame_ms: int) -> np.ndarray:
    """One boolean per frame: does webrtcvad call it speech?"""
    import webrtcvad

    vad = webrtcvad.Vad(aggressiveness)
    frame_len = SAMPLE_RATE * frame_ms // 1000
    n = len(samples) // frame_len
    pcm = (np.clip(samples[: n * frame_len], -1, 1) * 32767).astype("<i2")
    flags = np.zeros(n, dtype=bool)
    raw = pcm.tobytes()
    step = frame_len * 2
    for i in range(n):
        flags[i] = vad.is_speech(raw[i * step:(i + 1) * step], SAMPLE_RATE)
    return flags


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of consecutive True values."""
    if len(flags) == 0:
        return []
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def speech_regions(flags: np.ndarray, frame_s: float, min_silence_s: float,
                   min_speech_s: float) -> list[tuple[int, int]]:
    """Speech runs with short pauses bridged and very short blips dropped (frame indices)."""
    return [(a, b) for a, b in _bridged(flags, frame_s, min_silence_s)
            if b - a >= max(1, int(round(min_speech_s / frame_s)))]


def short_speech_seconds(flags: np.ndarray, frame_s: float, min_silence_s: float,
                         min_speech_s: float) -> float:
    """Seconds of VAD speech in regions that :func:`speech_regions` drops as too short: speech
    that leaves no segment, counted so it is not lost without a trace."""
    min_len = max(1, int(round(min_speech_s / frame_s)))
    return sum(float(np.sum(flags[a:b])) * frame_s
               for a, b in _bridged(flags, frame_s, min_silence_s) if b - a < min_len)


def _bridged(flags: np.ndarray, frame_s: float, min_silence_s: float) -> list[list[int]]:
    regions: list[list[int]] = []
    max_gap = int(round(min_silence_s / frame_s))
    for a, b in _runs(flags):
        if regions and a - regions[-1][1] < max_gap:
            regions[-1][1] = b
        else:
            regions.append([a, b])
    return regions


def _split_long(a: int, b: int, flags: np.ndarray, energy: np.ndarray, max_f: int,
                target_f: int) -> list[tuple[int, int]]:
    """Split frames [a, b) into pieces of at most max_f, cutting at the quietest frame."""
    out = []
    while b - a > max_f:
        lo, hi = a + max(1, target_f // 2), a + max_f
        window = energy[lo:hi] + np.where(flags[lo:hi], 1e3, 0.0)  # prefer non-speech frames
        cut = lo + int(np.argmin(window))
        out.append((a, cut))
        a = cut
    out.append((a, b))
    return out


def _frame_energy(samples: np.ndarray, frame_len: int, n: int) -> np.ndarray:
    frames = samples[: n * frame_len].reshape(n, frame_len) if n else np.zeros((0, frame_len))
    return np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)) if n else np.zeros(0)


def segment_speech(samples: np.ndarray, params: SegmentParams,
                   cues: tuple[Cue, ...] = ()) -> list[SpeechSpan]:
    """Cut a recording into speech spans of at most ``params.max_s`` seconds."""
    return segment_speech_counted(samples, params, cues)[0]


def segment_speech_counted(samples: np.ndarray, params: SegmentParams,
                           cues: tuple[Cue, ...] = ()) -> tuple[list[SpeechSpan], float]:
    """:func:`segment_speech` and the seconds of speech dropped as shorter than
    ``min_speech_s``. With a timed transcript the cues decide the spans, and VAD speech outside
    every cue becomes spans without source text (pseudo-labelled) or, when short, is counted."""
    frame_s = params.frame_ms / 1000.0
    samples = normalise_level(samples)  # VAD input only: the caller's samples stay as decoded
    flags = speech_frames(samples, params.aggressiveness, params.frame_ms)
    frame_len = SAMPLE_RATE * params.frame_ms // 1000
    energy = _frame_energy(samples, frame_len, len(flags))
    total_s = len(samples) / SAMPLE_RATE
    if cues and params.respect_cues:
        spans = _spans_from_cues(cues, flags, energy, frame_s, total_s, params)
        uncued, short = _uncued_spans(cues, flags, energy, frame_s, total_s, params)
        return sorted(spans + uncued, key=lambda s: (s.start, s.end)), short
    regions = speech_regions(flags, frame_s, params.min_silence_s, params.min_speech_s)
    short = short_speech_seconds(flags, frame_s, params.min_silence_s, params.min_speech_s)
    max_f = int(params.max_s / frame_s) - int(2 * params.pad_s / frame_s)
    target_f = int(params.target_s / frame_s)
    pieces: list[tuple[int, int]] = []
    for a, b in regions:
        pieces.extend(_split_long(a, b, flags, energy, max_f, target_f))
    merged: list[list[int]] = []
    for a, b in pieces:
        if merged and b - merged[-1][0] <= target_f:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [_span(a * frame_s, b * frame_s, flags, frame_s, total_s, params.pad_s, params.max_s)
            for a, b in merged], short


def _span(start: float, end: float, flags: np.ndarray, frame_s: float, total_s: float,
          pad_s: float, max_s: float, text: str | None = None) -> SpeechSpan:
    start = max(0.0, start - pad_s)
    end = min(total_s, end + pad_s, start + max_s)
    a, b = int(start / frame_s), max(int(start / frame_s) + 1, int(end / frame_s))
    ratio = float(np.mean(flags[a:b])) if b <= len(flags) and b > a else 0.0
    return SpeechSpan(round(start, 3), round(end, 3), round(ratio, 4), text)


def _spans_from_cues(cues: tuple[Cue, ...], flags: np.ndarray, energy: np.ndarray,
                     frame_s: float, total_s: float, params: SegmentParams) -> list[SpeechSpan]:
    """Group consecutive cues into spans of at most target_s; cut only between cues.

    A single cue longer than max_s cannot be split without guessing where its words fall, so it
    is cut at pauses and its pieces carry no source text (they keep only a pseudo-label).
    """
    spans: list[SpeechSpan] = []
    group: list[Cue] = []

    def flush() -> None:
        if group:  # nested cues: the span ends at the latest cue end, not the last cue's
            text = " ".join(c.text for c in group).strip()
            spans.append(_span(group[0].start, max(c.end for c in group), flags, frame_s,
                               total_s, 0.0, params.max_s, text))
            group.clear()

    for cue in sorted(cues, key=lambda c: c.start):
        start, end = max(0.0, cue.start), min(total_s, cue.end)
        if end <= start:
            continue
        if end - start > params.max_s:
            flush()
            a, b = int(start / frame_s), int(end / frame_s)
            for pa, pb in _split_long(a, b, flags, energy, int(params.max_s / frame_s),
                                      int(params.target_s / frame_s)):
                spans.append(_span(pa * frame_s, pb * frame_s, flags, frame_s, total_s, 0.0,
                                   params.max_s, None))
            continue
        if group and max(end, *(c.end for c in group)) - group[0].start > params.target_s:
            flush()
        group.append(Cue(start, end, cue.text))
    flush()
    return spans


UNCUED_MARGIN_S = 0.5  # VAD speech this close to a cue belongs to it (subtitle timing is loose)


def _uncued_spans(cues: tuple[Cue, ...], flags: np.ndarray, energy: np.ndarray, frame_s: float,
                  total_s: float, params: SegmentParams) -> tuple[list[SpeechSpan], float]:
    """Speech that no cue of a timed transcript covers: never silently ignored.

    VAD speech farther than ``UNCUED_MARGIN_S`` from every cue is segmented like an untimed
    recording; regions of at least ``max(min_speech_s, min_segment_s)`` become spans without
    source text (they get a pseudo-label only), the seconds of shorter ones are returned to be
    counted with the short speech."""
    outside = flags.copy()
    margin = int(round(UNCUED_MARGIN_S / frame_s))
    for cue in cues:
        a = max(0, int(cue.start / frame_s) - margin)
        b = min(len(flags), int(math.ceil(cue.end / frame_s)) + margin)
        outside[a:max(a, b)] = False
    keep_s = max(params.min_speech_s, params.min_segment_s)
    regions = _bridged(outside, frame_s, params.min_silence_s)
    min_len = max(1, int(round(keep_s / frame_s)))
    short = sum(float(np.sum(outside[a:b])) * frame_s for a, b in regions if b - a < min_len)
    max_f = int(params.max_s / frame_s)
    spans = []
    for a, b in regions:
        if b - a < min_len:
            continue
        for pa, pb in _split_long(a, b, outside, energy, max_f, int(params.target_s / frame_s)):
            spans.append(_span(pa * frame_s, pb * frame_s, flags, frame_s, total_s, 0.0,
                               params.max_s, None))
    return spans, short
