"""Which members of a duplicate cluster stay.

Audio near-duplicates (the same recording re-encoded, re-uploaded, trimmed, or cut out of a longer
one) carry no new information: one representative stays -- what an earlier run already holds
first, then the best quality tier, then the longest, then the widest band and the best DNSMOS
(so a low-bitrate re-encode never stands for its original), then the smallest id -- and
the others drop as ``near_duplicate_audio``, naming the cluster and the representative.

Text near-duplicates whose audio is *not* similar are different recordings of the same words: the
same sentence read by another speaker is valuable training data, the same sponsor read in every
episode of a feed is not. Without speaker identities the policy caps them: up to
``max_text_copies`` per cluster stay, chosen held-first, then from distinct recordings, then by
tier and length; the rest drop as ``repeated_text``. Only audio survivors enter the text policy,
so a re-encoded copy is never counted as a second reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

TIER_RANK = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class Member:
    """One node of a cluster: a kept candidate of this run, or a segment an earlier run holds."""

    node: str  # node id (a segment id; held segments are prefixed with their run's tag)
    recording_id: str
    quality_tier: str = ""
    duration: float = 0.0
    held: str = ""  # the earlier run that holds it ("" for this run's candidates)
    bandwidth_hz: float = 0.0  # effective bandwidth (0: unknown); a re-encode's loss shows here
    dnsmos: float = 0.0  # DNSMOS OVRL (0: unknown)


@dataclass(frozen=True)
class Outcome:
    node: str
    cluster: str  # cluster id
    keep: bool
    detail: str = ""


# Copies whose lengths differ by less than this are the same length: re-encodes move VAD cuts by a
# frame or two, and that must not outweigh what the codec did to the sound.
SAME_LENGTH_S = 0.25


def _rank(m: Member) -> tuple:
    return (not m.held, TIER_RANK.get(m.quality_tier, 3), -round(m.duration, 3), m.node)


def _representative(members: Sequence[Member]) -> Member:
    """Held first, then the best tier; among the copies of (about) the longest length, the widest
    band, then the best DNSMOS, so a low-bitrate re-encode never stands for its original; the
    id breaks what is left (deterministic, but arbitrary, so it comes last)."""
    best = min(_rank(m)[:2] for m in members)
    top = [m for m in members if _rank(m)[:2] == best]
    longest = max(m.duration for m in top)
    near = [m for m in top if m.duration >= longest - SAME_LENGTH_S]
    return min(near, key=lambda m: (-round(m.bandwidth_hz, -2), -round(m.dnsmos, 2),
                                    -round(m.duration, 3), m.node))


def _who(m: Member) -> str:
    return f"{m.node} (held by {m.held})" if m.held else m.node


def audio_policy(cluster: str, members: Sequence[Member]) -> list[Outcome]:
    """One representative per audio cluster; outcomes for this run's members only."""
    rep = _representative(members)
    out = [Outcome(rep.node, cluster, True)] if not rep.held else []
    for m in sorted(members, key=_rank):
        if m.held or m is rep:
            continue
        out.append(Outcome(m.node, cluster, False,
                           f"audio near-duplicate of {_who(rep)} in cluster {cluster} "
                           f"({len(members)} members)"))
    return out


def text_policy(cluster: str, members: Sequence[Member], max_copies: int) -> list[Outcome]:
    """Up to ``max_copies`` per text cluster, preferring held, distinct recordings, tier, length."""
    ordered = sorted(members, key=_rank)
    chosen: list[Member] = []
    recordings: set[str] = set()
    for m in ordered:  # first pass: one per recording
        if len(chosen) < max_copies and (m.held or m.recording_id not in recordings):
            chosen.append(m)
            recordings.add(m.recording_id)
    for m in ordered:  # then fill up from repeats inside recordings
        if len(chosen) < max_copies and m not in chosen:
            chosen.append(m)
    keep = {m.node for m in chosen}
    shown = ", ".join(_who(m) for m in sorted(chosen, key=_rank)[:3])
    out = []
    for m in ordered:
        if m.held:
            continue
        if m.node in keep:
            out.append(Outcome(m.node, cluster, True))
        else:
            out.append(Outcome(m.node, cluster, False,
                               f"text repeated {len(members)} times in cluster {cluster}; "
                               f"max_text_copies={max_copies} kept ({shown})"))
    return out
