"""Training throughput of ``speechcurate train`` on a GPU: samples/s, audio hours per GPU hour,
model FLOPs utilisation (MFU) and the share of time the GPU waits for data.

It runs the real trainer (``pipelines.train.trainer.train``: the DataLoader workers reading
tars, FLAC decoding, packing, targets; log-mel, bf16 autocast, fused AdamW on the device) for
``--warmup`` untimed steps and ``--steps`` timed ones, one metric line per step, and summarises
the timed steps:

* samples/s: 30 s training windows per second (all GPUs);
* audio hours per GPU hour: hours of *speech* trained per hour of one GPU (padding excluded;
  the padded share is printed too);
* MFU: model FLOPs per second (``pipelines.train.model.train_flops``: matrix multiplies of the
  forward pass x 3, the usual convention) over the GPU's dense bf16 peak (a table of common
  GPUs, or ``--peak-tflops``);
* data wait: the share of wall time the loop spent in ``next(loader)``; near 0 means the data
  path keeps up with the GPU.

Anchor from the issue: at 25% MFU an H100 trains Whisper base at roughly 700 windows of 30 s per
second (train_flops(base, ~100 tokens) is ~0.33 TFLOP a window: 700/s is ~23% of 989 TFLOP/s).

Data: ``--shards RUN/manifest/shards.json``, or synthetic shards (noise-modulated tones with
random words, 2-20 s segments in 60-segment tars) generated into a temporary directory. Usage:

    .venv/bin/python benchmarks/train_gpu.py --model base --batch-size 64 --num-workers 8
    .venv/bin/python benchmarks/train_gpu.py --shards runs/r1/manifest/shards.json
    .venv/bin/python benchmarks/train_gpu.py --smoke        # CPU, micro model, a few steps
    .venv/bin/python benchmarks/train_gpu.py --shards S --packing    # padded share per mode
    .venv/bin/python benchmarks/train_gpu.py --shards S --data-only  # the data path alone
    torchrun --nproc_per_node 8 benchmarks/train_gpu.py ... # all GPUs of a node
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# dense bf16 tensor-core peaks, TFLOP/s (vendor data sheets, SXM parts where both exist)
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0,
               "A10G": 125.0, "A10": 125.0, "RTX 4090": 165.0, "RTX 6000 Ada": 364.0}
WORDS = ("speech data model window sound voice train token audio crawl shard label time "
         "language corpus text filter night river stone light green small large early").split()


def synthetic_run(directory: Path, segments: int, seed: int = 0) -> Path:
    """Write ``segments`` synthetic 16 kHz FLAC segments with texts as a run's shards."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(seed)
    (directory / "shards").mkdir(parents=True)
    (directory / "manifest").mkdir()
    shardlist, per_shard = [], 60
    for s in range(0, segments, per_shard):
        name = f"shard-{s // per_shard:06d}.tar"
        path = directory / "shards" / name
        with tarfile.open(path, "w") as tar:
            for i in range(s, min(s + per_shard, segments)):
                recording, index = f"{i // 4:016x}", i % 4
                key = f"{recording}-{index:05d}"
                duration = float(rng.uniform(2.0, 20.0))
                t = np.arange(int(duration * 16000)) / 16000
                tone = np.sin(2 * np.pi * rng.uniform(100, 400) * t)
                audio = (0.3 * tone * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
                         + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
                flac = io.BytesIO()
                sf.write(flac, audio, 16000, format="FLAC")
                text = " ".join(rng.choice(WORDS, size=max(1, int(duration * 2.5))))
                meta = {"segment_id": key, "recording_id": recording, "index": index,
                        "start": index * 21.0, "end": index * 21.0 + duration,
                        "duration": duration, "text": text.capitalize() + ".",
                        "language": "en", "task": "transcribe"}
                for ext, data in (("flac", flac.getvalue()), ("json", json.dumps(meta).encode())):
                    info = tarfile.TarInfo(f"{key}.{ext}")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        shardlist.append({"url": f"../shards/{name}", "nsamples": min(per_shard, segments - s),
                          "filesize": path.stat().st_size})
    index_path = directory / "manifest" / "shards.json"
    index_path.write_text(json.dumps({"__kind__": "wids-shard-index-v1", "wids_version": 1,
                                      "name": "synthetic", "shardlist": shardlist}))
    return index_path


def micro_dims(path: Path) -> str:
    dims = {"n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 64, "n_audio_head": 2,
            "n_audio_layer": 1, "n_vocab": 51865, "n_text_ctx": 448, "n_text_state": 64,
            "n_text_head": 2, "n_text_layer": 1}
    path.write_text(json.dumps(dims))
    return str(path)


def peak_tflops(args: argparse.Namespace) -> tuple[str, float | None]:
    import torch

    if not torch.cuda.is_available():
        return "CPU", args.peak_tflops
    name = torch.cuda.get_device_name()
    if args.peak_tflops:
        return name, args.peak_tflops
    for key, value in PEAK_TFLOPS.items():
        if key in name:
            return name, value
    return name, None


def packing_report(shards: str, window_s: float = 30.0, epochs: int = 20) -> None:
    """Padded share per packing mode (no audio is decoded): for one epoch packed alone, and
    for ``epochs`` epochs packed as the trainer does (one endless stream, windows carried
    over epoch boundaries; the last, unfinished windows left out)."""
    import random

    from pipelines.train.config import train_config
    from pipelines.train.data import WindowStream, read_shard_index
    from pipelines.train.packing import Packer
    from pipelines.train.tokens import get_tokenizer, window_token_cost

    tokenizer = get_tokenizer(True, 99)
    for mode in ("none", "recording", "language"):
        config = train_config(data={"shards": [shards], "pack": mode, "window_s": window_s,
                                    "shuffle_shards": False}, loop={"out": "unused"})
        stream = WindowStream(config, read_shard_index(shards), multilingual=True,
                              num_languages=99, n_text_ctx=448)

        kwargs = {"window_s": window_s, "mode": mode, "max_gap_s": config.data.max_gap_s,
                  "join_gap_s": config.data.join_gap_s,
                  "open_windows": config.data.open_windows, "max_tokens": 442,
                  "token_cost": lambda text: window_token_cost(tokenizer, text)}
        one = Packer(rng=random.Random(0), **kwargs)
        windows = list(one.pack(stream.segments(0, 0, 1)))
        endless = Packer(rng=random.Random(0), **kwargs)
        for epoch in range(epochs):
            for seg in stream.segments(epoch, 0, 1):
                list(endless.add(seg))
        st, es = one.stats, endless.stats
        print(f"pack {mode:9s} {st.segments} segments, {st.speech_s / 60:.1f} min of speech, "
              f"windows of {window_s:g} s: one epoch {len(windows)} windows, padded "
              f"{st.padded_share:.1%}; endless stream ({epochs} epochs) {es.windows} windows, "
              f"padded {es.padded_share:.1%}"
              f"{f'; dropped {st.dropped}' if st.dropped else ''}")


def data_only(shards: str, batch_size: int, workers: int, batches: int) -> None:
    """Windows per second the DataLoader delivers (tars, FLAC, packing, targets) alone."""
    from pipelines.train.config import train_config
    from pipelines.train.data import WindowStream, make_loader, read_shard_index

    config = train_config(data={"shards": [shards], "batch_size": batch_size,
                                "num_workers": workers}, loop={"out": "unused"})
    stream = WindowStream(config, read_shard_index(shards), multilingual=True,
                          num_languages=99, n_text_ctx=448)
    loader = iter(make_loader(stream))
    next(loader)  # workers started
    t0 = time.perf_counter()
    speech = 0.0
    for _ in range(batches):
        speech += next(loader)["speech_s"]
    seconds = time.perf_counter() - t0
    print(f"data path: {batches * batch_size / seconds:.1f} windows/s, "
          f"{speech / seconds * 1:.0f} s of speech per s, with {workers} worker(s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", default=None, help="a run's manifest/shards.json "
                        "(default: synthetic shards)")
    parser.add_argument("--model", default="base", help="tiny | base | small | dims.json")
    parser.add_argument("--batch-size", type=int, default=64, help="windows per GPU per step")
    parser.add_argument("--num-workers", type=int, default=8, help="DataLoader workers per GPU")
    parser.add_argument("--steps", type=int, default=30, help="timed steps")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument("--pack", default="language", help="none | recording | language")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--synthetic-segments", type=int, default=2000)
    parser.add_argument("--peak-tflops", type=float, default=None,
                        help="the device's dense bf16 peak (default: from a table by GPU name)")
    parser.add_argument("--smoke", action="store_true",
                        help="CPU smoke run: micro model, batch 2, 2 workers, 3 + 1 steps")
    parser.add_argument("--out", default=None, help="keep the trainer's output here")
    parser.add_argument("--packing", action="store_true",
                        help="only print the padded share per packing mode for --shards")
    parser.add_argument("--data-only", action="store_true",
                        help="only time the DataLoader (no model) for --steps batches")
    args = parser.parse_args()
    if args.packing or args.data_only:
        if not args.shards:
            parser.error("--packing and --data-only need --shards")
        if args.packing:
            packing_report(args.shards)
        if args.data_only:
            data_only(args.shards, args.batch_size, args.num_workers, args.steps)
        return 0

    import torch

    from pipelines.train.config import train_config
    from pipelines.train.trainer import train

    rank = int(os.environ.get("RANK", 0))
    work = Path(args.out or tempfile.mkdtemp(prefix="train-gpu-"))
    model = args.model
    if args.smoke:
        args.batch_size, args.num_workers, args.steps, args.warmup = 2, 2, 3, 1
        args.synthetic_segments = min(args.synthetic_segments, 120)
        model = micro_dims(work / "micro.json")
        torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    shards = args.shards
    if shards is None:
        data_dir = work / "synthetic"
        ready = data_dir / "manifest" / "shards.json"
        if rank == 0 and not ready.exists():
            t0 = time.time()
            synthetic_run(data_dir, args.synthetic_segments)
            print(f"synthetic shards: {args.synthetic_segments} segments in "
                  f"{time.time() - t0:.1f} s", flush=True)
        while not ready.exists():  # other ranks wait for rank 0's shards
            time.sleep(0.5)
        shards = str(ready)
    steps = args.warmup + args.steps
    config = train_config(
        model={"name": model, "compile": args.compile},
        data={"shards": [shards], "batch_size": args.batch_size,
              "num_workers": args.num_workers, "pack": args.pack, "shuffle_buffer": 64},
        optim={"warmup_steps": 10},
        loop={"out": str(work / "train"), "max_steps": steps, "log_every": 1,
              "checkpoint_every": 0, "device": "cpu" if args.smoke else "auto"},
        eval={"max_samples": 0})
    t0 = time.time()
    train(config)
    if rank != 0:
        return 0
    rows = [json.loads(line) for line in (work / "train" / "metrics.jsonl").read_text()
            .splitlines()]
    timed = [r for r in rows if r["split"] == "train" and r["step"] > args.warmup]
    seconds = sum(r["seconds"] for r in timed)
    windows = sum(r["windows_per_s"] * r["seconds"] for r in timed)
    speech_h = sum(r["speech_hours_per_hour"] * r["seconds"] for r in timed) / 3600
    tflop = sum(r["model_tflops_per_s"] * r["seconds"] for r in timed)
    wait = sum(r["data_wait_share"] * r["seconds"] for r in timed) / seconds
    padded = sum(r["padded_share"] for r in timed) / len(timed)
    gpus = int(os.environ.get("WORLD_SIZE", 1))
    device, peak = peak_tflops(args)
    mfu = tflop / seconds / (peak * gpus) if peak else None
    print(f"\ndevice            {device} x {gpus}")
    print(f"model             {args.model if not args.smoke else 'micro (smoke)'}, batch "
          f"{args.batch_size}/GPU, {args.num_workers} workers/GPU, pack {args.pack}"
          f"{', compiled' if args.compile else ''}")
    print(f"timed             {len(timed)} steps, {seconds:.1f} s (after {args.warmup} warm-up; "
          f"whole run {time.time() - t0:.1f} s)")
    print(f"samples/s         {windows / seconds:.1f} windows of {config.data.window_s:g} s")
    print(f"audio h / GPU h   {speech_h / (seconds / 3600) / gpus:.1f} (speech; padded share "
          f"{padded:.1%})")
    print(f"model TFLOP/s     {tflop / seconds:.2f}")
    print(f"MFU               {f'{mfu:.1%} of {peak:g} TFLOP/s' if mfu is not None else 'n/a'}")
    print(f"data wait         {wait:.1%} of wall time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
