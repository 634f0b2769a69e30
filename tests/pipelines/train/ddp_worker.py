"""One rank of the two-rank DDP test (started by torch.multiprocessing.spawn)."""

from __future__ import annotations

import json
import os
from pathlib import Path


def run_rank(rank: int, world_size: int, config: dict, port: int) -> None:
    import torch

    from pipelines.train.config import train_config
    from pipelines.train.trainer import Trainer

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    trainer = Trainer(train_config(config), rank=rank, world_size=world_size, local_rank=rank)
    try:
        trainer.setup()
        result = trainer.run()
        out = Path(config["loop"]["out"])
        torch.save(trainer.model.state_dict(), out / f"weights-rank{rank}.pt")
        (out / f"result-rank{rank}.json").write_text(json.dumps(
            {"steps": result.steps, "consumed": trainer.consumed}))
    finally:
        trainer.close()
