"""``speechcurate takedown RUN``: remove recordings from a published run, and keep them out.

Opt-out and erasure requests arrive after a corpus is published. A takedown names recordings by
URL prefix, domain or recording id (``filters.takedown``) and

1. records the rule in ``RUN/takedown/rules.jsonl``. Every later ``run``/``curate`` of RUN and
   every ``refilter`` of it (into any ``--out``, which gets a copy) merges these rules into
   ``curate.takedown``, so decide drops those recordings' segments with reason ``taken_down``
   (the registry's first filter) and the books stay balanced;
2. rewrites only the shards that hold a matching sample, each to a temporary name that is then
   renamed over the shard (a shard left with no sample is deleted and leaves ``shards.json``:
   readers that go through the index -- wids, ``speechcurate train`` -- never see an empty shard,
   so no DDP rank or loader worker is handed a shard without data). Surviving samples are copied
   byte for byte (same FLAC, same JSON, same order), so a rewritten shard is exactly what publish
   would have written for the samples left in it;
3. updates ``plan/segments.parquet`` (the matching candidates become ``keep=false``,
   ``taken_down``), ``manifest/segments.parquet``, ``rejects.parquet`` (one ``taken_down`` row per
   removed segment; every reject row of a taken-down recording loses its words -- ``text`` and
   ``pseudo_label``), ``shards.json``, ``stats.json`` (recomputed, books re-checked) and the
   report, and deletes the recordings' listening samples under ``samples/rejected/``;
4. appends an entry to ``RUN/takedown/audit.jsonl``: who, when, the rule, and what was removed
   (counts, recording and segment ids, shards rewritten or deleted; never audio or text).

Crash safety: every new shard is written to a temporary file before anything is committed; a
failure there deletes the temporaries and leaves the run exactly as it was (the rule is not yet
recorded). Only then are the rule and ``takedown/pending.json`` written, ``manifest/_SUCCESS``
removed and the shards renamed; ``pending.json`` goes, and ``_SUCCESS`` comes back, only after
every manifest is written. A run interrupted in between fails ``speechcurate verify``
(``takedown_incomplete``, and ``taken_down_published`` for what is still there) and a rerun of
any takedown (or ``run``/``curate``) finishes it: takedown always applies every recorded rule,
so it is idempotent (a second run of the same rule changes nothing but the audit log).
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import io
import json
import logging
import os
import posixpath
import tarfile
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pyarrow.parquet as pq

from filters.shards import write_tar
from filters.ssl_speech import ssl_stats
from filters.takedown import RULE_KINDS, TakedownConfig, redact_reject_row, rules_config
from pipelines import analysis_store as store
from pipelines import io as sio
from pipelines.config import ConfigError, RunConfig
from pipelines.manifests import (
    PLAN_ROW_GROUP,
    REJECT_KEY,
    compute_stats,
    unique_rows,
    write_parquet,
)
from pipelines.stages.decide import plan_reject
from schemas import accounting
from schemas.analysis import PLAN_SCHEMA
from schemas.arrow import REJECT_SCHEMA, SEGMENT_SCHEMA, SSL_SEGMENT_SCHEMA, reject_row
from schemas.keys import shard_name
from schemas.reasons import Reason, Stage

log = logging.getLogger("speechcurate.takedown")
TAKEDOWN_DIR = "takedown"
RULES_FILE = "rules.jsonl"
AUDIT_FILE = "audit.jsonl"
PENDING_FILE = "pending.json"
SUCCESS = "_SUCCESS"
TEMP_PREFIX = ".takedown-"
KINDS = RULE_KINDS
SEGMENT_STAGES = (Stage.SEGMENT, Stage.ASR)
SSL_DIR = "ssl"  # RUN/ssl/ (pipelines/publish.py): a takedown removes its samples too


# --------------------------------------------------------------------------- rules on disk


def _read_jsonl(uri: str) -> list[dict[str, Any]]:
    if not sio.exists(uri):
        return []
    lines = sio.read_bytes(uri).decode("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _write_jsonl(uri: str, rows: list[dict[str, Any]]) -> None:
    """Whole-file atomic rewrite (object stores have no append)."""
    sio.write_text_atomic(uri, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def load_rules(run_dir: str) -> list[dict[str, Any]]:
    """The rules recorded for ``run_dir`` (``{"kind", "value", "added_at", ...}``), in order."""
    return _read_jsonl(sio.join(run_dir, TAKEDOWN_DIR, RULES_FILE))


def rule_entries(config: TakedownConfig) -> list[dict[str, str]]:
    """``[{"kind", "value"}]`` of a config's rules, values as written (validated by the config)."""
    return [{"kind": kind, "value": value} for kind, name in KINDS.items()
            for value in getattr(config, name)]


def rules_digest(config: TakedownConfig) -> str:
    """A digest of a run's recorded rules, stored in ``_SUCCESS``: a run whose rules changed
    since it completed is not complete. Empty without rules (markers from before takedowns)."""
    if not config.active():
        return ""
    return hashlib.sha256(json.dumps(rule_entries(config)).encode()).hexdigest()


def recorded_digest(run_dir: str) -> str:
    return rules_digest(rules_config(load_rules(run_dir)))


def with_run_rules(config: RunConfig, *run_dirs: str) -> RunConfig:
    """``config`` with the takedown rules recorded in each of ``run_dirs`` merged in."""
    merged = config.curate.takedown
    for run_dir in run_dirs:
        merged = merged.merged(rules_config(load_rules(run_dir)))
    return replace(config, curate=replace(config.curate, takedown=merged))


def carry_rules(source_run: str, out: str) -> int:
    """Copy ``source_run``'s recorded rules into ``out`` (a refilter's new run), so takedowns of
    the source also bind the new run and its own later reruns. Returns how many were added."""
    have = load_rules(out)
    known = {(r["kind"], r["value"]) for r in have}
    new = [{**r, "carried_from": r.get("carried_from") or source_run}
           for r in load_rules(source_run) if (r["kind"], r["value"]) not in known]
    if new:
        _write_jsonl(sio.join(out, TAKEDOWN_DIR, RULES_FILE), have + new)
    return len(new)


def _record_rules(run_dir: str, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    have = load_rules(run_dir)
    known = {(r["kind"], r["value"]) for r in have}
    new = [e for e in entries if (e["kind"], e["value"]) not in known]
    if new:
        _write_jsonl(sio.join(run_dir, TAKEDOWN_DIR, RULES_FILE), have + new)
    return new


def _append_audit(run_dir: str, entry: dict[str, Any]) -> None:
    uri = sio.join(run_dir, TAKEDOWN_DIR, AUDIT_FILE)
    _write_jsonl(uri, [*_read_jsonl(uri), entry])


def pending(run_dir: str) -> dict[str, Any] | None:
    """The marker of a takedown that started committing and did not finish, if any."""
    uri = sio.join(run_dir, TAKEDOWN_DIR, PENDING_FILE)
    return json.loads(sio.read_bytes(uri)) if sio.exists(uri) else None


def clear_pending(run_dir: str) -> None:
    """A full decide + publish applied every recorded rule: an interrupted takedown is done."""
    _remove(sio.join(run_dir, TAKEDOWN_DIR, PENDING_FILE))


# --------------------------------------------------------------------------- run files


def _read_table(uri: str) -> list[dict[str, Any]]:
    return pq.read_table(io.BytesIO(sio.read_bytes(uri))).to_pylist()


def _analysis_dir(run_dir: str, stats: dict[str, Any]) -> str:
    """The run's own analysis, else the one a refilter read (``stats.analysis.source``)."""
    own = sio.join(run_dir, "analysis")
    source = (stats.get("analysis") or {}).get("source")
    return sio.join(source, "analysis") if source and not sio.exists(own) else own


def _shard_samples(uri: str) -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    """(key, flac, metadata) of a published shard, streamed one sample at a time."""
    fs, path = sio.fs_and_path(uri)
    with fs.open(path, "rb") as fh, tarfile.open(fileobj=fh, mode="r|") as tar:
        key, parts = None, {}
        for member in tar:
            k, _, ext = member.name.partition(".")
            if key is not None and k != key:
                yield key, parts["flac"], json.loads(parts["json"])
                parts = {}
            key = k
            data = tar.extractfile(member)
            parts[ext] = data.read() if data is not None else b""
        if key is not None:
            yield key, parts["flac"], json.loads(parts["json"])


@dataclass
class Outcome:
    """What a takedown did; ``render`` is the command's output."""

    run_dir: str
    rules: list[dict[str, Any]]
    new_rules: list[dict[str, Any]] = field(default_factory=list)
    recordings: list[str] = field(default_factory=list)  # recordings the rules match in RUN
    removed: list[str] = field(default_factory=list)  # segment ids taken out of the shards
    ssl_removed: list[str] = field(default_factory=list)  # segment ids taken out of ssl/
    rewritten: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    redacted_rejects: int = 0
    samples_deleted: int = 0
    finished_pending: bool = False
    plan_changed: int = 0  # plan rows that became taken_down
    unpublished: bool = False  # the run is analysed only: the rule is recorded, nothing else

    @property
    def changed(self) -> bool:
        return bool(self.removed or self.ssl_removed or self.rewritten or self.deleted
                    or self.redacted_rejects or self.samples_deleted or self.finished_pending
                    or self.plan_changed)

    def render(self) -> str:
        what = ", ".join(f"{r['kind']} {r['value']}" for r in self.rules)
        if self.unpublished:
            return (f"takedown: {what}: {self.run_dir} is not published yet; the rule is "
                    "recorded, so its runs and refilters never publish a matching recording")
        if not self.recordings:
            return (f"takedown: {what}: matched no recording in {self.run_dir}; nothing "
                    "removed. The rule is recorded, so later runs and refilters of this run "
                    "never publish a matching recording.")
        if not self.changed:
            return (f"takedown: {what}: {len(self.recordings)} matching recording(s), already "
                    "taken down; nothing changed (audit entry added)")
        return (f"takedown: {what}: {len(self.recordings)} recording(s), "
                f"{len(self.removed)} segment(s) removed"
                + (f" (and {len(self.ssl_removed)} from ssl/)" if self.ssl_removed else "")
                + f"; {len(self.rewritten)} shard(s) "
                f"rewritten, {len(self.deleted)} deleted; {self.redacted_rejects} reject row(s) "
                f"redacted, {self.samples_deleted} listening sample(s) deleted"
                + ("; finished an interrupted takedown" if self.finished_pending else ""))


# --------------------------------------------------------------------------- the takedown


def run_takedown(run_dir: str, rule: TakedownConfig, who: str | None = None,
                 note: str = "") -> Outcome:
    """Apply ``rule`` (and every rule recorded before) to the published run at ``run_dir``."""
    run_dir = run_dir.rstrip("/")
    manifest = sio.join(run_dir, "manifest")
    plan_uri = sio.join(run_dir, "plan", "segments.parquet")
    if not rule.active():
        raise ConfigError("takedown: give at least one --url-prefix, --domain or --recording-id")
    rule = rule.normalised()
    entries = rule_entries(rule)
    needed = (sio.join(manifest, "shards.json"), plan_uri, sio.join(run_dir, "stats.json"))
    if not all(sio.exists(uri) for uri in needed):
        if not sio.exists(sio.join(run_dir, "analysis", store.CONFIG_FILE)):
            raise ConfigError(f"takedown: {run_dir} is neither a published nor an analysed run")
        out = Outcome(run_dir, entries, new_rules=_record_rules(run_dir, entries))
        _append_audit(run_dir, _audit_entry(out, rule, who, note, "recorded_only"))
        out.unpublished = True
        return out
    _sweep_temporaries(run_dir)
    prior = pending(run_dir)
    was_pending = prior is not None
    everything = rules_config(load_rules(run_dir)).merged(rule)
    matcher = everything.matcher()
    own = rule.matcher()
    stats = json.loads(sio.read_bytes(sio.join(run_dir, "stats.json")))
    plan = _read_table(plan_uri)
    rejects = _read_table(sio.join(manifest, "rejects.parquet"))
    index = json.loads(sio.read_bytes(sio.join(manifest, "shards.json")))
    out = Outcome(run_dir, entries, finished_pending=was_pending)
    out.recordings = sorted({r["recording_id"] for r in (*plan, *rejects)
                             if own.matches_row(r)})

    # what changes: plan rows, shards (and ssl/ shards), rejects, listening samples
    removed_by_shard: dict[int, set[str]] = defaultdict(set)
    removed_by_ssl: dict[int, set[str]] = defaultdict(set)
    new_plan, plan_changed = [], 0
    for row in plan:
        rule_hit = matcher.matches_row(row)
        if rule_hit and (row["reject_reason"] != Reason.TAKEN_DOWN or row.get("ssl")):
            if row["keep"]:
                removed_by_shard[row["shard_index"]].add(row["segment_id"])
            if row.get("ssl"):
                removed_by_ssl[row["ssl_index"]].add(row["segment_id"])
            row = _taken_down(row, rule_hit)
            plan_changed += 1
        new_plan.append(row)
    out.plan_changed = plan_changed
    out.removed = sorted(k for keys in removed_by_shard.values() for k in keys)
    out.ssl_removed = sorted(k for keys in removed_by_ssl.values() for k in keys)
    taken = {r["recording_id"] for r in new_plan if r["reject_reason"] == Reason.TAKEN_DOWN}
    taken |= {r["recording_id"] for r in rejects if matcher.matches_row(r)}
    changed_ids = {r["segment_id"] for r, old in zip(new_plan, plan, strict=True) if r is not old}
    new_rejects = [r for r in rejects if r["id"] not in changed_ids]
    new_rejects += [reject_row(plan_reject(r)) for r in new_plan if r["segment_id"] in changed_ids]
    redacted = 0
    for i, r in enumerate(new_rejects):
        if r["recording_id"] in taken and (r.get("text") or r.get("pseudo_label")):
            new_rejects[i] = redact_reject_row(r)
            redacted += 1
    out.redacted_rejects = redacted
    samples = _listening_samples(run_dir, taken, {r["id"] for r in rejects} | changed_ids,
                                 new_plan)

    if not (plan_changed or redacted or samples or was_pending):
        out.new_rules = _record_rules(run_dir, entries)
        _append_audit(run_dir, _audit_entry(out, rule, who, note, "no_change"))
        if out.new_rules:
            _set_success(run_dir, _success(run_dir), everything)
        return out

    # 1. every new shard to a temporary file (nothing committed yet; a failure undoes this)
    by_name = {posixpath.basename(e["url"]): e for e in index["shardlist"]}
    ssl_index = (json.loads(sio.read_bytes(sio.join(run_dir, SSL_DIR, "shards.json")))
                 if removed_by_ssl else None)
    temps: dict[str, str] = {}  # final shard URI -> its temporary file
    try:
        new_entries = _rewrite_shards(
            sio.join(run_dir, "shards"), removed_by_shard, new_plan, "shard_index", by_name,
            "../shards/", temps)
        ssl_entries = _rewrite_shards(
            sio.join(run_dir, SSL_DIR), removed_by_ssl, new_plan, "ssl_index",
            {e["url"]: e for e in (ssl_index or {}).get("shardlist", [])}, "", temps)
    except BaseException:
        for tmp in temps.values():
            _remove(tmp)
        raise

    # 2. commit: rule, pending marker, shards, manifests, report; then audit and _SUCCESS
    out.new_rules = _record_rules(run_dir, entries)
    success = _success(run_dir) or (prior or {}).get("success")
    sio.write_text_atomic(sio.join(run_dir, TAKEDOWN_DIR, PENDING_FILE), json.dumps(
        {"started_at": _now(), "rules": entries, "success": success}))
    _remove(sio.join(manifest, SUCCESS))
    for folder, entries_ in (("shards", new_entries), (SSL_DIR, ssl_entries)):
        for name, entry in sorted(entries_.items()):
            final = sio.join(run_dir, folder, name)
            shown = name if folder == "shards" else f"{folder}/{name}"
            if entry is None:
                _remove(final)
                out.deleted.append(shown)
            else:
                fs, path = sio.fs_and_path(temps[final])
                fs.mv(path, sio.fs_and_path(final)[1])
                out.rewritten.append(shown)
    shardlist = [new_entries.get(posixpath.basename(e["url"]), e) for e in index["shardlist"]]
    index["shardlist"] = [e for e in shardlist if e is not None]
    if ssl_index is not None:
        ssl_list = [ssl_entries.get(e["url"], e) for e in ssl_index["shardlist"]]
        ssl_index["shardlist"] = [e for e in ssl_list if e is not None]
    _write_outputs(run_dir, stats, new_plan, unique_rows(new_rejects, REJECT_KEY), index,
                   ssl_index)
    for uri in samples:
        _remove(uri)
    out.samples_deleted = len(samples)
    _build_report(run_dir)
    _append_audit(run_dir, _audit_entry(out, rule, who, note, "removed"))
    _set_success(run_dir, success, everything)
    _remove(sio.join(run_dir, TAKEDOWN_DIR, PENDING_FILE))
    return out


def _rewrite_shards(folder: str, removed: dict[int, set[str]], plan: list[dict[str, Any]],
                    column: str, by_name: dict[str, dict[str, Any]], url_prefix: str,
                    temps: dict[str, str]) -> dict[str, dict[str, Any] | None]:
    """Each shard of ``folder`` that loses samples, rewritten without them to a temporary file
    (recorded in ``temps`` under the final URI); returns its new index entry by shard name, or
    None for a shard left empty. ``column`` is the plan's shard column for ``folder``."""
    entries: dict[str, dict[str, Any] | None] = {}
    for shard_index in sorted(removed):
        name = shard_name(shard_index)
        drop = removed[shard_index]
        keep_n = sum(1 for r in plan if r[column] == shard_index
                     and (r["keep"] if column == "shard_index" else r.get("ssl")))
        uri = sio.join(folder, name)
        if keep_n == 0:
            entries[name] = None
            continue
        if not sio.exists(uri):
            raise RuntimeError(f"takedown: {uri} is missing but {keep_n} sample(s) of the "
                               "plan are in it; run `speechcurate curate` to republish")
        tmp = sio.join(folder, f"{TEMP_PREFIX}{uuid.uuid4().hex}-{name}.partial")
        temps[uri] = tmp
        fs, path = sio.fs_and_path(tmp)
        with fs.open(path, "wb") as fh:
            info = write_tar(fh, ((k, flac, meta) for k, flac, meta in _shard_samples(uri)
                                  if k not in drop))
        if info.nsamples != keep_n:
            raise RuntimeError(f"takedown: {uri} would hold {info.nsamples} samples, the "
                               f"plan says {keep_n}; run `speechcurate verify`")
        entries[name] = {**by_name.get(name, {"url": f"{url_prefix}{name}"}),
                         "nsamples": info.nsamples, "filesize": info.filesize,
                         "md5sum": info.md5sum}
    return entries


def _taken_down(row: dict[str, Any], rule_hit: str) -> dict[str, Any]:
    detail = f"takedown rule {rule_hit}"
    verdicts = [*(row.get("verdicts") or []), {"filter": "takedown", "passed": False,
                                               "reason": str(Reason.TAKEN_DOWN),
                                               "detail": detail, "value": None}]
    return {**row, "keep": False, "reject_stage": str(Stage.TAKEDOWN),
            "reject_reason": str(Reason.TAKEN_DOWN), "reject_detail": detail,
            "shard_index": -1, "ssl": False, "ssl_index": -1, "verdicts": verdicts}


def _listening_samples(run_dir: str, taken: set[str], reject_ids: set[str],
                       plan: list[dict[str, Any]]) -> list[str]:
    """``samples/rejected/*/ID.flac`` files of the taken-down recordings."""
    if not taken:
        return []
    ids = {r["segment_id"] for r in plan if r["recording_id"] in taken}
    ids |= {i for i in reject_ids if i.split("-", 1)[0] in taken}
    found = sio.glob(sio.join(run_dir, "samples", "rejected", "*", "*.flac"))
    return sorted(u for u in found if posixpath.basename(u).removesuffix(".flac") in ids)


def _write_outputs(run_dir: str, stats: dict[str, Any], plan: list[dict[str, Any]],
                   rejects: list[dict[str, Any]], index: dict[str, Any],
                   ssl_index: dict[str, Any] | None = None) -> None:
    """Plan, manifests and stats after a takedown, with the books checked again.

    The published rows are the old ``segments.parquet`` rows of the kept segments, untouched
    (publish may have shaped them beyond the plan row), so they still equal their samples."""
    kept = {r["segment_id"] for r in plan if r["keep"]}
    segments = [r for r in _read_table(sio.join(run_dir, "manifest", "segments.parquet"))
                if r["segment_id"] in kept]
    if len(segments) != len(kept):
        raise RuntimeError(f"takedown: segments.parquet has {len(segments)} of the plan's "
                           f"{len(kept)} kept segments; run `speechcurate verify`")
    in_index = {posixpath.basename(e["url"]) for e in index["shardlist"]}
    lost = sorted({s["shard"] for s in segments} - in_index)
    if lost:
        raise RuntimeError(f"takedown: kept segments in shards missing from the index: {lost}")
    books = dict(stats.get("accounting") or {})
    books.update(accounting.check([
        accounting.ledger("decide", "segments", {r["segment_id"] for r in plan},
                          {r["segment_id"] for r in plan if r["keep"]},
                          {r["segment_id"] for r in plan if not r["keep"]}),
    ]))
    books["publish.segments"] = {"in": len(segments), "kept": len(segments), "rejected": 0}
    analysis_dir = _analysis_dir(run_dir, stats)
    ids = {r["recording_id"] for r in plan} | {r["recording_id"] for r in rejects}
    owner = {rid: pack for rid, pack in store.owners(analysis_dir).items() if rid in ids}
    recordings = [r for r in store.all_rows(analysis_dir, "recordings", owner,
                                            ["recording_id", "source_name", "source_uri",
                                             "duration", "codec", "licence", "status"])
                  if r["status"] == "decoded"]
    decide_stages = [s["stage"] for s in stats.get("stages", [])
                     if s.get("unit") == "segments" and s["stage"] not in SEGMENT_STAGES]
    if str(Stage.TAKEDOWN) not in decide_stages:
        decide_stages.insert(0, str(Stage.TAKEDOWN))
    shardlist = index["shardlist"]
    fresh = compute_stats(recordings, segments, rejects, shardlist, stats.get("run", {}),
                          decide_stages)
    new_stats = {**stats, **fresh, "accounting": books}
    if ssl_index is not None:  # ssl/ lost samples: its manifest and figures follow
        in_ssl = {r["segment_id"] for r in plan if r.get("ssl")}
        ssl_uri = sio.join(run_dir, SSL_DIR, "segments.parquet")
        ssl_rows = [r for r in _read_table(ssl_uri) if r["segment_id"] in in_ssl]
        written = sum(e["nsamples"] for e in ssl_index["shardlist"])
        if not len(ssl_rows) == len(in_ssl) == written:
            raise RuntimeError(f"takedown: ssl/ would hold {written} samples and "
                               f"{len(ssl_rows)} rows, the plan says {len(in_ssl)}; run "
                               "`speechcurate verify`")
        books["publish.ssl_segments"] = {"in": len(in_ssl), "kept": written, "rejected": 0}
        new_stats["ssl"] = ssl_stats(ssl_rows, ssl_index["shardlist"], True)
        write_parquet(ssl_uri, ssl_rows, SSL_SEGMENT_SCHEMA)
        sio.write_text_atomic(sio.join(run_dir, SSL_DIR, "shards.json"),
                              json.dumps(ssl_index, indent=2))
    manifest = sio.join(run_dir, "manifest")
    write_parquet(sio.join(run_dir, "plan", "segments.parquet"), plan, PLAN_SCHEMA,
                  PLAN_ROW_GROUP)
    write_parquet(sio.join(manifest, "segments.parquet"), segments, SEGMENT_SCHEMA)
    write_parquet(sio.join(manifest, "rejects.parquet"), rejects, REJECT_SCHEMA)
    sio.write_text_atomic(sio.join(manifest, "shards.json"), json.dumps(index, indent=2))
    sio.write_text_atomic(sio.join(run_dir, "stats.json"), json.dumps(new_stats, indent=2))


def _audit_entry(out: Outcome, rule: TakedownConfig, who: str | None, note: str,
                 outcome: str) -> dict[str, Any]:
    return {
        "at": _now(), "who": who or _user(), "note": note, "rules": rule_entries(rule),
        "outcome": outcome if out.recordings or outcome in ("removed", "recorded_only")
        else "matched_nothing",
        "new_rules": len(out.new_rules), "recordings": out.recordings,
        "segments_removed": len(out.removed), "segment_ids": out.removed,
        "ssl_segments_removed": len(out.ssl_removed), "ssl_segment_ids": out.ssl_removed,
        "shards_rewritten": out.rewritten, "shards_deleted": out.deleted,
        "reject_rows_redacted": out.redacted_rejects, "samples_deleted": out.samples_deleted,
        "finished_pending": out.finished_pending,
    }


def _success(run_dir: str) -> dict[str, Any] | None:
    uri = sio.join(run_dir, "manifest", SUCCESS)
    return json.loads(sio.read_bytes(uri)) if sio.exists(uri) else None


def _set_success(run_dir: str, done: dict[str, Any] | None, rules: TakedownConfig) -> None:
    """Write ``_SUCCESS`` back (when the run had one) with the digest of the rules now applied:
    a rerun with the same config and inputs is still complete (``curate._completed`` compares
    the digest), one after new rules is not."""
    if done is not None:
        sio.write_text_atomic(sio.join(run_dir, "manifest", SUCCESS),
                              json.dumps({**done, "takedown": rules_digest(rules)}))


def _remove(uri: str) -> None:
    fs, path = sio.fs_and_path(uri)
    if fs.exists(path):
        fs.rm(path)


def _sweep_temporaries(run_dir: str) -> None:
    for folder in ("shards", SSL_DIR):
        for uri in sio.glob(sio.join(run_dir, folder, f"{TEMP_PREFIX}*")):
            _remove(uri)


def _build_report(run_dir: str) -> None:
    try:
        from pipelines.report import build_report
    except ImportError:
        return
    build_report(run_dir)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


# --------------------------------------------------------------------------- command line


def add_takedown_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``takedown`` subcommand; its defaults carry ``func=run_from_args``."""
    p = subparsers.add_parser(
        "takedown", help="remove recordings from a published run and keep them out for good",
        description="Remove every segment of the matching recordings from RUN_DIR's shards "
                    "(rewriting only the shards that hold one, atomically), update the plan, "
                    "manifests, stats and report, log the request in "
                    "RUN_DIR/takedown/audit.jsonl and record the rule in "
                    "RUN_DIR/takedown/rules.jsonl, so later runs, curates and refilters of "
                    "RUN_DIR never publish those recordings again. A recording matches when "
                    "its media URL or the page it was found on matches. Options repeat.")
    p.add_argument("run_dir", help="a published run directory (local path or fsspec URL)")
    p.add_argument("--url-prefix", action="append", default=[], metavar="URL",
                   help="recordings whose media or page URL starts with URL (scheme and host "
                        "case-insensitive; file:///x and /x are the same)")
    p.add_argument("--domain", action="append", default=[], metavar="HOST",
                   help="recordings whose media or page URL is on HOST or a subdomain of it")
    p.add_argument("--recording-id", action="append", default=[], metavar="ID",
                   help="a recording id (16 hex digits, the part of a key before '-')")
    p.add_argument("--by", default=None, help="who asked (audit log; default: the OS user)")
    p.add_argument("--note", default="", help="free text for the audit log (e.g. a ticket id)")
    p.set_defaults(func=run_from_args)
    return p


def run_from_args(args: argparse.Namespace) -> int:
    from pipelines.config_base import build

    rule = build(TakedownConfig, {"url_prefixes": list(args.url_prefix),
                                  "domains": list(args.domain),
                                  "recording_ids": list(args.recording_id)}, "takedown")
    if not rule.active():
        raise ConfigError("takedown: give at least one --url-prefix, --domain or --recording-id")
    print(run_takedown(args.run_dir, rule, who=args.by, note=args.note).render())
    return 0
