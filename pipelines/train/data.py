"""The training data path: shard index -> webdataset tar stream -> packed windows -> batches.

Everything per sample happens in DataLoader workers: reading tars (webdataset), language-balanced
sampling, packing, the shuffle buffer, targets (openai-whisper's tokenizer) and FLAC decoding.
A batch leaves the worker as int16 PCM (half the bytes of float32 through shared memory); the
log-mel features are computed on the training device, batched (``features.py``).

Splitting without duplicates and without hangs
    Each rank has ``num_workers`` workers, so there are ``world_size * num_workers`` readers
    ("slots"). Every epoch the shard list is permuted (seeded by the epoch) and slot ``s`` reads
    shards ``s, s + slots, ...``: no shard is read twice in an epoch. With fewer shards than
    slots every slot reads all shards and keeps the recordings whose CRC32 falls in its slot
    (whole recordings stay together for packing). The stream of every slot is infinite (epoch
    after epoch), and every rank runs exactly ``loop.max_steps * optim.grad_accum`` batches, so
    ranks never wait on one that ran out of data -- the hang webdataset users meet with uneven
    shards cannot happen.

Resuming at the same place
    The DataLoader takes batches from its workers round-robin, so after ``B`` batches worker
    ``w`` has produced ``ceil((B - w) / W)``. A resumed run rebuilds the same streams (all
    random choices are seeded by seed, slot and epoch), its worker ``w`` takes over the stream
    of the old worker ``(w + B) % W`` (the new loader starts asking at worker 0), and each
    skips that stream's batches before decoding any audio: the run continues exactly where the
    interrupted one was (tested with two workers).
"""

from __future__ import annotations

import io
import json
import logging
import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.train.config import SAMPLE_RATE, TrainConfig
from pipelines.train.packing import Packer, SegmentRef, Window
from pipelines.train.tokens import Piece, build_sequence, get_tokenizer, window_token_cost

log = logging.getLogger("speechcurate.train")
IGNORE = -100


@dataclass(frozen=True)
class Shard:
    url: str  # absolute path or URL of the tar
    nsamples: int
    index_path: str  # the shards.json it came from


def read_shard_index(path: str) -> list[Shard]:
    """The shards of a ``wids-shard-index-v1`` file; relative URLs resolve against its folder."""
    import fsspec

    with fsspec.open(path, "rt", encoding="utf-8") as fh:
        index = json.load(fh)
    if index.get("__kind__") != "wids-shard-index-v1":
        raise ValueError(f"{path}: not a wids shard index (__kind__ {index.get('__kind__')!r})")
    base = path.rsplit("/", 1)[0] if "/" in path else "."
    shards = []
    for entry in index["shardlist"]:
        url = entry["url"]
        if "://" not in url and not url.startswith("/"):
            url = f"{base}/{url}"
            if "://" not in url:
                url = str(Path(url).resolve())
        shards.append(Shard(url, int(entry.get("nsamples", 0)), path))
    return shards


def split_holdout(shards: list[Shard], holdout: int) -> tuple[list[Shard], list[Shard]]:
    if holdout and holdout >= len(shards):
        raise ValueError(f"data.holdout_shards: {holdout} would leave no training shard "
                         f"(there are {len(shards)})")
    return (shards[:-holdout], shards[-holdout:]) if holdout else (shards, [])


def language_hours(index_paths: tuple[str, ...]) -> dict[str, float]:
    """Hours per language from the ``segments.parquet`` next to each ``shards.json``."""
    import pyarrow.parquet as pq

    hours: dict[str, float] = {}
    for path in index_paths:
        segments = str(Path(path).parent / "segments.parquet") if "://" not in path else \
            path.rsplit("/", 1)[0] + "/segments.parquet"
        table = pq.read_table(segments, columns=["language", "duration"]).to_pydict()
        for lang, dur in zip(table["language"], table["duration"], strict=True):
            hours[lang or ""] = hours.get(lang or "", 0.0) + float(dur or 0.0) / 3600
    return hours


def language_acceptance(hours: dict[str, float], temperature: float) -> dict[str, float]:
    """Keep-probability per language so that sampled hours follow ``hours_l ** (1/T)``.

    Languages are down-sampled, never repeated within an epoch: the stream is endless, so the
    smaller languages simply come round more often relative to the large ones.
    """
    total = sum(hours.values())
    if temperature == 1.0 or total <= 0:
        return {lang: 1.0 for lang in hours}
    p = {lang: h / total for lang, h in hours.items() if h > 0}
    q_raw = {lang: v ** (1.0 / temperature) for lang, v in p.items()}
    z = sum(q_raw.values())
    ratio = {lang: (q_raw[lang] / z) / p[lang] for lang in p}
    top = max(ratio.values())
    return {lang: r / top for lang, r in ratio.items()}


def keep_tier(weights: dict[str, float], tier: Any, seed: int, epoch: int, key: str) -> bool:
    """Whether a segment of quality ``tier`` is sampled this epoch (``data.tier_weights``).

    Decided per segment, not per recording: a recording's segments can have different tiers. The
    draw changes with the epoch, so a down-weighted tier contributes different segments each time.
    """
    weight = weights.get(str(tier or ""), 1.0)
    return weight >= 1.0 or _unit(seed, "tier", epoch, key) < weight


def _unit(*parts: Any) -> float:
    """A reproducible number in [0, 1) from the parts (same on every machine and worker)."""
    return zlib.crc32("\x1f".join(map(str, parts)).encode()) / 2**32


def batches_before(consumed: int, worker: int, workers: int) -> int:
    """Batches worker ``worker`` of ``workers`` produced when ``consumed`` were taken."""
    if workers <= 0:
        return consumed
    return max(0, (consumed - worker + workers - 1) // workers)


def non_speech(samples: int, seed: int) -> np.ndarray:
    """Generated non-speech audio (int16): digital silence, or white/pink/brown noise at a
    random level from -75 to -20 dBFS (room tone to loud hiss)."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 4)
    if kind == 0:
        return np.zeros(samples, np.int16)
    white = rng.standard_normal(samples)
    if kind == 1:
        noise = white
    else:
        spectrum = np.fft.rfft(white)
        f = np.maximum(np.fft.rfftfreq(samples), 1.0 / samples)
        spectrum /= np.sqrt(f) if kind == 2 else f
        noise = np.fft.irfft(spectrum, samples)
    noise /= np.sqrt(np.mean(noise**2)) + 1e-12
    level = 10 ** (rng.uniform(-75, -20) / 20)
    return np.clip(noise * level * 32767, -32768, 32767).astype(np.int16)


class WindowStream:
    """An endless stream of training batches for one rank (a torch ``IterableDataset``).

    Built on the launcher; each DataLoader worker iterates its own slot of the shards.
    """

    def __init__(self, config: TrainConfig, shards: list[Shard], *, multilingual: bool,
                 num_languages: int, n_text_ctx: int, rank: int = 0, world_size: int = 1,
                 consumed_batches: int = 0, acceptance: dict[str, float] | None = None) -> None:
        self.config = config
        self.shards = shards
        self.multilingual = multilingual
        self.num_languages = num_languages
        self.n_text_ctx = n_text_ctx
        self.rank = rank
        self.world_size = world_size
        self.consumed_batches = consumed_batches
        self.acceptance = acceptance or {}
        if not shards:
            raise ValueError("no training shards")

    # -------------------------------------------------------------- torch protocol

    def as_dataset(self) -> Any:
        import torch

        stream = self

        class _Dataset(torch.utils.data.IterableDataset):
            def __iter__(self) -> Iterator[dict[str, Any]]:
                return iter(stream)

        return _Dataset()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        import torch

        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 0)
        # The DataLoader asks worker 0 first, also after a resume; the batch due next came
        # from worker (consumed % W) of the interrupted run, so worker w takes over the stream
        # of that run's worker (w + consumed) % W.
        role = (worker + self.consumed_batches) % workers if workers else 0
        slot = self.rank * max(workers, 1) + role
        slots = self.world_size * max(workers, 1)
        skip = batches_before(self.consumed_batches, role, workers)
        return self.batches(slot, slots, skip)

    # -------------------------------------------------------------- the stream

    def segments(self, epoch: int, slot: int, slots: int) -> Iterator[SegmentRef]:
        """This slot's segments of one epoch, in shard order, after language sampling."""
        import webdataset as wds
        from webdataset.tariterators import tarfile_samples

        data = self.config.data
        order = list(range(len(self.shards)))
        if data.shuffle_shards:
            random.Random(f"{data.seed}/shards/{epoch}").shuffle(order)
        tokenizer = get_tokenizer(self.multilingual, self.num_languages)
        languages = set(tokenizer.all_language_codes) if self.multilingual else {"en"}
        by_shard = len(self.shards) >= slots
        mine = order[slot::slots] if by_shard else order
        urls = [{"url": self.shards[i].url} for i in mine]
        for sample in tarfile_samples(urls, handler=wds.warn_and_continue):
            if "json" not in sample or "flac" not in sample:
                continue
            meta = json.loads(sample["json"])
            recording = str(meta.get("recording_id") or sample["__key__"])
            if not by_shard and zlib.crc32(recording.encode()) % slots != slot:
                continue
            language = str(meta.get("language") or "")
            if language not in languages:  # no language token for it (or an English-only model)
                continue
            keep = self.acceptance.get(language, 1.0)
            if keep < 1.0 and _unit(data.seed, "lang", epoch, recording) >= keep:
                continue
            if not keep_tier(data.tier_weights, meta.get("quality_tier"), data.seed, epoch,
                             sample["__key__"]):
                continue
            yield SegmentRef.from_meta(sample["__key__"], meta, audio=sample["flac"],
                                       epoch=epoch)

    def windows(self, slot: int, slots: int) -> Iterator[Window]:
        """Packed windows (and generated no-speech windows), epoch after epoch, endlessly.

        The packer is never flushed: the stream is one long stream, so the windows open at
        the end of an epoch are filled by the next one (on a small corpus, flushing every
        epoch would leave most of the last windows empty).
        """
        cfg = self.config
        tokenizer = get_tokenizer(self.multilingual, self.num_languages)
        rng = random.Random(f"{cfg.data.seed}/pack/{slot}/{slots}")
        packer = Packer(window_s=cfg.data.window_s, mode=cfg.data.pack,
                        max_gap_s=cfg.data.max_gap_s, join_gap_s=cfg.data.join_gap_s,
                        open_windows=cfg.data.open_windows,
                        max_tokens=self.n_text_ctx - 6,
                        token_cost=lambda text: window_token_cost(tokenizer, text),
                        prev_text_prob=cfg.targets.prev_text_prob, rng=rng)
        for epoch in count():
            seen = 0
            for segment in self.segments(epoch, slot, slots):
                seen += 1
                for window in packer.add(segment):
                    yield window
                    if rng.random() < cfg.targets.no_speech_prob:
                        yield Window("", "transcribe", no_speech=True, seed=rng.getrandbits(32))
            if seen == 0:
                raise RuntimeError(
                    f"data slot {slot} of {slots} (rank {self.rank}) found no training segment "
                    f"in epoch {epoch}: fewer recordings than ranks x workers, or every "
                    "segment was dropped (another language than the model's?); lower "
                    "data.num_workers")

    def batches(self, slot: int, slots: int, skip: int = 0) -> Iterator[dict[str, Any]]:
        cfg = self.config.data
        rng = random.Random(f"{cfg.seed}/shuffle/{slot}/{slots}")
        stream = shuffled(self.windows(slot, slots), cfg.shuffle_buffer, rng)
        batch: list[Window] = []
        produced = 0
        for window in stream:
            batch.append(window)
            if len(batch) < cfg.batch_size:
                continue
            produced += 1
            if produced > skip:
                yield self.collate(batch)
            batch = []

    # -------------------------------------------------------------- decoding

    def sequence(self, window: Window) -> Any:
        tokenizer = get_tokenizer(self.multilingual, self.num_languages)
        targets = self.config.targets
        rng = random.Random(window.seed)
        timestamps = rng.random() < targets.timestamp_prob
        pieces = [Piece(offset, offset + seg.duration, seg.text) for offset, seg in window.items]
        return build_sequence(tokenizer, language=window.language, task=window.task, pieces=pieces,
                              timestamps=timestamps, prev_text=window.prev_text,
                              no_speech=window.no_speech,
                              max_prev_tokens=targets.max_prev_tokens,
                              n_text_ctx=self.n_text_ctx)

    def audio(self, window: Window) -> np.ndarray:
        import soundfile as sf

        n = self.config.data.window_samples
        if window.no_speech:
            return non_speech(n, window.seed)
        out = np.zeros(n, np.int16)
        for offset, seg in window.items:
            pcm, rate = sf.read(io.BytesIO(seg.audio), dtype="int16", always_2d=True)
            if rate != SAMPLE_RATE:
                raise ValueError(f"{seg.key}: {rate} Hz audio; shards hold {SAMPLE_RATE} Hz")
            pcm = pcm[:, 0]
            at = int(round(offset * SAMPLE_RATE))
            take = min(len(pcm), n - at)
            out[at:at + take] = pcm[:take]
        return out

    def collate(self, windows: list[Window]) -> dict[str, Any]:
        import torch

        seqs = [self.sequence(w).inputs_and_labels(IGNORE) for w in windows]
        length = max(len(inp) for inp, _ in seqs)
        tokens = torch.full((len(seqs), length), 50257, dtype=torch.long)
        labels = torch.full((len(seqs), length), IGNORE, dtype=torch.long)
        for i, (inp, lab) in enumerate(seqs):
            tokens[i, :len(inp)] = torch.tensor(inp)
            labels[i, :len(lab)] = torch.tensor(lab)
        audio = torch.from_numpy(np.stack([self.audio(w) for w in windows]))
        speech = sum(w.speech_s for w in windows)
        return {
            "audio": audio, "tokens": tokens, "labels": labels,
            "speech_s": speech, "window_s": self.config.data.window_s * len(windows),
            "segments": sum(len(w.items) for w in windows),
            "no_speech": sum(w.no_speech for w in windows),
            "keys": [[seg.epoch, seg.key] for w in windows for _, seg in w.items],
        }


def shuffled(items: Iterator[Any], bufsize: int, rng: random.Random) -> Iterator[Any]:
    """A shuffle buffer: emits a random one of ``bufsize`` held items as each new one arrives."""
    if bufsize <= 1:
        yield from items
        return
    buffer: list[Any] = []
    for item in items:
        if len(buffer) < bufsize:
            buffer.append(item)
            continue
        i = rng.randrange(len(buffer))
        buffer[i], item = item, buffer[i]
        yield item
    rng.shuffle(buffer)
    yield from buffer


def make_loader(stream: WindowStream, *, pin_memory: bool = False) -> Any:
    """A DataLoader over the stream: batches are built in the workers (batch_size=None)."""
    import torch

    workers = stream.config.data.num_workers
    kwargs: dict[str, Any] = {}
    if workers:
        kwargs = {"prefetch_factor": stream.config.data.prefetch_factor,
                  "persistent_workers": True}
    return torch.utils.data.DataLoader(stream.as_dataset(), batch_size=None,
                                       num_workers=workers, pin_memory=pin_memory, **kwargs)


# ---------------------------------------------------------------------------- evaluation data


def eval_samples(shards: list[Shard], max_samples: int) -> Iterator[tuple[str, dict, np.ndarray]]:
    """(key, metadata, float32 audio) of held-out segments in shard order, at most max_samples."""
    import soundfile as sf
    import webdataset as wds
    from webdataset.tariterators import tarfile_samples

    if max_samples <= 0:
        return
    n = 0
    for sample in tarfile_samples(({"url": s.url} for s in shards),
                                         handler=wds.warn_and_continue):
        if "json" not in sample or "flac" not in sample:
            continue
        audio, _ = sf.read(io.BytesIO(sample["flac"]), dtype="float32")
        yield sample["__key__"], json.loads(sample["json"]), audio
        n += 1
        if n >= max_samples:
            return

