"""Global deduplication as Beam transforms over thin projections (ids, signatures, fingerprints).

    nodes ─► keys (text: MinHash band keys + exact text hash; audio: fingerprint index keys +
             exact PCM hash) ─► GroupByKey ─► candidate pairs ─► verified (estimated Jaccard /
             fingerprint compare, each side's payload joined by id) ─► edges
    edges ─► connected components (large-star / small-star rounds, the unconverged rest on one
             worker) ─► clusters ─► policy (audio first, then text among audio survivors)
             ─► one verdict per clustered node

No step holds every edge or every node on one worker: buckets and clusters are grouped by key,
pairs are verified by two joins, and only the residual of the component rounds (none on the
tests' and benchmark's graphs) meets on one worker. Only single-output transforms are used
(Beam 2.77's DaskRunner mixes the tagged outputs of multi-output ParDos).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import apache_beam as beam

from filters.dedup import audio as audio_fp
from filters.dedup.components import (
    large_star,
    node_role,
    orient_small,
    small_star,
    union_find_labels,
)
from filters.dedup.config import DedupConfig
from filters.dedup.policy import Member, audio_policy, text_policy
from filters.dedup.text import band_keys, estimated_jaccard
from schemas.reasons import Reason, Stage

log = logging.getLogger("speechcurate.dedup")


@dataclass(frozen=True)
class Node:
    """A thin projection of one candidate (or of a segment an earlier run holds)."""

    member: Member
    text_hash: str = ""
    text_words: int = 0
    minhash: bytes | None = None
    audio_sha256: str = ""
    audio_fp: bytes | None = None


def node_from_row(row: dict[str, Any], held: str = "", tag: str = "") -> Node:
    """A Node from an analysis (or index) row; a held row's id gets its run's ``tag``."""
    node = f"{tag}{row['segment_id']}" if held else row["segment_id"]
    return Node(Member(node, row["recording_id"], row.get("quality_tier") or "",
                       float(row.get("duration") or 0.0), held,
                       float(row.get("bandwidth_hz") or 0.0), float(row.get("dnsmos") or 0.0)),
                row.get("text_hash") or "", int(row.get("text_words") or 0),
                row.get("text_minhash") or None, row.get("audio_sha256") or "",
                row.get("audio_fp") or None)


# --------------------------------------------------------------------------- candidate pairs


def bucket_pairs(bucket: Iterable[str], all_pairs_max: int) -> list[tuple[str, str]]:
    """Pairs proposed by one bucket: all of them in a bucket of up to ``all_pairs_max`` members,
    else a star around the smallest member (linear; members of one bucket agree on a whole
    band, so each is close to the star's centre, and the other bands give other centres)."""
    members = sorted(set(bucket))
    if len(members) < 2:
        return []
    if len(members) <= all_pairs_max:
        return [(a, b) for i, a in enumerate(members) for b in members[i + 1:]]
    return [(members[0], m) for m in members[1:]]


def _bucket_partners(element, all_pairs_max: int) -> list[tuple[str, frozenset[str]]]:
    """One bucket -> (a, {b, ...}) for the pairs it proposes (one element per anchoring node,
    not one per pair)."""
    _key, members = element
    partners: dict[str, set[str]] = {}
    for a, b in bucket_pairs(members, all_pairs_max):
        partners.setdefault(a, set()).add(b)
    return [(a, frozenset(bs)) for a, bs in partners.items()]


class _UnionSets(beam.CombineFn):
    """Union of node sets (a combiner: lifted before the shuffle)."""

    def create_accumulator(self) -> set[str]:
        return set()

    def add_input(self, acc: set[str], found: Iterable[str]) -> set[str]:
        acc.update(found)
        return acc

    def merge_accumulators(self, accs: Iterable[set[str]]) -> set[str]:
        out: set[str] = set()
        for acc in accs:
            out.update(acc)
        return out

    def extract_output(self, acc: set[str]) -> frozenset[str]:
        return frozenset(acc)


class CandidatePairs(beam.PTransform):
    """elements -> (a, {b, ...}): for each node a, the larger nodes it shares a bucket with,
    buckets being the (bucket key, node) pairs ``keys_of(element)`` gives: a GroupByKey on the
    (band, bucket) key. The per-node set is a combiner, so the copies of a pair that several
    bands propose collapse before they cross the next shuffle. (No DoFn here emits from
    ``finish_bundle``: Beam 2.77's DaskRunner drops such outputs.)"""

    def __init__(self, keys_of: Callable[[Any], Iterable[tuple[Any, str]]], all_pairs_max: int):
        super().__init__()
        self.keys_of = keys_of
        self.all_pairs_max = all_pairs_max

    def expand(self, elements):
        return (elements
                | "Keys" >> beam.FlatMap(self.keys_of)
                | "GroupBucket" >> beam.GroupByKey()
                | "Partners" >> beam.FlatMap(_bucket_partners, self.all_pairs_max)
                | "PairSets" >> beam.CombinePerKey(_UnionSets()))


def _first_half(element):
    a, groups = element
    data = list(groups["data"])
    if not data:
        return
    partners: set[str] = set()
    for found in groups["pair"]:  # a pair proposed by several buckets is verified once
        partners.update(found)
    for b in partners:
        yield b, (a, data[0])


def _second_half(element, verify: Callable[[str, Any, str, Any], bool]):
    b, groups = element
    data = list(groups["data"])
    if not data:
        return
    for a, data_a in groups["half"]:
        if verify(a, data_a, b, data[0]):
            yield (a, b)


class VerifyPairs(beam.PTransform):
    """Candidates (a, {b, ...}) + (node, payload) -> the pairs ``verify(a, payload_a, b,
    payload_b)`` accepts. Each pair carries one payload through one join; no bucket carries
    payloads."""

    def __init__(self, verify: Callable[[str, Any, str, Any], bool]):
        super().__init__()
        self.verify = verify

    def expand(self, inputs):
        pairs, payloads = inputs
        halves = ({"pair": pairs, "data": payloads} | "JoinA" >> beam.CoGroupByKey()
                  | "HalfA" >> beam.FlatMap(_first_half))
        return ({"half": halves, "data": payloads} | "JoinB" >> beam.CoGroupByKey()
                | "Verified" >> beam.FlatMap(_second_half, self.verify))


# --------------------------------------------------------------------------- components


def _both_ways(edge: tuple[str, str]) -> list[tuple[str, str]]:
    a, b = edge
    return [(a, b), (b, a)] if a != b else []


def _finish_residual(edges: list[tuple[str, str]]) -> list[tuple[str, str, bool]]:
    """(node, root, is a residual source) for every node of the unconverged residual, by
    union-find on one worker."""
    if edges:
        log.info("dedup: %d edge(s) had not converged after the rounds; finished by union-find",
                 len(edges))
    sources = {a for a, _ in edges}
    return [(n, r, n in sources) for n, r in sorted(union_find_labels(edges).items())]


def _resolve(element) -> list[tuple[str, str]]:
    parent, groups = element
    roots = list(groups["root"])
    root = roots[0] if roots else parent
    return [(child, root) for child in groups["child"]]


class ConnectedComponents(beam.PTransform):
    """Undirected edges (a, b) -> (node, label) for every node on an edge; the label is the
    smallest node of its component. ``rounds`` large-star/small-star rounds run as Beam steps;
    the edges still unconverged after them are finished by a union-find on one worker. The
    transform returns (labels, residual edge count); the count is empty when the rounds left no
    edge: a global combine without defaults, because a default is a side input, which Beam's
    DaskRunner computes inside each task that reads it (``pipelines/runners.py``, point 8)."""

    def __init__(self, rounds: int):
        super().__init__()
        self.rounds = rounds

    def expand(self, edges):
        for i in range(self.rounds):
            edges = (edges
                     | f"LargeStarMap{i}" >> beam.FlatMap(_both_ways)
                     | f"LargeStarGroup{i}" >> beam.GroupByKey()
                     | f"LargeStar{i}" >> beam.FlatMap(lambda kv: large_star(kv[0], kv[1]))
                     | f"SmallStarMap{i}" >> beam.Map(orient_small)
                     | f"SmallStarGroup{i}" >> beam.GroupByKey()
                     | f"SmallStar{i}" >> beam.FlatMap(lambda kv: small_star(kv[0], kv[1])))
        if not self.rounds:  # edges must point to a smaller node for the roles below
            edges = edges | "Orient" >> beam.Map(
                lambda e: (max(e), min(e))) | "NoLoops" >> beam.Filter(lambda e: e[0] != e[1])
        roles = ({"up": edges, "down": edges | "Reverse" >> beam.Map(lambda e: (e[1], e[0]))}
                 | "Roles" >> beam.CoGroupByKey()
                 | "Role" >> beam.Map(lambda kv: node_role(kv[0], kv[1]["up"], kv[1]["down"])))
        residual = (roles | "ResidualEdges" >> beam.FlatMap(lambda r: r[0])
                    | "AllResidual" >> beam.CombineGlobally(beam.combiners.ToListCombineFn())
                    .without_defaults())
        finished = residual | "UnionFind" >> beam.FlatMap(_finish_residual)
        roots = finished | "Roots" >> beam.Map(lambda t: (t[0], t[1]))
        simple = (roles | "Simple" >> beam.FlatMap(lambda r: [r[1]] if r[1] else [])
                  | "ByParent" >> beam.Map(lambda nl: (nl[1], nl[0])))
        resolved = ({"child": simple, "root": roots} | "JoinRoots" >> beam.CoGroupByKey()
                    | "Resolve" >> beam.FlatMap(_resolve))
        # the residual's sources are not simple nodes: their label is their union-find root
        sources = finished | "SourceLabels" >> beam.FlatMap(
            lambda t: [(t[0], t[1])] if t[2] else [])
        labels = (resolved, sources) | "Labels" >> beam.Flatten()
        count = residual | "ResidualCount" >> beam.Map(len)
        return labels, count


# --------------------------------------------------------------------------- the dedup graph
#
# Audio and text share one graph: node "a|<id>" is a candidate's audio, "t|<id>" its text, and
# no edge joins the two kinds, so one set of shuffles finds both kinds of clusters.

AUDIO, TEXT = "a|", "t|"


def graph_keys(node: Node, cfg: DedupConfig) -> list[tuple[tuple[str, Any], str]]:
    """(bucket key, typed node) for every bucket a node falls in: exact hashes and LSH keys."""
    nid = node.member.node
    out: list[tuple[tuple[str, Any], str]] = []
    if cfg.audio:
        if node.audio_sha256:
            out.append((("pcm", node.audio_sha256), AUDIO + nid))
        if node.audio_fp:
            out.extend((("fp", k), AUDIO + nid) for k in audio_fp.index_keys(node.audio_fp))
    if cfg.text and node.minhash is not None and node.text_words >= cfg.min_text_words:
        if node.text_hash:
            out.append((("txt", node.text_hash), TEXT + nid))
        out.extend((("band", k), TEXT + nid)
                   for k in band_keys(node.minhash, cfg.bands, cfg.rows))
    return out


def graph_payloads(node: Node, cfg: DedupConfig) -> list[tuple[str, tuple[Any, Any]]]:
    nid = node.member.node
    out: list[tuple[str, tuple[Any, Any]]] = []
    if cfg.audio and (node.audio_sha256 or node.audio_fp):
        out.append((AUDIO + nid, (node.audio_sha256, node.audio_fp)))
    if cfg.text and node.minhash is not None and node.text_words >= cfg.min_text_words:
        out.append((TEXT + nid, (node.text_hash, node.minhash)))
    return out


class PairVerifier:
    """Verifies a candidate pair of either kind: equal exact hashes, else estimated Jaccard of
    the MinHash signatures (text) or the fingerprint comparison (audio)."""

    def __init__(self, cfg: DedupConfig):
        self.text_threshold = cfg.text_threshold
        self.min_similarity = cfg.audio_min_similarity
        self.min_covered = cfg.audio_min_covered

    def __call__(self, a: str, pa: tuple[Any, Any], b: str, pb: tuple[Any, Any]) -> bool:
        (hash_a, data_a), (hash_b, data_b) = pa, pb
        if hash_a and hash_a == hash_b:
            return True
        if data_a is None or data_b is None:
            return False
        if a.startswith(TEXT):
            return estimated_jaccard(data_a, data_b) >= self.text_threshold
        return audio_fp.match(data_a, data_b, self.min_similarity, self.min_covered)[0]


@dataclass(frozen=True)
class Verdict:
    """The dedup outcome of one clustered candidate of this run."""

    keep: bool
    reason: str  # "" when kept
    cluster: str  # "a-<id>" and/or "t-<id>", space-separated
    detail: str = ""


def _route(element):
    """(segment, {member, label}) -> ("a", audio cluster, member, text cluster) when it is in an
    audio cluster, else ("t", text cluster, member, "")."""
    _sid, groups = element
    members = list(groups["member"])
    if not members:
        return
    labels = dict(groups["label"])
    audio, text = labels.get("a"), labels.get("t")
    if audio:
        yield ("a", f"a-{audio}"), (members[0], f"t-{text}" if text else "")
    elif text:
        yield ("t", f"t-{text}"), (members[0], "")


def _audio_stage(kv) -> list[tuple[str, Any, Any]]:
    """Audio policy per cluster -> ("V", node, Verdict) for decided candidates and ("T", text
    cluster, (member, audio cluster)) for survivors (held ones too) that are in a text cluster."""
    (_, cluster), items = kv
    items = list(items)
    text_of = {m.node: t for m, t in items}
    out: list[tuple[str, Any, Any]] = []
    survivors = {m.node for m, _ in items if m.held}
    for o in audio_policy(cluster, [m for m, _ in items]):
        if not o.keep:
            out.append(("V", o.node, Verdict(False, str(Reason.NEAR_DUPLICATE_AUDIO), cluster,
                                             o.detail)))
        elif text_of[o.node]:
            survivors.add(o.node)
        else:
            out.append(("V", o.node, Verdict(True, "", cluster)))
    for m, text in items:
        if m.node in survivors and text:
            out.append(("T", ("t", text), (m, cluster)))
    return out


def _text_stage(kv, max_copies: int) -> list[tuple[str, Verdict]]:
    (_, cluster), items = kv
    items = list(items)
    audio_of = {m.node: a for m, a in items}
    if len(items) == 1:  # its text partners were audio copies: no text cluster is left
        m, audio = items[0]
        return [] if m.held else [(m.node, Verdict(True, "", audio))]
    out = []
    for o in text_policy(cluster, [m for m, _ in items], max_copies):
        clusters = " ".join(c for c in (audio_of[o.node], cluster) if c)
        out.append((o.node, Verdict(True, "", clusters) if o.keep else Verdict(
            False, str(Reason.REPEATED_TEXT), clusters, o.detail)))
    return out


class Deduplicate(beam.PTransform):
    """Nodes (this run's kept candidates and the held segments of earlier runs) ->
    (node id, Verdict) for every candidate of this run that is in a cluster."""

    def __init__(self, cfg: DedupConfig):
        super().__init__()
        self.cfg = cfg

    def expand(self, nodes):
        cfg = self.cfg
        members = nodes | "Members" >> beam.Map(lambda n: (n.member.node, n.member))
        pairs = nodes | "Candidates" >> CandidatePairs(functools.partial(graph_keys, cfg=cfg),
                                                       cfg.bucket_all_pairs)
        payloads = nodes | "Payloads" >> beam.FlatMap(graph_payloads, cfg)
        edges = (pairs, payloads) | "Verify" >> VerifyPairs(PairVerifier(cfg))
        labels, _ = edges | "Components" >> ConnectedComponents(cfg.cc_rounds)
        by_segment = labels | "BySegment" >> beam.Map(
            lambda nl: (nl[0][2:], (nl[0][0], nl[1][2:])))
        routed = ({"member": members, "label": by_segment} | "JoinLabels" >> beam.CoGroupByKey()
                  | "Route" >> beam.FlatMap(_route))
        audio = (routed | "AudioItems" >> beam.Filter(lambda kv: kv[0][0] == "a")
                 | "GroupAudio" >> beam.GroupByKey() | "AudioPolicy" >> beam.FlatMap(_audio_stage))
        text_items = ((routed | "TextItems" >> beam.Filter(lambda kv: kv[0][0] == "t"),
                       audio | "AudioSurvivors" >> beam.Filter(lambda t: t[0] == "T")
                       | "AsTextItems" >> beam.Map(lambda t: (t[1], t[2])))
                      | "AllTextItems" >> beam.Flatten())
        text = (text_items | "GroupText" >> beam.GroupByKey()
                | "TextPolicy" >> beam.FlatMap(_text_stage, cfg.max_text_copies))
        audio_verdicts = (audio | "AudioDecided" >> beam.Filter(lambda t: t[0] == "V")
                          | "AudioVerdicts" >> beam.Map(lambda t: (t[1], t[2])))
        return (audio_verdicts, text) | "Verdicts" >> beam.Flatten()


# --------------------------------------------------------------------------- back to the plan


def index_row(row: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """The thin projection of a kept segment that later runs deduplicate against."""
    out = {"segment_id": row["segment_id"], "recording_id": row["recording_id"],
           "quality_tier": row.get("quality_tier") or "", "duration": row.get("duration")}
    out.update({k: payload.get(k) for k in ("text_hash", "text_words", "text_minhash",
                                            "audio_sha256", "audio_fp")})
    return out


def verdict_row(element: tuple[str, Verdict]) -> dict[str, Any]:
    """(segment id, Verdict) -> its ``DEDUP_VERDICT_SCHEMA`` row."""
    sid, v = element
    return {"segment_id": sid, "keep": v.keep, "reason": v.reason, "cluster": v.cluster,
            "detail": v.detail}


def apply_verdict(row: dict[str, Any], verdict: dict[str, Any], mode: str) -> dict[str, Any]:
    """A kept plan row with its dedup verdict (a ``DEDUP_VERDICT_SCHEMA`` row): the cluster is
    recorded; a drop appends the ``dedup`` verdict to the row's earlier ones and, unless in
    ``flag`` mode (recorded as passed, the segment stays), drops the row."""
    if not row["keep"]:
        return row
    row = {**row, "dedup_cluster": verdict["cluster"]}
    if not verdict["keep"]:
        row["verdicts"] = [*(row.get("verdicts") or []), {
            "filter": "dedup", "passed": mode == "flag", "reason": verdict["reason"],
            "detail": verdict["detail"], "value": None}]
        if mode != "flag":
            row.update(keep=False, reject_stage=str(Stage.DEDUP), reject_reason=verdict["reason"],
                       reject_detail=verdict["detail"], shard_index=-1)
    return row


def survivor(element, mode: str) -> list[tuple[str, int, dict[str, Any] | None]]:
    """(segment id, {size, index, verdict}) of a kept candidate -> [(id, FLAC bytes, its dedup
    index row or None)] when dedup keeps it (or only flags it), else []."""
    sid, groups = element
    sizes, verdicts, index = list(groups["size"]), list(groups["verdict"]), list(groups["index"])
    if not sizes or (verdicts and not verdicts[0].keep and mode != "flag"):
        return []
    return [(sid, sizes[0], index[0] if index else None)]
