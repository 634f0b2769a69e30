"""Reading a run's shards back in tests: every sample's decoded audio and JSON metadata."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np

from filters.audio import decode_flac


def shard_samples(run: Path) -> dict[str, tuple[np.ndarray, dict]]:
    """{key: (audio, JSON metadata)} of every sample in the run's shards."""
    out: dict[str, dict] = {}
    for shard in sorted((run / "shards").glob("*.tar")):
        with tarfile.open(shard) as tar:
            for member in tar.getmembers():
                key, ext = member.name.split(".", 1)
                out.setdefault(key, {})[ext] = tar.extractfile(member).read()
    return {k: (decode_flac(v["flac"]), json.loads(v["json"])) for k, v in out.items()}
