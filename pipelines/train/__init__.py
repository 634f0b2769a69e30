"""Whisper-style weakly-supervised training on curated shards (``speechcurate train``).

The trainer closes the loop from ``RUN/manifest/shards.json`` to a model: openai-whisper's own
model code (``whisper.model.Whisper`` from ``ModelDimensions``), tokenizer, mel filters,
decoding and text normalisers, so a trained ``OUT/model.pt`` loads with ``whisper.load_model``
and its targets are exactly what Whisper's decoder expects.

Modules (none imports torch at import time, so the CLI stays fast):

* ``config``   -- one frozen dataclass per concern, validated with messages naming the field;
* ``data``     -- shard index -> webdataset tar stream -> packed windows -> int16 batches, split
                  across ranks and workers without duplicates, endless, resumable in place;
* ``packing``  -- consecutive segments of a recording into 30 s windows (pure Python);
* ``tokens``   -- Whisper-paper targets (SOT, language, task, timestamps, previous text,
                  no-speech) with openai-whisper's tokenizer;
* ``features`` -- batched log-mel on the training device (whisper's filters), SpecAugment;
* ``model``    -- dimensions (tiny/base/small/dims.json), initialisation, training FLOPs;
* ``trainer``  -- the loop: DDP, bf16 autocast, fused AdamW, accumulation, warm-up + decay,
                  clipping, torch.compile, checkpoints, metrics;
* ``evaluate`` -- greedy decoding, WER/CER per language with Whisper's normalisers + jiwer;
* ``cli``      -- ``add_train_parser``; ``python -m pipelines.train`` for torchrun.

Measured (README, "Training on the shards"): packing segments of one language into 30 s windows
as an endless stream leaves 12.4% of the encoder's input as padding on a run of the real-speech
set (66 segments, 11 languages; one segment a window: 59.9%) and 22.1% on the demo run (three
segments of 7.7-14.7 s that cannot tile 30 s); a micro model overfits the tiny test run and
decodes its training transcripts exactly in 40 CPU steps.
"""
