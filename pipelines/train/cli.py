"""``speechcurate train``: the command line of the trainer.

``add_train_parser(subparsers)`` adds the subcommand to a CLI (its defaults carry
``func=run_from_args``, so the CLI dispatches with ``args.func(args)``); ``python -m
pipelines.train`` runs it alone, which is what ``torchrun`` starts on every rank::

    torchrun --nproc_per_node 8 -m pipelines.train --shards RUN/manifest/shards.json --out CKPT

Nothing heavy is imported here: torch and whisper load when the command runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

# flag -> (section, field); every flag overrides one field of the YAML config (or the default)
FLAGS: dict[str, tuple[str, str]] = {
    "model": ("model", "name"), "init": ("model", "init"), "compile": ("model", "compile"),
    "holdout_shards": ("data", "holdout_shards"), "window_s": ("data", "window_s"),
    "pack": ("data", "pack"), "batch_size": ("data", "batch_size"),
    "num_workers": ("data", "num_workers"), "shuffle_buffer": ("data", "shuffle_buffer"),
    "language_temperature": ("data", "language_temperature"), "seed": ("data", "seed"),
    "timestamp_prob": ("targets", "timestamp_prob"),
    "prev_text_prob": ("targets", "prev_text_prob"),
    "no_speech_prob": ("targets", "no_speech_prob"),
    "spec_augment": ("augment", "spec_augment"),
    "lr": ("optim", "lr"), "warmup_steps": ("optim", "warmup_steps"),
    "schedule": ("optim", "schedule"), "grad_accum": ("optim", "grad_accum"),
    "clip_grad_norm": ("optim", "clip_grad_norm"),
    "out": ("loop", "out"), "max_steps": ("loop", "max_steps"),
    "stop_at_step": ("loop", "stop_at_step"), "device": ("loop", "device"),
    "precision": ("loop", "precision"), "log_every": ("loop", "log_every"),
    "checkpoint_every": ("loop", "checkpoint_every"),
    "eval_every": ("eval", "every"), "eval_max_samples": ("eval", "max_samples"),
}


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shards", action="append", required=True, metavar="SHARDS_JSON",
                   help="a run's manifest/shards.json; repeat to train on several runs")
    p.add_argument("--out", required=True,
                   help="output directory: checkpoints, metrics.jsonl, eval/, model.pt; "
                        "rerunning with the same --out resumes from the newest checkpoint")
    p.add_argument("--config", default=None,
                   help="YAML with sections model, data, targets, augment, optim, loop, eval "
                        "(fields as in pipelines/train/config.py); flags override it")
    p.add_argument("--model", default=None,
                   help="tiny (default) | base | small | a dims.json (openai-whisper "
                        "ModelDimensions)")
    p.add_argument("--init", default=None,
                   help="openai-whisper checkpoint file (.pt) to fine-tune from")
    p.add_argument("--eval-shards", action="append", default=None, metavar="SHARDS_JSON",
                   help="held-out shards.json to evaluate on (greedy WER/CER per language)")
    p.add_argument("--holdout-shards", type=int, default=None,
                   help="hold out the last N training shards for evaluation")
    p.add_argument("--tier-weight", action="append", default=None, metavar="TIER=P",
                   help="keep-probability for a quality tier (high, medium, low) from the "
                        "manifest, e.g. --tier-weight low=0.25; repeatable; unnamed tiers: 1")
    p.add_argument("--max-steps", type=int, default=None, help="optimiser steps (10000)")
    p.add_argument("--stop-at-step", type=int, default=None,
                   help="end this invocation at this step (rerun to resume)")
    p.add_argument("--batch-size", type=int, default=None, help="windows per micro-batch (16)")
    p.add_argument("--grad-accum", type=int, default=None, help="micro-batches per step (1)")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (1.5e-3)")
    p.add_argument("--warmup-steps", type=int, default=None, help="warm-up steps (2048)")
    p.add_argument("--schedule", choices=("linear", "cosine"), default=None,
                   help="decay after warm-up (linear)")
    p.add_argument("--clip-grad-norm", type=float, default=None, help="0 turns clipping off")
    p.add_argument("--window-s", type=float, default=None,
                   help="training window in seconds (30; must match the model's n_audio_ctx)")
    p.add_argument("--pack", choices=("none", "recording", "language"), default=None,
                   help="how segments fill windows (language)")
    p.add_argument("--num-workers", type=int, default=None, help="DataLoader workers (4)")
    p.add_argument("--shuffle-buffer", type=int, default=None, help="windows (256)")
    p.add_argument("--language-temperature", type=float, default=None,
                   help="1 = natural language mix; larger flattens it (hours ** 1/T)")
    p.add_argument("--timestamp-prob", type=float, default=None)
    p.add_argument("--prev-text-prob", type=float, default=None)
    p.add_argument("--no-speech-prob", type=float, default=None)
    p.add_argument("--spec-augment", action="store_true", default=None)
    p.add_argument("--compile", action="store_true", default=None, help="torch.compile")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default=None)
    p.add_argument("--log-every", type=int, default=None)
    p.add_argument("--checkpoint-every", type=int, default=None)
    p.add_argument("--eval-every", type=int, default=None)
    p.add_argument("--eval-max-samples", type=int, default=None)
    p.add_argument("--seed", type=int, default=None)


def config_from_args(args: argparse.Namespace) -> Any:
    """The validated TrainConfig of parsed arguments (YAML first, flags on top)."""
    import yaml

    from pipelines.config_base import ConfigError
    from pipelines.train.config import train_config

    mapping: dict[str, Any] = {}
    if args.config:
        with open(args.config, encoding="utf-8") as fh:
            mapping = yaml.safe_load(fh) or {}
        if not isinstance(mapping, dict):
            raise ConfigError(f"{args.config}: expected a mapping of sections")
    sections: dict[str, dict[str, Any]] = {}
    for flag, (section, name) in FLAGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            sections.setdefault(section, {})[name] = value
    sections.setdefault("data", {})["shards"] = list(args.shards)
    if args.eval_shards:
        sections.setdefault("eval", {})["shards"] = list(args.eval_shards)
    if getattr(args, "tier_weight", None):
        sections.setdefault("data", {})["tier_weights"] = tier_weights(args.tier_weight)
    return train_config(mapping, **sections)


def tier_weights(pairs: Sequence[str]) -> dict[str, float]:
    """``["low=0.25", "medium=0.5"]`` -> ``{"low": 0.25, "medium": 0.5}`` (checked later)."""
    from pipelines.config_base import ConfigError

    weights: dict[str, float] = {}
    for pair in pairs:
        tier, sep, value = pair.partition("=")
        try:
            weights[tier.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ConfigError(f"--tier-weight {pair!r}: expected TIER=PROBABILITY, "
                              "e.g. low=0.25")
    return weights


def run_from_args(args: argparse.Namespace) -> int:
    """Train for parsed arguments; 0 on success, 2 on a configuration error."""
    from pipelines.config_base import ConfigError

    try:
        config = config_from_args(args)
    except ConfigError as exc:
        print(f"speechcurate train: configuration error: {exc}", file=sys.stderr)
        return 2
    from pipelines.train.trainer import train

    try:
        train(config)
    except ValueError as exc:  # a model/window mismatch, an empty shard list ...
        print(f"speechcurate train: {exc}", file=sys.stderr)
        return 2
    return 0


def add_train_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand to an ``add_subparsers()`` object (``func`` dispatches)."""
    p = subparsers.add_parser(
        "train", help="Whisper-style multitask training on a run's shards",
        description="Train openai-whisper's model (tiny by default, random init or --init) on "
                    "the WebDataset shards of one or more runs: segments packed into 30 s "
                    "windows, Whisper-paper targets with its tokenizer, DDP under torchrun, "
                    "resumable checkpoints, greedy WER/CER per language on held-out shards.")
    _add_arguments(p)
    p.set_defaults(func=run_from_args)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="speechcurate train",
                                     description="Whisper-style training on curated shards.")
    _add_arguments(parser)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_from_args(parser.parse_args(argv))
