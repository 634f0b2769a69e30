"""Eval-set decontamination: drop training segments whose text overlaps an evaluation set.

Texts are compared as word n-grams of the dedup normalisation (``filters.dedup.text.normalise``).
For a segment, the overlap with one eval utterance is the larger of the share of the utterance's
n-grams found in the segment (the segment contains the utterance) and the share of the segment's
n-grams found in the utterance (the segment is a piece of it); a segment whose best overlap
reaches ``eval_min_overlap`` drops as ``eval_overlap``, naming the eval set. Texts shorter than
``n`` words count as one n-gram of all their words. Eval sets load once per worker (cached by
their config).
"""

from __future__ import annotations

import csv
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from filters.dedup.config import DedupConfig, EvalSet
from filters.dedup.text import normalise
from schemas.reasons import Reason, Stage
from schemas.records import Reject, Segment, Verdict

TSV_COLUMNS = ("transcription", "raw_transcription", "sentence", "text", "normalized_text")
NAME = "eval"


def ngrams(normalised: str, n: int) -> set[str]:
    words = normalised.split()
    if not words:
        return set()
    if len(words) < n:
        return {" ".join(words)}
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def _read_tsv(path: str, column: str) -> list[str]:
    with open(path, encoding="utf-8", newline="") as fh:
        sample = fh.readline()
        fh.seek(0)
        names = sample.rstrip("\n").split("\t")
        wanted = column or next((c for c in TSV_COLUMNS if c in names), "")
        if wanted and wanted in names:
            return [row.get(wanted) or "" for row in csv.DictReader(fh, delimiter="\t",
                                                                   quoting=csv.QUOTE_NONE)]
        if column:
            raise ValueError(f"{path}: no column {column!r} (columns: {', '.join(names)})")
        # FLEURS' TSVs have no header: id, file, raw transcription, transcription, ...
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
        return [r[3] if len(r) > 3 else r[-1] for r in rows if r]


def _read_txt(path: str) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        lines = [line.strip() for line in fh]
    if path.endswith(".trans.txt"):  # LibriSpeech: "1089-134686-0000 HE HOPED THERE ..."
        return [line.split(" ", 1)[1] if " " in line else "" for line in lines]
    return lines


def read_eval_texts(ev: EvalSet) -> list[str]:
    """Every utterance of an eval set (files or a directory tree of .txt/.tsv)."""
    if not os.path.exists(ev.path):
        raise ValueError(f"eval set {ev.name!r}: {ev.path} does not exist")
    paths = [ev.path]
    if os.path.isdir(ev.path):
        paths = sorted(os.path.join(root, f) for root, _, files in os.walk(ev.path)
                       for f in files if f.endswith((".txt", ".tsv")))
    texts: list[str] = []
    for path in paths:
        texts.extend(_read_tsv(path, ev.column) if path.endswith(".tsv") else _read_txt(path))
    return [t for t in texts if t and t.strip()]


@dataclass
class EvalIndex:
    """n-gram -> eval utterances holding it, with each utterance's n-gram count and set name."""

    n: int
    postings: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    sizes: list[int] = field(default_factory=list)
    sets: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # utterances per eval set

    def add(self, set_name: str, text: str) -> None:
        grams = ngrams(normalise(text), self.n)
        if not grams:
            return
        uid = len(self.sizes)
        self.sizes.append(len(grams))
        self.sets.append(set_name)
        for g in grams:
            self.postings[g].append(uid)

    def best_overlap(self, text: str) -> tuple[float, str]:
        """(overlap, eval set name) of the best-matching eval utterance; (0, "") if none."""
        grams = ngrams(normalise(text), self.n)
        if not grams:
            return 0.0, ""
        hits: Counter[int] = Counter()
        for g in grams:
            for uid in self.postings.get(g, ()):
                hits[uid] += 1
        best, name = 0.0, ""
        for uid, h in hits.items():
            share = max(h / self.sizes[uid], h / len(grams))
            if share > best:
                best, name = share, self.sets[uid]
        return best, name


@lru_cache(maxsize=4)
def load_index(eval_sets: tuple[EvalSet, ...], n: int) -> EvalIndex:
    index = EvalIndex(n)
    for ev in eval_sets:
        texts = read_eval_texts(ev)
        index.counts[ev.name] = len(texts)
        for t in texts:
            index.add(ev.name, t)
    return index


def decide_eval_overlap(seg: Segment, cfg: DedupConfig) -> Segment | Reject:
    """Registry filter (segment scope): drop a segment whose label or source text overlaps an
    eval set by at least ``eval_min_overlap``; in ``flag`` mode record it and keep it."""
    index = load_index(cfg.eval_sets, cfg.eval_ngram)
    best, name = 0.0, ""
    for text in {seg.text, seg.source_text or ""}:
        share, which = index.best_overlap(text)
        if share > best:
            best, name = share, which
    if best < cfg.eval_min_overlap:
        return seg
    detail = (f"overlaps eval set {name}: {best:.2f} of the {cfg.eval_ngram}-grams "
              f">= eval_min_overlap={cfg.eval_min_overlap}")
    if cfg.mode == "flag":
        return seg.with_verdict(Verdict(NAME, True, Reason.EVAL_OVERLAP, detail, round(best, 4)))
    return Reject.for_segment(seg, Stage.DEDUP, Reason.EVAL_OVERLAP, detail)


def eval_set_of(detail: str) -> str:
    """The eval set named in an ``eval_overlap`` reject's detail."""
    prefix = "overlaps eval set "
    return detail[len(prefix):].split(":", 1)[0] if detail.startswith(prefix) else ""
