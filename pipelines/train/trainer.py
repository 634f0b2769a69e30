"""The training loop: DDP, bf16 autocast, fused AdamW, accumulation, schedule, checkpoints, eval.

One process per device (``torchrun`` sets RANK/WORLD_SIZE/LOCAL_RANK; a single process needs
nothing). Every rank runs exactly ``loop.max_steps`` optimiser steps of ``optim.grad_accum``
micro-batches from its own endless slice of the shards (``data.py``), so no rank waits for one
that ran dry. Gradients are all-reduced once per step (``no_sync`` on the other micro-batches).

Checkpoints (``OUT/checkpoints/step-NNNNNNNN.pt``, written to a temporary name and renamed) hold
the model, optimiser, scheduler, step, the data position (batches consumed and the reader
layout that produced them) and the RNG states; a rerun with the same ``--out`` resumes from the
newest and continues the loss curve. ``OUT/model.pt`` is the final model in openai-whisper's
format. Metrics go to stdout and ``OUT/metrics.jsonl`` (and TensorBoard under ``OUT/tb`` when
it is installed); evaluation hypotheses to ``OUT/eval/step-NNNNNNNN.jsonl``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.train.config import TrainConfig

log = logging.getLogger("speechcurate.train")


@dataclass
class TrainResult:
    steps: int  # the step the run ended at
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, loss) as logged
    evals: list[dict[str, Any]] = field(default_factory=list)
    padded_share: float = 0.0  # share of window audio that was padding (whole run)
    out: str = ""


def lr_lambda(step: int, warmup: int, total: int, schedule: str, min_ratio: float) -> float:
    """Learning-rate factor at ``step``: linear warm-up, then linear or cosine decay."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    span = max(1, total - warmup)
    progress = min(1.0, (step - warmup) / span)
    if schedule == "cosine":
        decay = 0.5 * (1.0 + math.cos(math.pi * progress))
    else:
        decay = 1.0 - progress
    return min_ratio + (1.0 - min_ratio) * decay


def checkpoints(out: Path) -> list[Path]:
    return sorted((out / "checkpoints").glob("step-*.pt"))


def _atomic_save(obj: Any, path: Path) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


class Trainer:
    """Holds the model, optimiser, data and state of one rank; :meth:`run` trains."""

    def __init__(self, config: TrainConfig, *, rank: int | None = None,
                 world_size: int | None = None, local_rank: int | None = None) -> None:
        self.config = config
        self.rank = int(os.environ.get("RANK", 0)) if rank is None else rank
        self.world_size = int(os.environ.get("WORLD_SIZE", 1)) if world_size is None \
            else world_size
        self.local_rank = int(os.environ.get("LOCAL_RANK", self.rank)) if local_rank is None \
            else local_rank
        self.out = Path(config.loop.out)
        self.step = 0
        self.consumed = 0  # micro-batches this rank has taken from its data stream
        self.tb = None

    # ------------------------------------------------------------------ setup

    def setup(self) -> None:
        import torch

        from pipelines.train.data import (
            WindowStream,
            language_acceptance,
            language_hours,
            read_shard_index,
            split_holdout,
        )
        from pipelines.train.model import build_model, num_languages

        cfg = self.config
        use_cuda = cfg.loop.device == "cuda" or (cfg.loop.device == "auto"
                                                 and torch.cuda.is_available())
        if cfg.loop.device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("train.loop.device: cuda asked for but no CUDA device is visible")
        self.device = torch.device(f"cuda:{self.local_rank}" if use_cuda else "cpu")
        if use_cuda:
            torch.cuda.set_device(self.device)
        self.bf16 = cfg.loop.precision == "bf16" or (cfg.loop.precision == "auto" and use_cuda)
        if self.world_size > 1 and not torch.distributed.is_initialized():
            torch.distributed.init_process_group("nccl" if use_cuda else "gloo",
                                                 rank=self.rank, world_size=self.world_size)
        torch.manual_seed(cfg.loop.seed)
        model = build_model(cfg.model)
        frames = model.dims.n_audio_ctx * 2
        if frames != cfg.data.window_frames:
            raise ValueError(
                f"train.data.window_s: {cfg.data.window_s} s makes {cfg.data.window_frames} mel "
                f"frames but the model's n_audio_ctx {model.dims.n_audio_ctx} needs {frames} "
                f"({frames / 100:g} s)")
        self.model = model.to(self.device)
        self.dims = model.dims
        self.multilingual = model.is_multilingual
        self.num_languages = num_languages(model.dims)

        decay = [p for p in model.parameters() if p.ndim >= 2]
        no_decay = [p for p in model.parameters() if p.ndim < 2]
        groups = [{"params": decay, "weight_decay": cfg.optim.weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}]
        self.optimizer = torch.optim.AdamW(groups, lr=cfg.optim.lr, betas=tuple(cfg.optim.betas),
                                           eps=cfg.optim.eps, fused=use_cuda)
        o = cfg.optim
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_lambda(s, o.warmup_steps, cfg.loop.max_steps,
                                                o.schedule, o.min_lr_ratio))
        self.augment_rng = torch.Generator().manual_seed(cfg.loop.seed + 1000 * self.rank + 1)
        self.resumed_from = self._resume()

        shards = [s for path in cfg.data.shards for s in read_shard_index(path)]
        self.train_shards, holdout = split_holdout(shards, cfg.data.holdout_shards)
        self.eval_shards = holdout + [s for p in cfg.eval.shards for s in read_shard_index(p)]
        acceptance = None
        if cfg.data.language_temperature != 1.0:
            acceptance = language_acceptance(language_hours(cfg.data.shards),
                                             cfg.data.language_temperature)
            if self.rank == 0:
                log.info("language sampling (T=%g): keep %s", cfg.data.language_temperature,
                         {k: round(v, 3) for k, v in sorted(acceptance.items())})
        self.stream = WindowStream(cfg, self.train_shards, multilingual=self.multilingual,
                                   num_languages=self.num_languages,
                                   n_text_ctx=self.dims.n_text_ctx, rank=self.rank,
                                   world_size=self.world_size, consumed_batches=self.consumed,
                                   acceptance=acceptance)
        self.train_model = self.model
        if self.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel

            # whisper's alignment_heads buffer is a constant sparse tensor: nothing to sync
            self.train_model = DistributedDataParallel(
                self.model, device_ids=[self.device.index] if use_cuda else None,
                broadcast_buffers=False)
        if cfg.model.compile:
            self.train_model = torch.compile(self.train_model)
        if self.rank == 0:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n",
                                                  encoding="utf-8")
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(self.out / "tb"))
            except ImportError:
                self.tb = None

    def _resume(self) -> str:
        import torch

        found = checkpoints(self.out)
        if not found:
            return ""
        path = found[-1]
        state = torch.load(path, map_location="cpu", weights_only=False)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step = int(state["step"])
        data = state["data"]
        layout = {"world_size": self.world_size, "num_workers": self.config.data.num_workers,
                  "batch_size": self.config.data.batch_size, "seed": self.config.data.seed}
        self.consumed = int(data["consumed_batches"])
        if {k: data.get(k) for k in layout} != layout:
            log.warning("resuming with a different data layout (%s, was %s): the data order "
                        "does not continue exactly", layout,
                        {k: data.get(k) for k in layout})
        rng = state.get("rng", {})
        if "augment" in rng:
            self.augment_rng.set_state(rng["augment"])
        if self.rank == 0:
            log.info("resumed from %s (step %d)", path, self.step)
        return str(path)

    # ------------------------------------------------------------------ helpers

    def autocast(self) -> Any:
        import torch

        if self.bf16:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def save_checkpoint(self) -> Path | None:
        if self.rank != 0:
            return None
        cfg = self.config
        path = self.out / "checkpoints" / f"step-{self.step:08d}.pt"
        _atomic_save({
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "step": self.step,
            "data": {"consumed_batches": self.consumed, "world_size": self.world_size,
                     "num_workers": cfg.data.num_workers, "batch_size": cfg.data.batch_size,
                     "seed": cfg.data.seed},
            "rng": {"augment": self.augment_rng.get_state()},
            "dims": self.dims.__dict__,
            "config": cfg.to_dict(),
        }, path)
        for old in checkpoints(self.out)[:-cfg.loop.keep_checkpoints]:
            old.unlink(missing_ok=True)
        return path

    def write_metrics(self, row: dict[str, Any]) -> None:
        if self.rank != 0:
            return
        with open(self.out / "metrics.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
        if self.tb is not None:
            for k, v in row.items():
                if isinstance(v, int | float) and k != "step":
                    self.tb.add_scalar(f"{row.get('split', 'train')}/{k}", v, row["step"])

    def barrier(self) -> None:
        import torch

        if self.world_size > 1:
            torch.distributed.barrier()

    def evaluate(self) -> dict[str, Any] | None:
        """Greedy decoding of the held-out shards on rank 0 (the others wait)."""
        from pipelines.train.data import eval_samples
        from pipelines.train.evaluate import evaluate

        cfg = self.config
        result = None
        if self.rank == 0 and self.eval_shards and cfg.eval.max_samples:
            t0 = time.time()
            scores = evaluate(self.model, eval_samples(self.eval_shards, cfg.eval.max_samples),
                              window_s=cfg.data.window_s, batch_size=cfg.eval.batch_size,
                              device=self.device, autocast=self.autocast,
                              out_path=self.out / "eval" / f"step-{self.step:08d}.jsonl")
            for name, s in scores.items():
                print(f"eval step {self.step}: {name} WER {s['wer']:.3f} CER {s['cer']:.3f} "
                      f"exact {s['exact']}/{s['n']}", flush=True)
                self.write_metrics({"split": "eval", "step": self.step, "language": name, **s})
            result = {"step": self.step, "scores": scores, "seconds": time.time() - t0}
        self.barrier()
        return result

    # ------------------------------------------------------------------ the loop

    def run(self) -> TrainResult:
        import torch
        import torch.nn.functional as F

        from pipelines.train.data import make_loader
        from pipelines.train.features import log_mel, pcm_to_float, spec_augment
        from pipelines.train.model import train_flops, whisper_checkpoint

        cfg = self.config
        result = TrainResult(steps=self.step, out=str(self.out))
        stop = min(cfg.loop.stop_at_step or cfg.loop.max_steps, cfg.loop.max_steps)
        if self.step >= stop:
            if self.rank == 0:
                log.info("nothing to do: at step %d (stop at %d)", self.step, stop)
            return result
        loader = iter(make_loader(self.stream, pin_memory=self.device.type == "cuda"))
        keys_file = None
        if cfg.loop.record_keys:
            self.out.mkdir(parents=True, exist_ok=True)
            keys_file = open(self.out / f"keys-rank{self.rank}.jsonl", "a", encoding="utf-8")
        window: dict[str, Any] = {"loss": 0.0, "n": 0, "speech": 0.0, "audio": 0.0,
                                  "wait": 0.0, "windows": 0, "flops": 0.0, "t0": time.time(),
                                  "segments": 0}
        total_speech = total_audio = 0.0
        self.train_model.train()
        while self.step < stop:
            for micro in range(cfg.optim.grad_accum):
                t_wait = time.perf_counter()
                batch = next(loader)
                window["wait"] += time.perf_counter() - t_wait
                self.consumed += 1
                audio = pcm_to_float(batch["audio"].to(self.device, non_blocking=True))
                tokens = batch["tokens"].to(self.device, non_blocking=True)
                labels = batch["labels"].to(self.device, non_blocking=True)
                mel = spec_augment(log_mel(audio, self.dims.n_mels), cfg.augment,
                                   self.augment_rng)
                sync = micro == cfg.optim.grad_accum - 1 or self.world_size == 1
                ctx = contextlib.nullcontext() if sync else self.train_model.no_sync()
                with ctx:
                    with self.autocast():
                        logits = self.train_model(mel, tokens)
                    loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]),
                                           labels.reshape(-1), ignore_index=-100)
                    (loss / cfg.optim.grad_accum).backward()
                window["loss"] += loss.detach()  # stays on the device until a log line
                window["n"] += 1
                window["speech"] += batch["speech_s"]
                window["audio"] += batch["window_s"]
                window["windows"] += tokens.shape[0]
                window["segments"] += batch["segments"]
                window["flops"] += tokens.shape[0] * train_flops(self.dims, tokens.shape[1])
                if keys_file is not None:
                    keys_file.write(json.dumps({"step": self.step, "keys": batch["keys"]}) + "\n")
            grad_norm = 0.0
            if cfg.optim.clip_grad_norm:
                grad_norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(),
                                                                 cfg.optim.clip_grad_norm))
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.step += 1
            if self.step % cfg.loop.log_every == 0 or self.step == stop:
                total_speech += window["speech"]
                total_audio += window["audio"]
                self._log(window, grad_norm, result)
                window = {k: 0.0 for k in window} | {"t0": time.time()}
            if cfg.loop.checkpoint_every and self.step % cfg.loop.checkpoint_every == 0 \
                    and self.step < stop:
                self.save_checkpoint()
                self.barrier()
            if cfg.eval.every and self.step % cfg.eval.every == 0 and self.step < stop:
                evaluated = self.evaluate()
                if evaluated:
                    result.evals.append(evaluated)
        if keys_file is not None:
            keys_file.close()
        self.save_checkpoint()
        self.barrier()
        evaluated = self.evaluate()
        if evaluated:
            result.evals.append(evaluated)
        if self.rank == 0 and self.step >= cfg.loop.max_steps:
            _atomic_save(whisper_checkpoint(self.model), self.out / "model.pt")
        result.steps = self.step
        result.padded_share = 1.0 - total_speech / total_audio if total_audio else 0.0
        if self.rank == 0:
            print(f"train: step {self.step}; padded share of window audio "
                  f"{result.padded_share:.1%}; output {self.out}", flush=True)
        return result

    def _log(self, window: dict[str, float], grad_norm: float, result: TrainResult) -> None:
        import torch

        loss_sum = torch.as_tensor(window["loss"], device=self.device, dtype=torch.float32)
        loss_mean = loss_sum.reshape(1) / max(window["n"], 1)
        if self.world_size > 1:  # the mean over ranks (one all-reduce per log line)
            torch.distributed.all_reduce(loss_mean)
            loss_mean /= self.world_size
        loss = float(loss_mean)
        elapsed = max(time.time() - window["t0"], 1e-9)
        row = {
            "split": "train", "step": self.step, "loss": round(loss, 5),
            "lr": self.scheduler.get_last_lr()[0], "grad_norm": round(grad_norm, 4),
            "windows_per_s": round(window["windows"] * self.world_size / elapsed, 3),
            "segments": int(window["segments"]),
            "speech_hours_per_hour": round(window["speech"] * self.world_size / elapsed, 3),
            "padded_share": round(1.0 - window["speech"] / window["audio"], 4)
            if window["audio"] else 0.0,
            "data_wait_share": round(window["wait"] / elapsed, 4),
            "model_tflops_per_s": round(window["flops"] * self.world_size / elapsed / 1e12, 4),
            "seconds": round(elapsed, 3),
        }
        result.losses.append((self.step, loss))
        self.write_metrics(row)
        if self.rank == 0:
            print(f"step {self.step}: loss {loss:.4f} lr {row['lr']:.2e} "
                  f"padded {row['padded_share']:.1%} data-wait {row['data_wait_share']:.1%} "
                  f"{row['windows_per_s']:.1f} windows/s", flush=True)

    def close(self) -> None:
        import torch

        if self.tb is not None:
            self.tb.close()
        if self.world_size > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def train(config: TrainConfig, *, rank: int | None = None, world_size: int | None = None,
          local_rank: int | None = None) -> TrainResult:
    """Train (or resume) with ``config``; on several ranks when started by torchrun."""
    trainer = Trainer(config, rank=rank, world_size=world_size, local_rank=local_rank)
    try:
        trainer.setup()
        return trainer.run()
    finally:
        trainer.close()
