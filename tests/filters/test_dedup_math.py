"""Dedup math without Beam: connected components against a union-find, MinHash and LSH keys,
the keep/drop policy, eval decontamination and the config's validation."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filters.dedup.components import components_by_rounds, union_find_labels
from filters.dedup.config import DedupConfig, EvalSet
from filters.dedup.eval_overlap import decide_eval_overlap, eval_set_of, load_index
from filters.dedup.policy import Member, audio_policy, text_policy
from filters.dedup.text import (
    band_keys,
    catch_probability,
    estimated_jaccard,
    normalise,
    shingles,
    signatures,
)
from schemas.records import Reject, Segment

edges_strategy = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=80)


@settings(max_examples=200, deadline=None)
@given(edges_strategy, st.integers(0, 4))
def test_components_equal_union_find_on_any_graph(raw, rounds):
    edges = [(f"n{a:03d}", f"n{b:03d}") for a, b in raw if a != b]
    labels, _ = components_by_rounds(edges, rounds)
    assert labels == union_find_labels(edges)


@pytest.mark.parametrize("order", ["sorted", "shuffled", "reversed"])
def test_long_chains_converge_in_the_rounds_alone(order):
    ids = [f"s{i:05d}" for i in range(1000)]
    if order == "shuffled":
        random.Random(7).shuffle(ids)
    elif order == "reversed":
        ids.reverse()
    chain = list(zip(ids, ids[1:], strict=False))
    labels, residual = components_by_rounds(chain, 12)
    assert residual == 0, "12 rounds converge on a 1,000-node path without the fallback"
    assert set(labels.values()) == {min(ids)}
    few, residual_few = components_by_rounds(chain, 2)
    assert residual_few > 0 and few == labels  # the fallback finishes what the rounds did not


def test_normalised_text_ignores_case_punctuation_and_spacing():
    assert normalise("  Hello,   WORLD!  It's 5 o'clock. ") == "hello world it s 5 o clock"
    assert normalise("Straße") == normalise("STRASSE")
    assert shingles("ab", "chars", 5) == [b" ab "]
    assert shingles("a b c", "words", 2) == [b"a b", b"b c"]


def test_signatures_estimate_jaccard_and_share_a_band_when_similar():
    a = normalise("this episode is brought to you by acme mattresses, sleep better tonight")
    b = normalise("this episode is brought to you by acme mattresses sleep better tonight!")
    c = normalise("the committee will publish its findings early next spring")
    sa, sb, sc = signatures([a, b, c], num_perm=128, seed=3)
    assert estimated_jaccard(sa, sb) == 1.0  # punctuation only: the same normalised text
    assert estimated_jaccard(sa, sc) < 0.2
    edited = signatures([a.replace("tonight", "every night")], 128, 3)[0]
    assert 0.6 < estimated_jaccard(sa, edited) < 1.0
    assert set(band_keys(sa, 16, 8)) & set(band_keys(edited, 16, 8))
    assert not set(band_keys(sa, 16, 8)) & set(band_keys(sc, 16, 8))
    assert signatures([a], 128, 4)[0] != sa  # the seed matters
    assert signatures([""], 128, 3) == [None]


def test_s_curve_is_the_banding_probability():
    assert catch_probability(1.0, 16, 8) == pytest.approx(1.0)
    assert catch_probability(0.0, 16, 8) == pytest.approx(0.0)
    assert catch_probability(0.8, 16, 8) == pytest.approx(1 - (1 - 0.8**8) ** 16)
    assert catch_probability(0.9, 16, 8) > 0.99 and catch_probability(0.4, 16, 8) < 0.02


def m(node, rec, tier="", dur=5.0, held=""):
    return Member(node, rec, tier, dur, held)


def test_audio_policy_keeps_the_best_tier_then_the_longest():
    out = {o.node: o for o in audio_policy("a-x", [m("x", "r1", "low", 9.0),
                                                    m("y", "r2", "high", 4.0),
                                                    m("z", "r3", "high", 6.0)])}
    assert out["z"].keep and not out["x"].keep and not out["y"].keep
    assert "z" in out["x"].detail and "a-x" in out["x"].detail


def test_audio_policy_keeps_the_wider_band_copy_of_equal_length_whatever_the_ids():
    for ids in (("a", "b"), ("b", "a")):  # the id would decide if nothing else did
        original = Member(ids[0], "r1", "medium", 3.93, "", 5700.0, 3.2)
        reencoded = Member(ids[1], "r2", "medium", 3.96, "", 4750.0, 3.3)
        out = {o.node: o.keep for o in audio_policy("a-x", [reencoded, original])}
        assert out == {original.node: True, reencoded.node: False}
    # a copy clearly longer still wins (the trimmed one is contained in it)
    out = {o.node: o.keep for o in audio_policy("a-y", [
        Member("t", "r1", "medium", 2.0, "", 8000.0, 3.5), Member("u", "r2", "medium", 4.0, "",
                                                                  4000.0, 3.0)])}
    assert out == {"u": True, "t": False}


def test_audio_policy_never_readmits_what_an_earlier_run_holds():
    out = audio_policy("a-@0:h", [m("@0:h", "r0", "low", 1.0, held="run0"),
                                  m("n", "r1", "high", 9.0)])
    assert [(o.node, o.keep) for o in out] == [("n", False)]
    assert "held by run0" in out[0].detail


def test_text_policy_caps_copies_and_prefers_distinct_recordings():
    members = [m("a1", "A", "high"), m("a2", "A", "high"), m("b1", "B", "low"),
               m("c1", "C", "medium"), m("c2", "C", "medium")]
    kept = {o.node for o in text_policy("t-a1", members, 3) if o.keep}
    assert kept == {"a1", "b1", "c1"}  # one per recording before a second from any
    kept5 = {o.node for o in text_policy("t-a1", members, 5) if o.keep}
    assert kept5 == {"a1", "a2", "b1", "c1", "c2"}
    held = text_policy("t-x", [m("@0:x", "H", held="r0"), *members], 2)
    assert {o.node for o in held if o.keep} == {"a1"}  # the held copy counts against the cap


def seg(text: str, source: str | None = None) -> Segment:
    return Segment("r-00000", "r", 0, "a.wav", 0.0, 4.0, text=text, source_text=source)


def test_eval_overlap_drops_contained_and_partial_eval_text(tmp_path):
    (tmp_path / "ls").mkdir()
    (tmp_path / "ls" / "1-2.trans.txt").write_text(
        "1-2-0000 HE HOPED THERE WOULD BE STEW FOR DINNER TURNIPS AND CARROTS AND BRUISED "
        "POTATOES\n1-2-0001 STUFF IT INTO YOU HIS BELLY COUNSELLED HIM\n", encoding="utf-8")
    (tmp_path / "fleurs.tsv").write_text(
        "id\tfile\traw_transcription\ttranscription\n"
        "7\ta.wav\tThe quick brown fox, it jumps.\tthe quick brown fox it jumps over lazy "
        "dogs every single morning\n", encoding="utf-8")
    cfg = DedupConfig(eval_sets=(EvalSet("librispeech", str(tmp_path / "ls")),
                                 EvalSet("fleurs", str(tmp_path / "fleurs.tsv"))),
                      eval_ngram=4, eval_min_overlap=0.5)
    assert load_index(cfg.eval_sets, 4).counts == {"librispeech": 2, "fleurs": 1}
    inside = decide_eval_overlap(seg("So he said: he hoped there would be stew for dinner, "
                                     "turnips and carrots and bruised potatoes. Then he left."),
                                 cfg)
    assert isinstance(inside, Reject) and inside.reason == "eval_overlap"
    assert eval_set_of(inside.detail) == "librispeech"
    part = decide_eval_overlap(seg("", source="the quick brown fox it jumps over"), cfg)
    assert isinstance(part, Reject) and eval_set_of(part.detail) == "fleurs"
    clean = decide_eval_overlap(seg("he hoped for a sunny day and a quiet dinner"), cfg)
    assert isinstance(clean, Segment)
    flagged = decide_eval_overlap(seg("stuff it into you his belly counselled him"),
                                  DedupConfig(eval_sets=cfg.eval_sets, eval_ngram=4,
                                              mode="flag"))
    assert isinstance(flagged, Segment) and flagged.verdicts[-1].reason == "eval_overlap"


@pytest.mark.parametrize("kwargs, field", [
    ({"bands": 20, "rows": 8}, "curate.dedup.bands"),
    ({"mode": "maybe"}, "curate.dedup.mode"),
    ({"max_text_copies": 0}, "curate.dedup.max_text_copies"),
    ({"text_threshold": 1.5}, "curate.dedup.text_threshold"),
    ({"eval_sets": (EvalSet("a", "x"), EvalSet("a", "y"))}, "curate.dedup.eval_sets[0].name"),
])
def test_config_errors_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match="^" + re.escape(field) + ":"):
        DedupConfig(**kwargs).validate()
