"""The ``speechcurate`` command line.

Subcommands map onto the phases in DESIGN.md. Options that Beam understands (``--runner``,
``--direct_num_workers``, ``--project`` ...) are passed through untouched to the Beam pipelines.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from pipelines.config import ConfigError

EPILOG = """\
Any option not listed above is handed to Apache Beam as a pipeline option, for example:
  --runner DirectRunner --direct_num_workers 2 --direct_running_mode multi_processing
  --runner DaskRunner [--dask-address tcp://scheduler:8786]   (no address: a local Dask cluster)
  --runner DataflowRunner --project P --region R --temp_location gs://B/tmp
"""


def _add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True,
                   help="sources.yaml: the sources to read and per-stage settings")
    p.add_argument("--out", required=True,
                   help="run directory: a local path or an fsspec URL (gs://, s3://, memory://)")
    p.add_argument("--asr-model", "--asr_model", dest="asr_model", default=None,
                   help="Whisper model for pseudo-labels: tiny.en (English only, fastest), base "
                        "(multilingual; the default), a CTranslate2 model directory on the "
                        "workers, or an fsspec URL of one (gs://, s3://; staged on each worker). "
                        "Overrides curate.asr.model in the config.")
    p.add_argument("--force", action="store_true",
                   help="redo phases even if RUN_DIR marks them complete")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="speechcurate",
        description="Turn speech on the web into WebDataset shards for training speech models.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="crawl (if the config has web sources) then curate",
                       description="Run every phase: crawl web sources, then curate all sources "
                                   "into shards and manifests under --out.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_run_args(p)
    p = sub.add_parser("curate", help="analyse, decide and publish (no crawling)",
                       description="Curate local sources and an existing crawl catalog in "
                                   "RUN_DIR/catalog into shards and manifests: analyse (decode, "
                                   "segment, LID, Whisper; resumable), decide (filters, plan), "
                                   "publish (shards, manifests, report).",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_run_args(p)
    p = sub.add_parser("analyse", help="phase 1 only: decode, segment, LID, Whisper, measures",
                       description="Analyse every listed recording not yet committed in "
                                   "RUN_DIR/analysis (the expensive part, done once; a rerun "
                                   "resumes). `curate`/`run` then decide and publish.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_run_args(p)
    p = sub.add_parser("refilter", help="decide + publish again with new thresholds",
                       description="Re-decide and re-publish RUN_DIR's analysis with the "
                                   "thresholds of --config into --out, without decoding or "
                                   "Whisper. The analysis settings (curate.decode, segment, asr, "
                                   "lid.min_text_chars, shards.flac_compression) must match "
                                   "RUN_DIR's; the result equals a full run with --config.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", help="a run directory whose analysis/ to reuse")
    p.add_argument("--config", required=True, help="sources.yaml with the new thresholds")
    p.add_argument("--out", required=True, help="the new run directory (not RUN_DIR)")
    p.add_argument("--asr-model", default=None,
                   help="the model RUN_DIR was analysed with, if it was set on its command line")
    from pipelines.export import add_export_parser
    from pipelines.takedown import add_takedown_parser
    from pipelines.train.cli import add_train_parser
    from pipelines.verify import add_verify_parser

    add_verify_parser(sub)
    add_train_parser(sub)
    add_export_parser(sub)
    add_takedown_parser(sub)
    p = sub.add_parser("crawl", help="fetch web sources into RUN_DIR/raw and RUN_DIR/catalog",
                       description="Crawl the web sources of the config (rss, html, sitemap, "
                                   "warc) into content-addressed blobs and a Parquet catalog.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_run_args(p)
    p = sub.add_parser("report", help="(re)build RUN_DIR/report/index.html from the manifests")
    p.add_argument("run_dir", help="a run directory written by `speechcurate run`")
    p.add_argument("--compare", default=None, help="a second run directory to compare against")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, beam_args = parser.parse_known_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("apache_beam", "faster_whisper", "urllib3", "fsspec"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:  # Beam warns about GCP clients nobody asked for
        handler.addFilter(lambda record: "apitools not found" not in record.getMessage())
    try:
        if args.command == "report":
            from pipelines.report import build_report

            path = build_report(args.run_dir, compare=args.compare)
            print(f"report: {path}")
            return 0
        if args.command in ("verify", "train", "export", "takedown"):
            if beam_args:
                parser.error(f"unrecognized arguments for {args.command}: {' '.join(beam_args)}")
            return args.func(args)
        from pipelines.config import load_config
        from pipelines.runners import dask_cluster

        config = load_config(args.config)
        with dask_cluster(beam_args) as beam_args:
            return _run_phases(args, config, beam_args)
    except ConfigError as exc:
        print(f"speechcurate: configuration error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"speechcurate: {exc}", file=sys.stderr)
        return 2


def _run_phases(args: argparse.Namespace, config: Any, beam_args: list[str]) -> int:
    """The pipeline commands (run, curate, analyse, refilter, crawl) on one runner."""
    if args.command == "refilter":
        from pipelines.curate import run_refilter

        print(run_refilter(args.run_dir, config, args.out, beam_args,
                           asr_model=args.asr_model).render())
        return 0
    if args.command == "analyse":
        from pipelines.curate import run_analyse_only

        print(run_analyse_only(config, args.out, beam_args, asr_model=args.asr_model,
                               force=args.force))
        return 0
    web = any(getattr(s, "type", "local") != "local" for s in config.sources)
    if args.command == "crawl" or (args.command == "run" and web):
        from pipelines.crawl import run_crawl

        run_crawl(config, args.out, beam_args, force=args.force)
    if args.command in ("curate", "run"):
        from pipelines.curate import run_curate

        summary = run_curate(config, args.out, beam_args, asr_model=args.asr_model,
                             force=args.force)
        print(summary.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
