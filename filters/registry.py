"""The decide phase's filters, in order: one contract, one registry.

A filter is a pure function in ``filters/`` over a recording's candidate segments and its own
config section. Segment-scope filters judge one segment (``Segment -> Segment | Reject``);
recording-scope filters judge a recording's surviving segments together (``(Recording, [Segment])
-> ([kept], [Reject])``). Each records its verdicts on the segments (``passed=False`` drops,
``passed=True`` with a reason flags). :func:`apply_filters` runs the registry in order, routes
drops to rejects, and turns a filter's exception into a ``<filter>_failed`` reject of every
segment it was judging, so a bug in one filter never crashes a job or loses a segment.

Adding a filter is one module plus one entry here (and one config section): the decide stage,
the reject union, the funnel's stage list and the report all read this registry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from filters.anonymise import anonymise_filter
from filters.dedup.eval_overlap import decide_eval_overlap
from filters.label_decisions import decide_recording, decide_segment
from filters.language_filter import allowed_language
from filters.quality import decide_quality
from filters.redaction import decide_pii
from filters.takedown import decide_takedown
from schemas.reasons import Stage
from schemas.records import Recording, Reject, Segment, Verdict


@dataclass(frozen=True)
class Filter:
    name: str  # verdict prefix; a crash becomes reason ``{name}_failed``
    stages: tuple[Stage, ...]  # funnel stages its rejects count under, in order
    scope: str  # "segment", "recording", or "global" (run by pipelines/decide.py over the
    #             whole corpus after every per-recording filter; apply_filters skips it)
    run: Callable[..., Any] | None  # see the module docstring (None for global filters)
    config: str  # the attribute of the decide config that holds its settings
    enabled: Callable[[Any], bool] = lambda cfg: True  # off filters do not run or show

    def failed_reason(self) -> str:
        return f"{self.name}_failed"


REGISTRY: tuple[Filter, ...] = (
    # first: a taken-down recording is never judged (nor its words shown) by any other filter
    Filter("takedown", (Stage.TAKEDOWN,), "segment", decide_takedown, "takedown",
           enabled=lambda cfg: cfg.active()),
    Filter("label", (Stage.LID, Stage.LABEL), "segment", decide_segment, "labels"),
    Filter("label_recording", (Stage.LABEL, Stage.LID), "recording", decide_recording, "labels"),
    Filter("language", (Stage.LID,), "segment", allowed_language, "lid",
           enabled=lambda cfg: bool(cfg.allowed_languages)),
    Filter("quality", (Stage.QUALITY,), "segment", decide_quality, "quality",
           enabled=lambda cfg: cfg.mode != "off"),
    # after every label decision: PII is found in the chosen labels (redact, drop or keep)
    Filter("pii", (Stage.PII,), "recording", decide_pii, "privacy",
           enabled=lambda cfg: cfg.pii.enabled),
    Filter("eval", (Stage.DEDUP,), "segment", decide_eval_overlap, "dedup",
           enabled=lambda cfg: cfg.active and bool(cfg.eval_sets)),
    # last per-recording filter: what the others kept gets a voice α (it never drops; a segment
    # the global dedup then drops keeps an α nobody uses)
    Filter("anonymise", (Stage.PII,), "recording", anonymise_filter, "anonymise",
           enabled=lambda cfg: cfg.enabled),
    Filter("dedup", (Stage.DEDUP,), "global", None, "dedup",
           enabled=lambda cfg: cfg.active and (cfg.audio or cfg.text)),
)


def active(registry: Sequence[Filter], configs: Any) -> list[Filter]:
    return [f for f in registry if f.enabled(getattr(configs, f.config))]


def global_filter(registry: Sequence[Filter], configs: Any, name: str) -> Filter | None:
    """The active global-scope filter called ``name``, if any."""
    return next((f for f in active(registry, configs) if f.scope == "global" and f.name == name),
                None)


def funnel_stages(registry: Sequence[Filter], configs: Any) -> list[str]:
    """The decide stages that ran, in registry order, each once."""
    out: list[str] = []
    for f in active(registry, configs):
        for stage in f.stages:
            if str(stage) not in out:
                out.append(str(stage))
    return out


def _failed(f: Filter, segments: Sequence[Segment], exc: Exception) -> list[Reject]:
    detail = f"{type(exc).__name__}: {exc}"
    return [Reject.for_segment(s, f.stages[0], f.failed_reason(), detail) for s in segments]


def apply_filters(recording: Recording, segments: Sequence[Segment], configs: Any,
                  registry: Sequence[Filter] = REGISTRY,
                  trail: dict[str, Segment] | None = None) -> tuple[list[Segment], list[Reject]]:
    """Run every active filter in order over one recording's candidates.

    ``trail`` (optional) receives, for each dropped segment, the segment as it entered the filter
    that dropped it, with that filter's failing verdict appended: the evidence of every earlier
    filter (measures, flags) stays on the plan row of a drop."""
    kept = sorted(segments, key=lambda s: s.index)
    rejects: list[Reject] = []
    trail = {} if trail is None else trail

    def dropped_by(f: Filter, before: Sequence[Segment], out: Sequence[Reject]) -> None:
        by_id = {s.segment_id: s for s in before}
        for rej in out:
            if rej.id in by_id:
                seg = by_id[rej.id]
                if len(rej.verdicts) > len(seg.verdicts):  # evidence added inside the filter
                    seg = replace(seg, verdicts=rej.verdicts)
                trail[rej.id] = seg.with_verdict(Verdict(f.name, False, rej.reason, rej.detail))
        rejects.extend(out)

    for f in active(registry, configs):
        cfg = getattr(configs, f.config)
        if f.scope == "global":
            continue
        if f.scope == "segment":
            survivors = []
            for seg in kept:
                try:
                    out = f.run(seg, cfg)
                except Exception as exc:  # noqa: BLE001 - a filter bug is a reject, not a crash
                    dropped_by(f, [seg], _failed(f, [seg], exc))
                    continue
                if isinstance(out, Reject):
                    dropped_by(f, [seg], [out])
                else:
                    survivors.append(out)
            kept = survivors
        elif kept:
            try:
                survivors, dropped = f.run(recording, kept, cfg)
            except Exception as exc:  # noqa: BLE001
                dropped_by(f, kept, _failed(f, kept, exc))
                kept = []
                continue
            dropped_by(f, kept, dropped)
            kept = sorted(survivors, key=lambda s: s.index)
    return kept, rejects
