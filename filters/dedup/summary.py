"""The ``dedup`` block of ``stats.json``, from the plan rows alone (thin, launcher-side)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from filters.dedup.config import DedupConfig
from filters.dedup.eval_overlap import eval_set_of, load_index
from schemas.reasons import Reason

DEDUP_REASONS = (Reason.NEAR_DUPLICATE_AUDIO, Reason.REPEATED_TEXT, Reason.EVAL_OVERLAP)


def dedup_stats(plan: Iterable[dict[str, Any]], cfg: DedupConfig) -> dict[str, Any]:
    """Clusters by kind, drops by reason (count, hours), drops per eval set, and how many
    candidates were copies of what earlier runs hold."""
    clusters: dict[str, set[str]] = {"audio": set(), "text": set()}
    clustered = 0
    dropped: dict[str, dict[str, float]] = defaultdict(lambda: {"count": 0, "hours": 0.0})
    per_eval: dict[str, int] = defaultdict(int)
    held = 0
    for row in plan:
        ids = (row.get("dedup_cluster") or "").split()
        if ids:
            clustered += 1
        for cid in ids:
            clusters["audio" if cid.startswith("a-") else "text"].add(cid)
        reason = row.get("reject_reason") or ""
        if not row.get("keep") and reason in DEDUP_REASONS:
            dropped[reason]["count"] += 1
            dropped[reason]["hours"] += (row.get("duration") or 0.0) / 3600.0
            detail = row.get("reject_detail") or ""
            if reason == Reason.EVAL_OVERLAP:
                per_eval[eval_set_of(detail)] += 1
            elif "(held by " in detail:
                held += 1
    eval_sets = {}
    if cfg.eval_sets:
        sizes = load_index(cfg.eval_sets, cfg.eval_ngram).counts
        eval_sets = {e.name: {"path": e.path, "utterances": sizes.get(e.name, 0),
                              "dropped": per_eval.get(e.name, 0)} for e in cfg.eval_sets}
    return {
        "mode": cfg.mode,
        "clusters": {k: len(v) for k, v in clusters.items()},
        "clustered_segments": clustered,
        "dropped": {str(k): {"count": int(v["count"]), "hours": round(v["hours"], 6)}
                    for k, v in sorted(dropped.items())},
        "eval_sets": eval_sets,
        "against": list(cfg.against),
        "dropped_as_held_elsewhere": held,
        "settings": {"num_perm": cfg.num_perm, "bands": cfg.bands, "rows": cfg.rows,
                     "text_threshold": cfg.text_threshold, "shingle": cfg.shingle,
                     "shingle_size": cfg.shingle_size, "max_text_copies": cfg.max_text_copies},
    }
