"""The trainer's configuration: one frozen dataclass per concern, a comment per field, validated
once, up front, with messages that name the field (``train.data.batch_size: must be >= 1``).

A YAML file with the sections below (``model:``, ``data:``, ``targets:``, ``augment:``,
``optim:``, ``loop:``, ``eval:``) builds a :class:`TrainConfig` through
``pipelines.config_base.build``; command-line flags override single fields.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.config_base import ConfigError, build, check

MODEL_NAMES = ("tiny", "base", "small")
PACK_MODES = ("none", "recording", "language")
SCHEDULES = ("linear", "cosine")
PRECISIONS = ("auto", "bf16", "fp32")
DEVICES = ("auto", "cpu", "cuda")
QUALITY_TIERS = ("high", "medium", "low")  # filters/quality.py quality_tier
SAMPLE_RATE = 16_000
HOP = 160  # samples per mel frame (whisper.audio.HOP_LENGTH)


@dataclass(frozen=True)
class ModelConfig:
    """Which Whisper to build (openai-whisper's model code) and where its weights come from."""

    name: str = "tiny"  # tiny | base | small (openai-whisper's dimensions) or a dims.json file
    init: str = ""  # openai-whisper checkpoint (.pt) to fine-tune from (its dims win); "": random
    compile: bool = False  # torch.compile the model (worth it on a GPU for long runs)

    def validate(self, where: str) -> None:
        check(self.name in MODEL_NAMES or self.name.endswith(".json"), f"{where}.name",
              f"must be one of {', '.join(MODEL_NAMES)} or a dims.json file; got {self.name!r}")
        if self.name.endswith(".json"):
            check(Path(self.name).is_file(), f"{where}.name", f"no such file: {self.name}")
        if self.init:
            check(Path(self.init).is_file(), f"{where}.init", f"no such file: {self.init}")


@dataclass(frozen=True)
class DataConfig:
    """Reading the shards: order, split across ranks/workers, packing into windows, sampling."""

    shards: tuple[str, ...] = ()  # manifest/shards.json files (wids-shard-index-v1) to train on
    holdout_shards: int = 0  # the last N shards of the list are held out for evaluation
    window_s: float = 30.0  # audio per training window (Whisper: 30 s = the model's n_audio_ctx/50)
    pack: str = "language"  # none: one segment a window; recording: consecutive segments of a
    #                         recording (Whisper's windows); language: also fill the rest of a
    #                         window with other recordings of the same language and task
    max_gap_s: float = 1.0  # silence between packed segments: the real pause, capped at this
    join_gap_s: float = 0.3  # silence between segments of different recordings ("language"
    #                          packing); each segment has curate.segment.pad_s of its own
    open_windows: int = 8  # windows kept open per language/task while packing (best fit)
    shuffle_shards: bool = True  # a new shard order every epoch (seeded by seed and epoch)
    shuffle_buffer: int = 256  # windows in the sample shuffle buffer; 0: stream order
    batch_size: int = 16  # windows per micro-batch on each rank
    num_workers: int = 4  # DataLoader worker processes per rank (FLAC decoding happens there)
    prefetch_factor: int = 2  # batches each worker prepares ahead
    language_temperature: float = 1.0  # 1: natural mix; T > 1 samples language l with
    #                                    probability proportional to hours_l ** (1/T)
    tier_weights: dict[str, float] = field(default_factory=dict)  # keep-probability per
    #   quality tier from the manifest's quality_tier (e.g. {high: 1, medium: 1, low: 0.25});
    #   a tier not named (and segments without a tier) is kept whole
    seed: int = 0  # seeds shard order, shuffling, packing choices and targets

    def validate(self, where: str) -> None:
        check(len(self.shards) > 0, f"{where}.shards", "give at least one shards.json")
        for i, path in enumerate(self.shards):
            check("://" in path or Path(path).is_file(), f"{where}.shards[{i}]",
                  f"no such file: {path}")
        check(self.holdout_shards >= 0, f"{where}.holdout_shards", "must be >= 0")
        check(0 < self.window_s <= 30.0, f"{where}.window_s", "must be in (0, 30]")
        check(round(self.window_s * SAMPLE_RATE / HOP) % 2 == 0, f"{where}.window_s",
              "must make an even number of 10 ms mel frames (the encoder halves them)")
        check(self.pack in PACK_MODES, f"{where}.pack", f"must be one of {', '.join(PACK_MODES)}")
        check(0 <= self.max_gap_s <= self.window_s, f"{where}.max_gap_s",
              "must be in [0, window_s]")
        check(0 <= self.join_gap_s <= self.window_s, f"{where}.join_gap_s",
              "must be in [0, window_s]")
        check(self.open_windows >= 1, f"{where}.open_windows", "must be >= 1")
        check(self.shuffle_buffer >= 0, f"{where}.shuffle_buffer", "must be >= 0")
        check(self.batch_size >= 1, f"{where}.batch_size", "must be >= 1")
        check(self.num_workers >= 0, f"{where}.num_workers", "must be >= 0")
        check(self.prefetch_factor >= 1, f"{where}.prefetch_factor", "must be >= 1")
        check(self.language_temperature >= 1.0, f"{where}.language_temperature",
              "must be >= 1 (1 keeps the natural mix; larger flattens it)")
        for tier, weight in self.tier_weights.items():
            check(tier in QUALITY_TIERS, f"{where}.tier_weights.{tier}",
                  f"unknown tier; expected one of {', '.join(QUALITY_TIERS)}")
            check(isinstance(weight, int | float) and not isinstance(weight, bool)
                  and 0.0 <= weight <= 1.0, f"{where}.tier_weights.{tier}",
                  f"must be a keep-probability in [0, 1]; got {weight!r}")
        check(not self.tier_weights or max(self.tier_weights.values()) > 0,
              f"{where}.tier_weights", "at least one tier must have a weight above 0")

    @property
    def window_samples(self) -> int:
        return round(self.window_s * SAMPLE_RATE)

    @property
    def window_frames(self) -> int:
        return self.window_samples // HOP


@dataclass(frozen=True)
class TargetConfig:
    """Whisper-paper decoder targets built with openai-whisper's tokenizer."""

    timestamp_prob: float = 0.5  # share of windows trained with timestamp tokens (the rest get
    #                              <|notimestamps|>); windows without segment times never get them
    prev_text_prob: float = 0.5  # share of windows conditioned on the preceding text of the same
    #                              recording (<|startofprev|> ...), when there is one
    max_prev_tokens: int = 223  # previous-text tokens kept (Whisper: n_text_ctx // 2 - 1)
    no_speech_prob: float = 0.02  # an extra window of generated non-speech audio (silence or
    #                               noise at a random level) with the <|nospeech|> target follows
    #                               a window with this probability (the shards hold only speech)

    def validate(self, where: str) -> None:
        for name in ("timestamp_prob", "prev_text_prob", "no_speech_prob"):
            value = getattr(self, name)
            check(0.0 <= value <= 1.0, f"{where}.{name}", f"must be in [0, 1]; got {value}")
        check(self.max_prev_tokens >= 0, f"{where}.max_prev_tokens", "must be >= 0")


@dataclass(frozen=True)
class AugmentConfig:
    """SpecAugment on the log-mel batch (on the training device)."""

    spec_augment: bool = False  # mask random frequency bands and time spans of each window
    freq_masks: int = 2  # frequency masks per window
    freq_mask_width: int = 27  # widest frequency mask, in mel bins
    time_masks: int = 2  # time masks per window
    time_mask_width: int = 100  # widest time mask, in 10 ms frames

    def validate(self, where: str) -> None:
        for name in ("freq_masks", "freq_mask_width", "time_masks", "time_mask_width"):
            check(getattr(self, name) >= 0, f"{where}.{name}", "must be >= 0")


@dataclass(frozen=True)
class OptimConfig:
    """AdamW (fused on CUDA) with warm-up then linear or cosine decay, clipping, accumulation."""

    lr: float = 1.5e-3  # peak learning rate (Whisper's paper: 1.5e-3 tiny, 1e-3 base, 5e-4 small)
    weight_decay: float = 0.1  # AdamW decay on matrices (not on biases, norms)
    betas: tuple[float, ...] = (0.9, 0.98)  # AdamW betas (Whisper's paper)
    eps: float = 1e-6  # AdamW epsilon (Whisper's paper)
    warmup_steps: int = 2048  # linear warm-up from 0 (Whisper's paper: 2048 updates)
    schedule: str = "linear"  # decay after warm-up: linear (Whisper's paper) or cosine
    min_lr_ratio: float = 0.0  # the decay ends at lr * min_lr_ratio on loop.max_steps
    clip_grad_norm: float = 1.0  # global gradient-norm clip; 0: off
    grad_accum: int = 1  # micro-batches per optimiser step (global batch = batch_size *
    #                      grad_accum * world size)

    def validate(self, where: str) -> None:
        check(self.lr > 0, f"{where}.lr", "must be > 0")
        check(self.weight_decay >= 0, f"{where}.weight_decay", "must be >= 0")
        check(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), f"{where}.betas",
              "must be two numbers in [0, 1)")
        check(self.eps > 0, f"{where}.eps", "must be > 0")
        check(self.warmup_steps >= 0, f"{where}.warmup_steps", "must be >= 0")
        check(self.schedule in SCHEDULES, f"{where}.schedule",
              f"must be one of {', '.join(SCHEDULES)}")
        check(0 <= self.min_lr_ratio <= 1, f"{where}.min_lr_ratio", "must be in [0, 1]")
        check(self.clip_grad_norm >= 0, f"{where}.clip_grad_norm", "must be >= 0")
        check(self.grad_accum >= 1, f"{where}.grad_accum", "must be >= 1")


@dataclass(frozen=True)
class LoopConfig:
    """The training loop: length, device and precision, logging, checkpoints."""

    out: str = ""  # directory for checkpoints, metrics.jsonl, eval results and model.pt
    max_steps: int = 10_000  # optimiser steps; every rank runs exactly this many
    stop_at_step: int = 0  # end this invocation after this step (a time slot); the schedule
    #                        still spans max_steps and a rerun resumes; 0: run to max_steps
    device: str = "auto"  # auto: CUDA when present, else CPU
    precision: str = "auto"  # auto: bf16 autocast on CUDA, fp32 on CPU
    log_every: int = 10  # steps between metric lines (stdout and metrics.jsonl)
    checkpoint_every: int = 1000  # steps between checkpoints (and one at the end); 0: end only
    keep_checkpoints: int = 2  # newest checkpoints kept on disk
    record_keys: bool = False  # write each trained segment's key to keys-rank{R}.jsonl (audits)
    seed: int = 0  # model initialisation and SpecAugment

    def validate(self, where: str) -> None:
        check(bool(self.out), f"{where}.out", "give an output directory")
        check(self.max_steps >= 1, f"{where}.max_steps", "must be >= 1")
        check(self.stop_at_step >= 0, f"{where}.stop_at_step", "must be >= 0")
        check(self.device in DEVICES, f"{where}.device", f"must be one of {', '.join(DEVICES)}")
        check(self.precision in PRECISIONS, f"{where}.precision",
              f"must be one of {', '.join(PRECISIONS)}")
        check(self.log_every >= 1, f"{where}.log_every", "must be >= 1")
        check(self.checkpoint_every >= 0, f"{where}.checkpoint_every", "must be >= 0")
        check(self.keep_checkpoints >= 1, f"{where}.keep_checkpoints", "must be >= 1")


@dataclass(frozen=True)
class EvalConfig:
    """Greedy decoding on held-out shards; WER/CER per language with Whisper's normalisers."""

    shards: tuple[str, ...] = ()  # shards.json files to evaluate on (besides data.holdout_shards)
    every: int = 1000  # steps between evaluations (and one at the end); 0: at the end only
    max_samples: int = 512  # segments decoded per evaluation
    batch_size: int = 16  # segments decoded together

    def validate(self, where: str) -> None:
        for i, path in enumerate(self.shards):
            check("://" in path or Path(path).is_file(), f"{where}.shards[{i}]",
                  f"no such file: {path}")
        check(self.every >= 0, f"{where}.every", "must be >= 0")
        check(self.max_samples >= 0, f"{where}.max_samples", "must be >= 0")
        check(self.batch_size >= 1, f"{where}.batch_size", "must be >= 1")


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``speechcurate train`` needs."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    targets: TargetConfig = field(default_factory=TargetConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def validate(self, where: str = "train") -> None:
        for f in dataclasses.fields(self):
            getattr(self, f.name).validate(f"{where}.{f.name}")

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))


def train_config(mapping: dict[str, Any] | None = None, /,
                 **sections: dict[str, Any]) -> TrainConfig:
    """Build and validate a :class:`TrainConfig` from a mapping (YAML) plus section overrides.

    ``train_config({"data": {...}}, loop={"max_steps": 5})`` merges field by field; errors name
    the field (``train.loop.max_steps``).
    """
    if mapping is not None and not isinstance(mapping, dict):
        raise ConfigError(f"train: expected a mapping, got {type(mapping).__name__}")
    merged: dict[str, Any] = {k: dict(v or {}) for k, v in (mapping or {}).items()}
    for name, values in sections.items():
        merged.setdefault(name, {}).update({k: v for k, v in values.items() if v is not None})
    return build(TrainConfig, merged, "train")


def replace(config: TrainConfig, **sections: dict[str, Any]) -> TrainConfig:
    """A copy of ``config`` with some fields of some sections changed, validated again."""
    return train_config(config.to_dict(), **sections)


__all__ = ["AugmentConfig", "ConfigError", "DataConfig", "EvalConfig", "LoopConfig",
           "ModelConfig", "OptimConfig", "TargetConfig", "TrainConfig", "replace", "train_config"]
