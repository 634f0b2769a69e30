"""Training on a tiny real curated run (CPU): a micro model overfits it and decodes a training
transcript exactly; a resumed run continues the loss curve step for step; two DDP ranks (gloo)
train on disjoint samples and end with identical weights."""

from __future__ import annotations

import json
import socket

import pytest
import torch
from conftest import micro_dims
from ddp_worker import run_rank

from pipelines.train.config import train_config
from pipelines.train.trainer import checkpoints, train

pytestmark = pytest.mark.slow
STEPS = 50


def losses(out):
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in rows if r["split"] == "train"}


def test_a_micro_model_overfits_the_run_and_decodes_a_transcript_exactly(run_dir, tmp_path,
                                                                          one_thread):
    import whisper

    index = str(run_dir / "manifest/shards.json")
    out = tmp_path / "overfit"
    config = train_config(
        model={"name": str(micro_dims(tmp_path / "dims.json", 4.0))},
        data={"shards": [index], "window_s": 4.0, "pack": "none", "batch_size": 4,
              "num_workers": 0, "shuffle_buffer": 0},
        targets={"timestamp_prob": 0.0, "prev_text_prob": 0.0, "no_speech_prob": 0.0},
        optim={"lr": 1e-2, "warmup_steps": 5, "schedule": "cosine", "weight_decay": 0.0},
        loop={"out": str(out), "max_steps": STEPS, "log_every": 1, "checkpoint_every": 0},
        eval={"shards": [index], "every": 0})
    result = train(config)
    curve = losses(out)
    assert len(curve) == STEPS
    assert curve[STEPS] <= curve[1] / 2, curve
    assert curve[1] < 12  # a fresh model starts near ln(51865) = 10.9, not at 40
    scores = result.evals[-1]["scores"]["en"]
    assert scores["exact"] >= 1, (out / f"eval/step-{STEPS:08d}.jsonl").read_text()
    rows = [json.loads(line) for line in (out / f"eval/step-{STEPS:08d}.jsonl").read_text()
            .splitlines()]
    assert any(r["hypothesis"] == r["reference"] for r in rows)
    # OUT/model.pt is an openai-whisper checkpoint
    model = whisper.load_model(str(out / "model.pt"), device="cpu")
    assert model.dims.n_audio_ctx == 200 and model.is_multilingual
    for key, value in model.state_dict().items():
        assert torch.equal(value, torch.load(out / "model.pt")["model_state_dict"][key])


def resume_config(run_dir, tmp_path, out, **loop):
    return train_config(
        model={"name": str(micro_dims(tmp_path / "dims8.json", 8.0))},
        data={"shards": [str(run_dir / "manifest/shards.json")], "window_s": 8.0,
              "pack": "language", "batch_size": 2, "num_workers": 2, "shuffle_buffer": 3},
        targets={"timestamp_prob": 0.5, "prev_text_prob": 0.5, "no_speech_prob": 0.3},
        augment={"spec_augment": True},
        optim={"lr": 3e-3, "warmup_steps": 2, "grad_accum": 1},
        loop={"out": str(out), "max_steps": 6, "log_every": 1, "checkpoint_every": 0, **loop},
        eval={"max_samples": 0})


def test_a_resumed_run_continues_the_loss_curve(run_dir, tmp_path, one_thread):
    straight = tmp_path / "straight"
    train(resume_config(run_dir, tmp_path, straight))
    split = tmp_path / "split"
    first = train(resume_config(run_dir, tmp_path, split, stop_at_step=3))
    assert first.steps == 3 and [p.name for p in checkpoints(split)] == ["step-00000003.pt"]
    state = torch.load(checkpoints(split)[0], weights_only=False)
    assert state["step"] == 3 and state["data"]["consumed_batches"] == 3
    assert {"model", "optimizer", "scheduler", "rng"} <= state.keys()
    assert not (split / "model.pt").exists()  # not finished yet
    second = train(resume_config(run_dir, tmp_path, split))
    assert second.steps == 6 and (split / "model.pt").exists()
    a, b = losses(straight), losses(split)
    assert sorted(b) == [1, 2, 3, 4, 5, 6]
    for step in range(1, 7):  # the same batches, the same updates: the same curve
        assert b[step] == pytest.approx(a[step], rel=1e-4, abs=1e-5), (step, a, b)
    assert b[4] < a[1]  # and not a restart from the initial loss


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ddp_ranks_train_on_disjoint_samples_and_end_identical(run_dir, tmp_path):
    import torch.multiprocessing as mp

    out = tmp_path / "ddp"
    out.mkdir()
    config = resume_config(run_dir, tmp_path, out).to_dict()
    config["data"].update(num_workers=0, pack="recording")
    config["loop"].update(max_steps=3, record_keys=True)
    mp.spawn(run_rank, args=(2, config, free_port()), nprocs=2, join=True)
    results = [json.loads((out / f"result-rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["steps"] for r in results] == [3, 3]  # equal steps: nobody waits on a dry rank
    seen = []
    for rank in (0, 1):
        rows = [json.loads(line) for line in (out / f"keys-rank{rank}.jsonl").read_text()
                .splitlines()]
        assert len(rows) == 3
        seen.append({(epoch, key) for row in rows for epoch, key in row["keys"]})
    assert seen[0] and seen[1] and not seen[0] & seen[1]
    for epoch in {e for e, _ in seen[0] | seen[1]}:  # within an epoch no sample is read twice
        keys0 = {k for e, k in seen[0] if e == epoch}
        keys1 = {k for e, k in seen[1] if e == epoch}
        assert not keys0 & keys1
    w0 = torch.load(out / "weights-rank0.pt")
    w1 = torch.load(out / "weights-rank1.pt")
    assert w0.keys() == w1.keys()
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    saved = torch.load(checkpoints(out)[-1], weights_only=False)["model"]  # written by rank 0
    assert all(torch.equal(saved[k], w0[k]) for k in w0)
