"""The filter contract: one registry, applied in order; a crashing filter is a reject."""

from dataclasses import replace

import numpy as np

from filters.label_config import LabelConfig
from filters.language_filter import allowed_language
from filters.registry import REGISTRY, Filter, apply_filters, funnel_stages
from filters.shard_plan import KeySizes, assign_shards, shard_of, shard_starts
from pipelines.config import CurateConfig, LidConfig
from schemas.reasons import Stage
from schemas.records import Recording, Reject, Segment, Verdict


def seg(i: int, **kw) -> Segment:
    return Segment(segment_id=f"r-{i:05d}", recording_id="r", index=i, source_uri="a.wav",
                   start=i * 5.0, end=i * 5.0 + 4.0, **kw)


REC = Recording("r", "a.wav", "a.wav")


def boom(s, cfg):
    if s.index == 1:
        raise RuntimeError("bug in filter")
    return s.with_verdict(Verdict("boom", True))


def drop_recording(rec, segments, cfg):
    return segments[:1], [Reject.for_segment(s, Stage.LABEL, "nope") for s in segments[1:]]


def test_a_crashing_filter_rejects_only_what_it_was_judging():
    registry = (Filter("boom", (Stage.QUALITY,), "segment", boom, "labels"),)
    kept, rejects = apply_filters(REC, [seg(0), seg(1), seg(2)], CurateConfig(), registry)
    assert [s.index for s in kept] == [0, 2]
    assert [(r.id, r.reason, r.stage) for r in rejects] == [("r-00001", "boom_failed", "quality")]
    assert "bug in filter" in rejects[0].detail
    assert all(s.verdicts[-1].filter == "boom" for s in kept)


def test_filters_run_in_order_and_a_recording_filter_sees_survivors():
    seen = []

    def record(rec, segments, cfg):
        seen.extend(s.index for s in segments)
        return segments, []

    registry = (Filter("boom", (Stage.QUALITY,), "segment", boom, "labels"),
                Filter("rec", (Stage.LABEL,), "recording", record, "labels"),
                Filter("drop", (Stage.LABEL,), "recording", drop_recording, "labels"))
    kept, rejects = apply_filters(REC, [seg(2), seg(0), seg(1)], CurateConfig(), registry)
    assert seen == [0, 2] and [s.index for s in kept] == [0]
    assert sorted(r.reason for r in rejects) == ["boom_failed", "nope"]


def test_funnel_lists_only_active_filters_stages():
    assert funnel_stages(REGISTRY, CurateConfig()) == ["lid", "label", "quality", "pii", "dedup"]
    strict = replace(CurateConfig(), lid=LidConfig(allowed_languages=("en",)))
    assert [f.name for f in REGISTRY if f.enabled(getattr(strict, f.config))] == [
        "label", "label_recording", "language", "quality", "pii", "dedup"]
    language = next(f for f in REGISTRY if f.name == "language")
    assert funnel_stages((language,), CurateConfig()) == []


def test_allowed_languages_reject_others_with_a_reason():
    cfg = LidConfig(allowed_languages=("en", "de"))
    assert isinstance(allowed_language(seg(0, language="de"), cfg), Segment)
    out = allowed_language(seg(0, language="fr"), cfg)
    assert isinstance(out, Reject) and out.reason == "language_not_allowed"
    assert "fr" in out.detail


def test_label_filter_failure_is_contained():
    bad = (Filter("label", (Stage.LABEL,), "segment", lambda s, c: 1 / 0, "labels"),)
    kept, rejects = apply_filters(REC, [seg(0)], CurateConfig(labels=LabelConfig()), bad)
    assert not kept and rejects[0].reason == "label_failed"


def test_shard_plan_is_sorted_deterministic_and_near_target():
    samples = [(f"k{i:03d}", 1000) for i in range(20)]
    plan = assign_shards(reversed(samples), 10_000)
    assert plan == assign_shards(samples, 10_000)
    assert [plan[f"k{i:03d}"] for i in range(20)] == sorted(plan.values())
    sizes = [list(plan.values()).count(s) for s in sorted(set(plan.values()))]
    assert all(n == sizes[0] for n in sizes[:-1]) and sizes[-1] <= sizes[0]
    assert assign_shards([], 10) == {}


def test_a_drop_keeps_the_evidence_of_earlier_filters():
    def flag(s, cfg):
        return s.with_verdict(Verdict("measure", True, "", "", 0.42))

    def drop(s, cfg):
        return Reject.for_segment(s, Stage.QUALITY, "too_bad", "value 0.42 < 0.5")

    registry = (Filter("measure", (Stage.QUALITY,), "segment", flag, "labels"),
                Filter("cut", (Stage.QUALITY,), "segment", drop, "labels"))
    trail: dict = {}
    kept, rejects = apply_filters(REC, [seg(0)], CurateConfig(), registry, trail)
    assert not kept and rejects[0].reason == "too_bad"
    verdicts = trail["r-00000"].verdicts
    assert [(v.filter, v.passed, v.reason) for v in verdicts] == [
        ("measure", True, ""), ("cut", False, "too_bad")]
    assert verdicts[0].value == 0.42


def test_compact_shard_plan_equals_the_global_assignment():
    rng = np.random.default_rng(3)
    for n, target in ((1, 10), (7, 1), (500, 40_000), (3000, 150_000), (3000, 10**12)):
        keys = [f"{int(r):016x}-{i % 50:05d}" for i, r in
                enumerate(rng.integers(0, 2**62, size=n))]
        sizes = [int(s) for s in rng.integers(1, 30_000, size=n)]
        want = assign_shards(zip(keys, sizes, strict=True), target)
        halves = [KeySizes(), KeySizes()]
        for i, (k, s) in enumerate(zip(keys, sizes, strict=True)):
            halves[i % 2].add(k, s)
        starts = shard_starts(halves[0].merge(halves[1]), target)
        assert {k: shard_of(k, starts) for k in keys} == want
    assert shard_starts(KeySizes(), 10) == []
