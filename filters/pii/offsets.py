"""Rewriting text while remembering, for every output character, where it came from.

Spoken-form normalisation rewrites a transcript in passes ("five five five" -> "555", then
"john dot smith at gmail dot com" -> "john.smith@gmail.com"); the detectors run on the result
and their spans must point at the original words. Each pass is a list of replacements over its
input; ``Mapped`` composes the passes so one lookup maps a span back to the first text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Replacement = tuple[int, int, str]  # (start, end, new text) over the pass's input


@dataclass(frozen=True)
class Mapped:
    """``text`` plus, per character, the source range ``[starts[i], ends[i])`` it came from."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def identity(cls, text: str) -> Mapped:
        return cls(text, tuple(range(len(text))), tuple(range(1, len(text) + 1)))

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The source range covered by output characters ``[start, end)``."""
        if end <= start:
            raise ValueError(f"empty span [{start}, {end})")
        return min(self.starts[start:end]), max(self.ends[start:end])

    def rewrite(self, replacements: Sequence[Replacement]) -> Mapped:
        """Apply non-overlapping replacements (sorted by start) and compose the maps. A
        replacement's characters map to the union of the source ranges it replaced; a pure
        deletion leaves no character (its source is absorbed by any span that covers both
        neighbours)."""
        if not replacements:
            return self
        out: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        pos = 0
        for start, end, new in replacements:
            if start < pos or end < start:
                raise ValueError(f"replacements overlap or are unsorted at {start}")
            out.append(self.text[pos:start])
            starts.extend(self.starts[pos:start])
            ends.extend(self.ends[pos:start])
            if new:
                if end > start:
                    src = (min(self.starts[start:end]), max(self.ends[start:end]))
                else:  # an insertion: anchor it to the character before (or after)
                    at = self.ends[start - 1] if start > 0 else (self.starts[0] if self.starts
                                                                 else 0)
                    src = (at, at)
                out.append(new)
                starts.extend([src[0]] * len(new))
                ends.extend([src[1]] * len(new))
            pos = end
        out.append(self.text[pos:])
        starts.extend(self.starts[pos:])
        ends.extend(self.ends[pos:])
        return Mapped("".join(out), tuple(starts), tuple(ends))
