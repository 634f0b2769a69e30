"""Accounting that can fail: what entered a phase is counted where it enters (the listing, the
segmenter), never derived from what came out, and is checked against kept + rejected after the
phase. An id that vanished (or appeared from nowhere, or was both kept and rejected) fails the run
with the ids named, instead of silently shrinking the corpus.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_IDS_SHOWN = 20


class AccountingError(RuntimeError):
    """Records were lost or invented between a phase's input and its outputs."""


@dataclass
class Ledger:
    """One phase's books: ids in, ids kept (passed on), ids rejected."""

    phase: str
    unit: str
    entered: set[str] = field(default_factory=set)
    kept: set[str] = field(default_factory=set)
    rejected: set[str] = field(default_factory=set)

    def problems(self) -> list[str]:
        out = []
        vanished = self.entered - self.kept - self.rejected
        invented = (self.kept | self.rejected) - self.entered
        both = self.kept & self.rejected
        for label, ids in (("vanished (neither kept nor rejected)", vanished),
                           ("came out without going in", invented),
                           ("both kept and rejected", both)):
            if ids:
                shown = sorted(ids)[:MAX_IDS_SHOWN]
                more = f" and {len(ids) - len(shown)} more" if len(ids) > len(shown) else ""
                out.append(f"{self.phase}: {len(ids)} {self.unit} {label}: "
                           f"{', '.join(shown)}{more}")
        return out

    def summary(self) -> dict[str, int]:
        return {"in": len(self.entered), "kept": len(self.kept), "rejected": len(self.rejected)}


def ledger(phase: str, unit: str, entered: Iterable[str], kept: Iterable[str],
           rejected: Iterable[str]) -> Ledger:
    return Ledger(phase, unit, set(entered), set(kept), set(rejected))


def check(ledgers: Iterable[Ledger]) -> dict[str, dict[str, int]]:
    """Raise AccountingError listing every problem; return each phase's counts when all balance."""
    ledgers = list(ledgers)
    problems = [p for book in ledgers for p in book.problems()]
    if problems:
        raise AccountingError("accounting check failed:\n  " + "\n  ".join(problems))
    return {f"{b.phase}.{b.unit}": b.summary() for b in ledgers}
