"""The dedup Beam transforms on the DirectRunner: connected components equal a union-find on
random graphs and long chains spanning many buckets; MinHash-LSH finds planted text
near-duplicates; the policy verdicts come out per candidate."""

from __future__ import annotations

import random

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from filters.dedup.components import union_find_labels
from filters.dedup.config import DedupConfig
from filters.dedup.policy import Member
from filters.dedup.text import normalise, signatures, text_hash
from pipelines.stages.dedup import ConnectedComponents, Deduplicate, Node


def _graphs() -> list[tuple[str, str]]:
    """A disjoint union of seeded random graphs, a sorted 200-node path and a shuffled one."""
    rng = random.Random(12)
    edges: list[tuple[str, str]] = []
    for g in range(6):
        n = rng.randint(5, 60)
        for _ in range(rng.randint(0, 2 * n)):
            a, b = rng.randrange(n), rng.randrange(n)
            if a != b:
                edges.append((f"g{g}-{a:03d}", f"g{g}-{b:03d}"))
    path = [f"p-{i:04d}" for i in range(200)]
    edges += list(zip(path, path[1:], strict=False))
    shuffled = [f"q-{i:04d}" for i in range(200)]
    rng.shuffle(shuffled)
    edges += list(zip(shuffled, shuffled[1:], strict=False))
    return edges


def test_beam_components_equal_union_find():
    edges = _graphs()
    expected = sorted(union_find_labels(edges).items())
    with beam.Pipeline() as p:
        src = p | beam.Create(edges)
        labels, residual = src | "CC" >> ConnectedComponents(rounds=8)
        few, residual_few = src | "CCFew" >> ConnectedComponents(rounds=1)
        assert_that(labels, equal_to(expected), label="Labels")
        assert_that(residual, equal_to([]), label="Converged")  # the rounds alone suffice
        assert_that(few, equal_to(expected), label="LabelsFew")  # the fallback finishes
        assert_that(residual_few | beam.Map(lambda n: n > 0), equal_to([True]), label="Fell")


WORDS = ("the a report market river station garden winter morning city council budget school "
         "teacher student music concert doctor patient energy water price plan people game team "
         "season road bridge storm rain coast village night library museum").split()


def _planted(n_clusters: int, copies: int, rng: random.Random):
    """Sentences of 12-20 random words, each with ``copies`` edited variants (one word replaced
    or dropped, punctuation and case changed): clusters known by construction."""
    texts, truth = [], []
    for c in range(n_clusters):
        base = [rng.choice(WORDS) for _ in range(rng.randint(12, 20))] + [f"w{c}"]
        for k in range(copies):
            words = list(base)
            if k:
                i = rng.randrange(len(words))
                if rng.random() < 0.5:
                    words[i] = rng.choice(WORDS)
                else:
                    del words[i]
            texts.append(" ".join(words).capitalize() + ("." if k % 2 else "!"))
            truth.append(c)
    return texts, truth


def test_lsh_finds_planted_text_near_duplicates_and_the_policy_decides():
    """40 planted sentences with 3 edited copies each, one unrelated sentence, and a sponsor read
    in three recordings of which two are the same audio (same PCM hash): LSH finds the planted
    clusters without mixing them and caps each at max_text_copies; the audio copy drops as
    near_duplicate_audio and does not count as a second reading."""
    rng = random.Random(5)
    texts, truth = _planted(40, 4, rng)
    texts.append("Completely unrelated words about something else entirely today.")
    truth.append(-1)
    cfg = DedupConfig(max_text_copies=2)
    norm = [normalise(t) for t in texts]
    sigs = signatures(norm, cfg.num_perm, cfg.seed)
    nodes = [Node(Member(f"s{i:04d}", f"rec{i}", "", 5.0), text_hash(t), len(t.split()), s)
             for i, (t, s) in enumerate(zip(norm, sigs, strict=True))]
    sponsor = normalise("this episode is brought to you by acme mattresses sleep better tonight")
    sig = signatures([sponsor], cfg.num_perm, cfg.seed)[0]
    nodes += [Node(Member("xa", "r1", "high", 9.0), text_hash(sponsor), 11, sig, "pcm1"),
              Node(Member("xb", "r2", "low", 9.0), text_hash(sponsor), 11, sig, "pcm1"),
              Node(Member("xc", "r3", "medium", 8.0), text_hash(sponsor), 11, sig, "pcm2")]
    with beam.Pipeline() as p:
        verdicts = p | beam.Create(nodes) | Deduplicate(cfg)
        got = verdicts | beam.Map(lambda kv: (kv[0], kv[1].keep, kv[1].reason, kv[1].cluster))

        def check(rows):
            sponsor_rows = sorted(r for r in rows if r[0].startswith("x"))
            assert sponsor_rows == [("xa", True, "", "a-xa t-xa"),
                                    ("xb", False, "near_duplicate_audio", "a-xa"),
                                    ("xc", True, "", "t-xa")]
            rows = [r for r in rows if r[0].startswith("s")]
            clusters: dict[str, set[int]] = {}
            for node, _keep, _reason, cluster in rows:
                clusters.setdefault(cluster, set()).add(truth[int(node[1:])])
            assert all(len(v) == 1 for v in clusters.values()), "a cluster mixes sentences"
            found = {next(iter(v)) for v in clusters.values()}
            assert len(found) >= 38, f"only {len(found)} of 40 planted clusters found"
            assert -1 not in found
            assert {r[2] for r in rows if not r[1]} == {"repeated_text"}
            per_cluster: dict[str, int] = {}
            for _node, keep, _reason, cluster in rows:
                per_cluster[cluster] = per_cluster.get(cluster, 0) + keep
            assert max(per_cluster.values()) == 2  # max_text_copies

        assert_that(got, check)
