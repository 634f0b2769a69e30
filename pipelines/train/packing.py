"""Packing segments into training windows, so the encoder does not spend its compute on padding.

Whisper was trained on 30 s windows cut from long recordings, each with the timestamped
transcript of what it contains. Curated shards hold segments (utterances up to 30 s, often a few
seconds), so a window of one segment is mostly padding: on the demo data one segment a window
leaves about 3/4 of the encoder's input empty. The packer rebuilds full windows:

* ``recording``: consecutive segments of one recording (index i, i+1, ...) share a window, with
  their real pause between them (capped at ``max_gap_s``; the shards do not hold the audio
  between segments, so the pause is silence). This is Whisper's own kind of window, and its
  timestamps are the segments' times relative to the window.
* ``language``: as above, then the rest of a window is filled with segments of other recordings
  of the same language and task (``join_gap_s`` of silence apart), best fit over a few open
  windows. One language and task token still describes the whole window. The join is short
  because each curated segment already carries ``curate.segment.pad_s`` (0.3 s) of its own
  silence at both edges. On the demo run (22 segments of 3-9 s, three languages) the silent
  gaps, not the fit, were most of the padding: 1 s joins padded 16.7-17.6 % of window audio,
  0.3 s joins 16.1 % with 4 open windows and 13.6 % with 8 (6.0 % on 66 real-speech segments;
  ``benchmarks/train_gpu.py --shards RUN/manifest/shards.json --packing``).
* ``none``: one segment a window.

Shards are written in key order (``{recording_id}-{index:05d}``), so a recording's segments
arrive one after another within a shard; a recording split across two shards packs whole only
when those shards are read in order by the same worker.

Previous-text conditioning needs the text before a window: the packer remembers the last texts
of recent recordings and hands a new window the text of the segments just before its first one
when it has seen them (the same worker, in order).

This module is pure Python (no torch, no audio): windows carry references to their segments'
audio, decoded later in the DataLoader worker.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

EPS = 1e-6
MIN_SEGMENT_S = 1.0  # curate.segment.min_segment_s: no shorter segment reaches the shards


@dataclass(frozen=True)
class SegmentRef:
    """What packing needs of a shard sample; ``audio`` is opaque here (FLAC bytes)."""

    key: str
    recording_id: str
    index: int
    duration: float  # seconds of audio in the sample
    start: float  # seconds from the start of the recording
    end: float
    text: str
    language: str
    task: str
    audio: Any = None
    epoch: int = 0

    @classmethod
    def from_meta(cls, key: str, meta: dict[str, Any], audio: Any = None,
                  epoch: int = 0) -> SegmentRef:
        start = float(meta.get("start") or 0.0)
        end = float(meta.get("end") or start)
        duration = float(meta.get("duration") or (end - start))
        return cls(key=key, recording_id=str(meta.get("recording_id") or key),
                   index=int(meta.get("index") or 0), duration=duration, start=start, end=end,
                   text=str(meta.get("text") or ""), language=str(meta.get("language") or ""),
                   task=str(meta.get("task") or "transcribe"), audio=audio, epoch=epoch)


@dataclass
class Window:
    """Segments placed in one training window: (offset in seconds, segment) in time order."""

    language: str
    task: str
    items: list[tuple[float, SegmentRef]] = field(default_factory=list)
    prev_text: str = ""
    tokens: int = 0  # decoder tokens the items need (with timestamps)
    no_speech: bool = False
    seed: int = 0  # seeds this window's random choices (targets, generated audio)

    @property
    def cursor(self) -> float:
        if not self.items:
            return 0.0
        offset, seg = self.items[-1]
        return offset + seg.duration

    @property
    def speech_s(self) -> float:
        return sum(seg.duration for _, seg in self.items)

    @property
    def last(self) -> SegmentRef | None:
        return self.items[-1][1] if self.items else None


@dataclass
class PackStats:
    windows: int = 0
    segments: int = 0
    speech_s: float = 0.0
    window_s: float = 0.0
    dropped: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1

    @property
    def padded_share(self) -> float:
        """Share of window audio not covered by a segment (silent gaps count as padding)."""
        total = self.windows * self.window_s
        return 1.0 - self.speech_s / total if total else 0.0


class Packer:
    """Streaming packer: feed segments in shard order, get closed windows back."""

    def __init__(self, *, window_s: float, mode: str = "language", max_gap_s: float = 1.0,
                 join_gap_s: float | None = None,
                 open_windows: int = 8, max_tokens: int = 440,
                 token_cost: Callable[[str], int] = lambda text: len(text.split()) + 2,
                 prev_text_prob: float = 0.0, rng: random.Random | None = None,
                 memory: int = 1024, prev_chars: int = 1000) -> None:
        self.window_s = window_s
        self.mode = mode
        self.max_gap_s = max_gap_s
        # silence between segments of different recordings ("language" mode; None: max_gap_s)
        self.join_gap_s = max_gap_s if join_gap_s is None else join_gap_s
        # the least silence before any next segment: a window with less room than this plus
        # the shortest segment is full
        self.min_gap_s = min(max_gap_s, self.join_gap_s) if mode == "language" else max_gap_s
        # only "language" fills windows from several recordings; the other modes close a window
        # as soon as its recording (or segment) is over
        self.open_windows = open_windows if mode == "language" else 1
        self.max_tokens = max_tokens
        self.token_cost = token_cost
        self.prev_text_prob = prev_text_prob
        self.rng = rng or random.Random(0)
        self.memory: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self.memory_size = memory
        self.prev_chars = prev_chars
        self.open: dict[tuple[str, str], list[Window]] = {}
        self.stats = PackStats(window_s=window_s)

    # ------------------------------------------------------------------ placement

    def _gap(self, window: Window, seg: SegmentRef) -> float | None:
        """Silence before ``seg`` if it can join ``window``; None when it may not."""
        last = window.last
        if last is None:
            return 0.0
        follows = last.recording_id == seg.recording_id and seg.index == last.index + 1
        if follows:
            return min(max(seg.start - last.end, 0.0), self.max_gap_s)
        if self.mode == "language":
            return self.join_gap_s
        return None

    def _fits(self, window: Window, seg: SegmentRef, cost: int) -> float | None:
        gap = self._gap(window, seg)
        if gap is None or self.mode == "none" and window.items:
            return None
        offset = window.cursor + gap
        if offset + seg.duration > self.window_s + EPS or window.tokens + cost > self.max_tokens:
            return None
        return offset

    def _remember(self, seg: SegmentRef) -> str:
        """Record ``seg``'s text; return the text just before it in its recording, if known."""
        prev = ""
        known = self.memory.pop(seg.recording_id, None)
        if known is not None and known[0] == seg.index - 1:
            prev = known[1]
        text = (prev + " " + seg.text.strip()).strip()[-self.prev_chars:]
        self.memory[seg.recording_id] = (seg.index, text)
        while len(self.memory) > self.memory_size:
            self.memory.popitem(last=False)
        return prev

    def add(self, seg: SegmentRef) -> Iterator[Window]:
        """Place one segment; yields the windows this closes."""
        prev = self._remember(seg)
        if seg.duration <= 0:
            self.stats.drop("no_duration")
            return
        if seg.duration > self.window_s + EPS:
            self.stats.drop("longer_than_window")
            return
        cost = self.token_cost(seg.text)
        if cost > self.max_tokens:
            self.stats.drop("too_many_tokens")
            return
        key = (seg.language, seg.task)
        windows = self.open.setdefault(key, [])
        best, best_offset, best_room = None, 0.0, None
        for window in windows:
            offset = self._fits(window, seg, cost)
            if offset is None:
                continue
            last = window.last
            if last and last.recording_id == seg.recording_id and seg.index == last.index + 1:
                best, best_offset = window, offset  # a continuation always wins
                break
            room = self.window_s - (offset + seg.duration)
            if best_room is None or room < best_room:
                best, best_offset, best_room = window, offset, room
        if best is None:
            use_prev = prev and self.rng.random() < self.prev_text_prob
            best = Window(seg.language, seg.task, prev_text=prev if use_prev else "",
                          seed=self.rng.getrandbits(32))
            best_offset = 0.0
            windows.append(best)
        best.items.append((best_offset, seg))
        best.tokens += cost
        # a window is done when no further segment fits: curated segments are at least
        # MIN_SEGMENT_S long (curate.segment.min_segment_s) and come after a pause
        full = [w for w in windows if self.window_s - w.cursor < self.min_gap_s + MIN_SEGMENT_S]
        for window in full:
            windows.remove(window)
            yield self._close(window)
        while len(windows) > self.open_windows:  # close the fullest of the others: the
            # window just used may still take this recording's next segment
            fullest = max((w for w in windows if w is not best), key=lambda w: w.speech_s)
            windows.remove(fullest)
            yield self._close(fullest)

    def flush(self) -> Iterator[Window]:
        """Close every open window (end of the stream)."""
        for key in sorted(self.open):
            for window in self.open.pop(key):
                yield self._close(window)

    def _close(self, window: Window) -> Window:
        self.stats.windows += 1
        self.stats.segments += len(window.items)
        self.stats.speech_s += window.speech_s
        return window

    def pack(self, segments: Iterable[SegmentRef]) -> Iterator[Window]:
        for seg in segments:
            yield from self.add(seg)
        yield from self.flush()
