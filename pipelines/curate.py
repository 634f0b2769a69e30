"""Curation in three phases, each a Beam pipeline (see DESIGN.md):

1. ``analyse`` (pipelines/analyse.py) — decode, segment, LID, Whisper, measures; once per
   recording, resumable; writes ``RUN/analysis/``.
2. ``decide`` (pipelines/decide.py) — the filter registry over thin rows, shard assignment;
   writes ``RUN/plan/``.
3. ``publish`` (pipelines/publish.py) — shards, manifests, stats, report, ``_SUCCESS``.

``run_curate`` chains them; ``run_refilter`` runs decide + publish again over another run's
analysis with new thresholds (no decoding, no Whisper). After every run the books are checked
(``schemas.accounting``): a recording or segment that vanished fails the run, by id.

Run it with ``speechcurate run`` or ``python -m pipelines.curate --config C --out RUN [beam opts]``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import pyarrow.parquet as pq

from filters.anonymise_config import anonymise_stats
from filters.registry import REGISTRY, Filter, funnel_stages
from filters.ssl_speech import ssl_stats
from filters.takedown import TakedownConfig, redact_reject_row
from pipelines import analysis_store as store
from pipelines import io as sio
from pipelines import runners
from pipelines.analyse import LISTING_REJECTS, AnalyseResult, Listing, list_inputs, run_analyse
from pipelines.config import ConfigError, RunConfig
from pipelines.decide import read_plan_rows, run_decide
from pipelines.manifests import (
    REJECT_KEY,
    compute_stats,
    unique_rows,
    write_manifests,
    write_ssl_manifests,
)
from pipelines.models import check_model, is_multilingual
from pipelines.publish import run_publish
from pipelines.report.thresholds import threshold_lines
from pipelines.stages.decide import plan_reject, transcript_rejects
from pipelines.takedown import carry_rules, clear_pending, recorded_digest, with_run_rules
from schemas import accounting
from schemas.arrow import REJECT_SCHEMA, SEGMENT_SCHEMA, reject_row
from schemas.keys import segment_id_for, shard_name
from schemas.reasons import Reason, Stage

log = logging.getLogger("speechcurate.curate")
SUCCESS = "_SUCCESS"
VERSIONED = ("speechcurate", "apache-beam", "faster-whisper", "ctranslate2", "openai-whisper",
             "webrtcvad-wheels", "fasttext-predict", "webdataset", "pyarrow", "polars")
RECORDING_FATE_STAGES = {Stage.SOURCE, Stage.CRAWL, Stage.DECODE, Stage.SEGMENT}


@dataclass
class Summary:
    run_dir: str
    stats: dict[str, Any]
    skipped: bool = False

    def render(self) -> str:
        s = self.stats
        lines = [f"speechcurate run: {self.run_dir}" + ("  (already complete; --force to redo)"
                                                        if self.skipped else "")]
        inp, kept = s.get("input", {}), s.get("kept", {})
        lines.append(f"  input   {inp.get('recordings', 0)} recordings, "
                     f"{inp.get('hours', 0) * 60:.1f} min decoded")
        an = s.get("analysis", {})
        if an:
            lines.append(f"  analyse {an.get('analysed', 0)} analysed now, "
                         f"{an.get('reused', 0)} reused from earlier runs"
                         + (f" (analysis of {an['source']})" if an.get("source") else ""))
        lines.append(f"  kept    {kept.get('segments', 0)} segments from "
                     f"{kept.get('recordings', 0)} recordings, {kept.get('hours', 0) * 60:.1f} min"
                     f" in {s.get('shards', {}).get('count', 0)} shard(s)")
        langs = ", ".join(f"{k} {v['segments']} ({v['hours'] * 60:.1f} min)"
                          for k, v in s.get("languages", {}).items())
        lines.append(f"  langs   {langs or '-'}")
        ssl = s.get("ssl") or {}
        if ssl.get("enabled"):
            lines.append(f"  ssl     {ssl.get('segments', 0)} label-untrusted segment(s), "
                         f"{ssl.get('hours', 0) * 60:.1f} min in "
                         f"{ssl.get('shards', {}).get('count', 0)} audio-only shard(s) "
                         "(also counted as dropped)")
        reasons = s.get("rejects", {}).get("by_reason", {})
        lines.append(f"  dropped {s.get('rejects', {}).get('count', 0)}: " + (", ".join(
            f"{k}={v}" for k, v in reasons.items()) or "none"))
        wall = s.get("run", {}).get("wall_s")
        if wall is not None:
            phases = s.get("run", {}).get("phase_s", {})
            split = ", ".join(f"{k} {v:.1f}" for k, v in phases.items())
            lines.append(f"  time    {wall:.1f} s wall" + (f" ({split})" if split else ""))
        for label, rel in (("shards", "shards/"), ("index", "manifest/shards.json"),
                           ("segments", "manifest/segments.parquet"),
                           ("rejects", "manifest/rejects.parquet"),
                           *((("ssl", "ssl/shards.json"),) if ssl.get("enabled") else ()),
                           ("plan", "plan/segments.parquet"), ("stats", "stats.json"),
                           ("report", "report/index.html")):
            lines.append(f"  {label:<9}{sio.join(self.run_dir, rel)}")
        return "\n".join(lines)


def _versions() -> dict[str, str]:
    out = {}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def config_hash(config: RunConfig) -> str:
    return hashlib.sha256(json.dumps(dataclasses.asdict(config), sort_keys=True,
                                     default=str).encode()).hexdigest()


def _clear(uri: str) -> None:
    fs, path = sio.fs_and_path(uri)
    if fs.exists(path):
        fs.rm(path, recursive=True)


def _read_rejects(uris: list[str]) -> list[dict[str, Any]]:
    rows = []
    for uri in uris:
        for row in pq.read_table(io.BytesIO(sio.read_bytes(uri))).to_pylist():
            rows.append({k: row.get(k) for k in REJECT_SCHEMA.names})
    return rows


def assume_english_for_english_only_asr(config: RunConfig) -> RunConfig:
    """An English-only model (tiny.en) detects no language, so segments without a transcript
    would all end as ``lid_low_confidence``; the model's language is the fallback instead."""
    cur = config.curate
    if cur.labels.fallback_language or is_multilingual(cur.asr.model):
        return config
    log.info("ASR model %s is English-only: segments with no language evidence count as English",
             cur.asr.model)
    labels = replace(cur.labels, fallback_language="en")
    return replace(config, curate=replace(cur, labels=labels))


def _with_model(config: RunConfig, asr_model: str | None) -> RunConfig:
    language = config.curate.asr.language
    if asr_model and asr_model.endswith(".en") and language not in ("", "en"):
        raise ConfigError(f"--asr-model {asr_model} is English-only but curate.asr.language is "
                          f"{language!r}: use a multilingual model (base) or drop the language")
    if asr_model:
        config = replace(config, curate=replace(config.curate, asr=replace(
            config.curate.asr, model=asr_model)))
    cur = config.curate  # the label thresholds follow the model's expected error per language
    config = replace(config, curate=replace(cur, labels=replace(cur.labels,
                                                                asr_model=cur.asr.model)))
    return assume_english_for_english_only_asr(config)


def _fingerprint(config: RunConfig, recording_ids: set[str], analysis_from: str = "") -> str:
    digest = hashlib.sha256(config_hash(config).encode())
    digest.update(analysis_from.encode())
    for rid in sorted(recording_ids):
        digest.update(rid.encode())
    return digest.hexdigest()


def _completed(out: str, fingerprint: str) -> dict[str, Any] | None:
    """The stats of a finished run whose inputs, config and recorded takedown rules are
    unchanged, else None."""
    marker = sio.join(out, "manifest", SUCCESS)
    if not sio.exists(marker):
        return None
    try:
        done = json.loads(sio.read_bytes(marker))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(done, dict) or done.get("fingerprint") != fingerprint:
        return None
    if done.get("takedown", "") != recorded_digest(out):
        return None
    return json.loads(sio.read_bytes(sio.join(out, "stats.json")))


# --------------------------------------------------------------------------- finishing a run


@dataclass
class Inputs:
    """What entered this run, as counted before the work (not derived from the outputs)."""

    recording_ids: set[str]  # listed recordings this run decides on
    listing_rejects: list[dict[str, Any]]  # bad manifest rows (entered and rejected at listing)
    crawl_rejects: list[dict[str, Any]]  # the crawl's rejects (its own books are the crawl's)


def _books(inputs: Inputs, rec_rows, seg_ids, analysis_rejects, plan,
           shard_rows, ssl_book: accounting.Ledger) -> list[accounting.Ledger]:
    listing_ids = {r["id"] for r in inputs.listing_rejects}
    rec_fates = {r["recording_id"] for r in analysis_rejects
                 if r["start"] is None and r["stage"] in RECORDING_FATE_STAGES}
    decoded = [r for r in rec_rows if r["status"] == "decoded" and r["n_segments"]]
    produced = {segment_id_for(r["recording_id"], i) for r in decoded
                for i in range(r["n_segments"])}
    seg_rejects = {r["id"] for r in analysis_rejects if r["start"] is not None}
    kept = {r["segment_id"] for r in plan if r["keep"]}
    written = {k for s in shard_rows for k in s["keys"]}
    return [
        accounting.ledger("analyse", "recordings", inputs.recording_ids | listing_ids,
                          {r["recording_id"] for r in decoded}, rec_fates | listing_ids),
        accounting.ledger("analyse", "segments", produced, seg_ids, seg_rejects),
        accounting.ledger("decide", "segments", seg_ids, kept,
                          {r["segment_id"] for r in plan if not r["keep"]}),
        accounting.ledger("publish", "segments", kept, written, set()),
        transcript_ledger(plan),
        ssl_book,
    ]


def ssl_ledger(plan: list[dict[str, Any]], ssl_shard_rows: list[dict[str, Any]],
               config: RunConfig) -> accounting.Ledger:
    """``ssl/``'s books: what entered is each plan row marked ssl that may be there (ssl on, a
    drop whose every failing reason is a configured label-trust reason, no PII found, no
    takedown rule matching it); what came out is each key written into an ``ssl/`` shard. A
    marked row that was not written vanished; a written key that may not be there (kept, PII,
    taken down, another reason) came out without going in: either fails the run. An ssl
    segment stays one reject of the labelled corpus (the decide ledger)."""
    from filters.ssl_speech import only_label_trust

    cfg = config.curate.ssl
    matcher = config.curate.takedown.matcher()
    entered = {r["segment_id"] for r in plan if cfg.enabled and r.get("ssl")
               and only_label_trust(r, cfg.reasons) and not matcher.matches_row(r)}
    written = {k for s in ssl_shard_rows for k in s["keys"]}
    return accounting.ledger("publish", "ssl_segments", entered, written, set())


def transcript_ledger(plan: list[dict[str, Any]]) -> accounting.Ledger:
    """Texts decide rejected against their audio (``stage: transcript`` rejects): each one's
    audio must leave exactly once, kept with its pseudo-label or rejected for its own reason,
    never kept with the rejected text as its label (that would be neither here)."""
    entered = {r["segment_id"] for r in plan if transcript_rejects(r)}
    kept = {r["segment_id"] for r in plan
            if r["segment_id"] in entered and r["keep"] and r["label_source"] == "pseudo"}
    dropped = {r["segment_id"] for r in plan if r["segment_id"] in entered and not r["keep"]}
    return accounting.ledger("decide", "rejected_transcripts_audio", entered, kept, dropped)


def finish_run(out: str, config: RunConfig, analysis_dir: str, owner: dict[str, str],
               inputs: Inputs, plan: list[dict[str, Any]], shard_rows: list[dict[str, Any]],
               run_info: dict[str, Any], registry: tuple[Filter, ...],
               ssl_shard_rows: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """Check the books, write the manifests and stats."""
    rec_rows = store.all_rows(analysis_dir, "recordings", owner,
                              ["recording_id", "source_name", "source_uri", "duration", "codec",
                               "licence", "status", "n_segments", "short_speech_s"])
    seg_ids = {r["segment_id"] for r in store.all_rows(analysis_dir, "segments", owner,
                                                       ["segment_id"])}
    analysis_rejects = store.all_rows(analysis_dir, "rejects", owner)
    books = accounting.check(_books(inputs, rec_rows, seg_ids, analysis_rejects, plan,
                                    shard_rows, ssl_ledger(plan, list(ssl_shard_rows), config)))
    plan_drops = [reject_row(plan_reject(r)) for r in plan if not r["keep"]]
    plan_drops += [reject_row(t) for r in plan for t in transcript_rejects(r)]
    published_analysis_rejects = analysis_rejects
    if config.curate.privacy.pii.enabled:  # decide's rows are redacted; analyse's are here
        from filters.redaction import redact_reject_rows

        published_analysis_rejects = redact_reject_rows(analysis_rejects, config.curate.privacy)
    rejects = unique_rows(
        [{k: r.get(k) for k in REJECT_SCHEMA.names}
         for r in (*inputs.listing_rejects, *inputs.crawl_rejects, *published_analysis_rejects,
                   *plan_drops)], REJECT_KEY)
    rejects = redact_taken_down(rejects, plan, config.curate.takedown)
    segments = []
    plan_kept = [row for row in plan if row["keep"]]
    for row in plan:
        if row["keep"]:
            seg = {name: row.get(name) for name in SEGMENT_SCHEMA.names}
            seg.update(shard=shard_name(row["shard_index"]), key=row["segment_id"])
            if not config.curate.anonymise.publish_alpha:
                seg["anonymise_alpha"] = None
            segments.append(seg)
    shardlist = [{"url": f"../shards/{s['shard']}", "nsamples": s["nsamples"],
                  "filesize": s["filesize"], "md5sum": s["md5sum"]} for s in shard_rows]
    decoded = [r for r in rec_rows if r["status"] == "decoded"]
    stats = compute_stats(decoded, segments, rejects, shardlist, run_info,
                          funnel_stages(registry, config.curate))
    stats["accounting"] = books
    stats["anonymise"] = anonymise_stats(plan_kept, config.curate.anonymise)
    stats["thresholds"] = threshold_lines(config.curate)
    if config.curate.dedup.active:
        from filters.dedup.summary import dedup_stats

        stats["dedup"] = dedup_stats(plan, config.curate.dedup)
    stats["speech_lost"] = {"short_regions_s": round(sum(r["short_speech_s"] or 0.0
                                                         for r in decoded), 3)}
    ssl_rows = [ssl_row(r, config) for r in plan if r.get("ssl")]
    ssl_list = [{"url": s["shard"], "nsamples": s["nsamples"], "filesize": s["filesize"],
                 "md5sum": s["md5sum"]} for s in ssl_shard_rows]
    stats["ssl"] = ssl_stats(ssl_rows, ssl_list, config.curate.ssl.enabled)
    write_manifests(out, segments, rejects, shardlist, stats)
    if config.curate.ssl.enabled:
        write_ssl_manifests(out, ssl_rows, ssl_list)
    return stats


def ssl_row(row: dict[str, Any], config: RunConfig) -> dict[str, Any]:
    """The ``ssl/segments.parquet`` row of an ssl plan row: its sample's JSON and its shard."""
    from pipelines.stages.publish import WriteSslShard

    meta = WriteSslShard.metadata(row, config.curate.anonymise)
    return {**meta, "shard": shard_name(row["ssl_index"])}


def redact_taken_down(rejects: list[dict[str, Any]], plan: list[dict[str, Any]],
                      rules: TakedownConfig) -> list[dict[str, Any]]:
    """Reject rows of taken-down recordings without their words (``text``, ``pseudo_label``):
    the ids, reasons and timings stay for the books, nothing said in them is published."""
    if not rules.active():
        return rejects
    matcher = rules.matcher()
    taken = {r["recording_id"] for r in plan if r["reject_reason"] == Reason.TAKEN_DOWN}
    return [redact_reject_row(r) if r["recording_id"] in taken or matcher.matches_row(r) else r
            for r in rejects]


def _decide_and_publish(out: str, config: RunConfig, analysis_dir: str, owner: dict[str, str],
                        inputs: Inputs, beam_args: list[str], run_info: dict[str, Any],
                        registry: tuple[Filter, ...], phase_s: dict[str, float]) -> dict[str, Any]:
    t0 = time.monotonic()
    run_decide(config, out, analysis_dir, owner, beam_args, registry)
    plan = read_plan_rows(out)  # the manifests and books below hold every plan row
    phase_s["decide"] = round(time.monotonic() - t0, 2)
    t0 = time.monotonic()
    matcher = config.curate.takedown.matcher()  # taken-down audio is never a listening sample
    privacy = config.curate.privacy
    # Reject audio for the report: never a pii drop; with PII detection on, never audio analyse
    # rejected before it was transcribed (too short, ASR failed: its words are unknown, so its
    # PII cannot be found); decide's drops carry audio edits over their PII words.
    reject_refs = ([] if privacy.pii.enabled
                   else [r for r in store.all_rows(analysis_dir, "rejects", owner)
                         if not matcher.matches_row(r)])
    drops = [{"id": r["segment_id"], "reason": r["reject_reason"], "audio_pack": r["audio_pack"],
              "audio_offset": r["audio_offset"], "audio_bytes": r["audio_bytes"],
              "recording_id": r["recording_id"], "source_name": r["source_name"],
              "audio_edits": r.get("audio_edits") or []}
             for r in plan if not r["keep"]
             and r["reject_reason"] not in (Reason.TAKEN_DOWN, Reason.PII)]
    shard_rows, ssl_shard_rows = run_publish(out, analysis_dir, reject_refs + drops,
                                             config.curate.shards.flac_compression, beam_args,
                                             config.curate.anonymise, privacy.fade_ms)
    stats = finish_run(out, config, analysis_dir, owner, inputs, plan, shard_rows, run_info,
                       registry, ssl_shard_rows)
    phase_s["publish"] = round(time.monotonic() - t0, 2)
    return stats


def _run_info(config: RunConfig, beam_args: list[str], started: datetime) -> dict[str, Any]:
    runner = runners.runner_name(beam_args)
    return {"started_at": started.isoformat(), "runner": runner,
            "config_hash": config_hash(config), "asr_model": config.curate.asr.model,
            "compute_type": config.curate.asr.compute_type, "versions": _versions()}


def _complete(out: str, stats: dict[str, Any], fingerprint: str, t0: float,
              phase_s: dict[str, float]) -> None:
    stats["run"].update(finished_at=datetime.now(UTC).isoformat(),
                        wall_s=round(time.monotonic() - t0, 2), phase_s=phase_s)
    sio.write_text_atomic(sio.join(out, "stats.json"), json.dumps(stats, indent=2))
    _build_report(out)
    clear_pending(out)  # everything was republished with every recorded takedown rule
    sio.write_text_atomic(sio.join(out, "manifest", SUCCESS),
                          json.dumps({"fingerprint": fingerprint,
                                      "finished_at": stats["run"]["finished_at"],
                                      "takedown": recorded_digest(out)}))


def run_curate(config: RunConfig, out: str, beam_args: list[str] | None = None,
               asr_model: str | None = None, force: bool = False,
               registry: tuple[Filter, ...] = REGISTRY) -> Summary:
    """analyse -> decide -> publish into ``out``; returns a summary (also written as stats.json).

    A rerun with the same ``out`` analyses only recordings not yet committed; a run whose inputs
    and config are unchanged since it completed is not redone."""
    out, beam_args = out.rstrip("/"), runners.normalise(beam_args)
    config = _with_model(config, asr_model)
    analysis_dir = sio.join(out, "analysis")
    if force:
        for stale in ("analysis", "plan", "manifest", "_work"):
            _clear(sio.join(out, stale))
    listing: Listing = list_inputs(config, out)
    if listing.empty():
        raise ConfigError("sources: found no audio to curate (check the paths and "
                          "`extensions`, or run `speechcurate crawl` first for web sources)")
    fingerprint = _fingerprint(config, listing.recording_ids())
    done = _completed(out, fingerprint)
    if done is not None:
        return Summary(out, done, skipped=True)
    config = with_run_rules(config, out)  # takedowns of this run bind every later run of it
    check_model(config.curate.asr.model)  # resolved on the workers (pipelines/models.py)
    log.info("curating %d local item(s) and %d catalog file(s) with Whisper %s",
             len(listing.items), len(listing.catalog_files), config.curate.asr.model)
    _clear(sio.join(out, "manifest", SUCCESS))
    started, t0 = datetime.now(UTC), time.monotonic()
    phase_s: dict[str, float] = {}
    analysed: AnalyseResult = run_analyse(config, out, listing, beam_args)
    phase_s["analyse"] = round(time.monotonic() - t0, 2)
    listed = listing.recording_ids()
    owner = {rid: pack for rid, pack in store.owners(analysis_dir).items() if rid in listed}
    inputs = Inputs(listed, [reject_row(r) for r in listing.rejects],
                    _read_rejects(sio.glob(sio.join(out, "catalog", "rejects-*.parquet"))))
    stats = _decide_and_publish(out, config, analysis_dir, owner, inputs, beam_args,
                                _run_info(config, beam_args, started), registry, phase_s)
    stats["analysis"] = {"listed": analysed.listed, "reused": analysed.reused,
                         "analysed": analysed.analysed}
    _complete(out, stats, fingerprint, t0, phase_s)
    return Summary(out, stats)


def run_analyse_only(config: RunConfig, out: str, beam_args: list[str] | None = None,
                     asr_model: str | None = None, force: bool = False) -> str:
    """Phase 1 alone (``speechcurate analyse``); returns a one-line summary."""
    out, beam_args = out.rstrip("/"), runners.normalise(beam_args)
    config = _with_model(config, asr_model)
    if force:
        _clear(sio.join(out, "analysis"))
    listing = list_inputs(config, out)
    if listing.empty():
        raise ConfigError("sources: found no audio to analyse")
    check_model(config.curate.asr.model)
    result = run_analyse(config, out, listing, beam_args)
    return (f"analyse: {result.listed} recording(s) listed, {result.analysed} analysed now, "
            f"{result.reused} reused -> {sio.join(out, 'analysis')}")


def run_refilter(source_run: str, config: RunConfig, out: str,
                 beam_args: list[str] | None = None, asr_model: str | None = None,
                 registry: tuple[Filter, ...] = REGISTRY) -> Summary:
    """decide + publish into ``out`` from ``source_run``'s analysis (no decode, no Whisper).

    ``config``'s analysis settings must equal those ``source_run`` was analysed with (they change
    labels; the error names every differing field); its sources are not listed again: the
    corpus is the source run's."""
    source_run, out = source_run.rstrip("/"), out.rstrip("/")
    beam_args = runners.normalise(beam_args)
    config = _with_model(config, asr_model)
    analysis_dir = sio.join(source_run, "analysis")
    if not sio.exists(sio.join(analysis_dir, store.CONFIG_FILE)):
        raise ConfigError(f"refilter: {source_run} has no analysis (run `speechcurate run` "
                          "into it first)")
    store.check_settings(analysis_dir, config, "refilter")
    if sio.join(out, "analysis") == analysis_dir:
        raise ConfigError("refilter: --out must differ from the source run")
    owner = store.owners(analysis_dir)
    fingerprint = _fingerprint(config, set(owner), analysis_from=analysis_dir)
    carry_rules(source_run, out)  # the source's takedowns bind the new run and its reruns
    done = _completed(out, fingerprint)
    if done is not None:
        return Summary(out, done, skipped=True)
    config = with_run_rules(config, out)
    _clear(sio.join(out, "manifest", SUCCESS))
    started, t0 = datetime.now(UTC), time.monotonic()
    listing_rejects = _read_rejects([sio.join(analysis_dir, LISTING_REJECTS)]
                                    if sio.exists(sio.join(analysis_dir, LISTING_REJECTS))
                                    else [])
    inputs = Inputs(set(owner), listing_rejects,
                    _read_rejects(sio.glob(sio.join(source_run, "catalog", "rejects-*.parquet"))))
    phase_s: dict[str, float] = {}
    stats = _decide_and_publish(out, config, analysis_dir, owner, inputs, beam_args,
                                _run_info(config, beam_args, started), registry, phase_s)
    stats["analysis"] = {"listed": len(owner), "reused": len(owner), "analysed": 0,
                         "source": source_run}
    _complete(out, stats, fingerprint, t0, phase_s)
    return Summary(out, stats)


def _build_report(out: str) -> None:
    try:
        from pipelines.report import build_report
    except ImportError:
        log.info("report module not available; skipping the HTML report")
        return
    build_report(out)


def main(argv: list[str] | None = None) -> int:
    """Beam entry point, ``python -m pipelines.curate --config C --out RUN [beam options]``:
    ``speechcurate run`` (crawl web sources, then curate). It is the flex template's Python file
    (``infra/flex-template``), which passes ``--asr_model``; the config may be a gs:// URL."""
    from pipelines.cli import main as cli_main

    return cli_main(["run", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
