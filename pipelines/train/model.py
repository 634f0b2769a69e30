"""The model: openai-whisper's ``Whisper`` built from ``ModelDimensions``; its training FLOPs.

No weights are downloaded: ``tiny``/``base``/``small`` name openai-whisper's published
dimensions and start from random weights; a ``dims.json`` gives any other size (the tests use a
micro model); ``model.init`` loads an openai-whisper checkpoint file (``{"dims",
"model_state_dict"}``, what ``whisper.load_model`` reads) to fine-tune from. The trained model is
written in the same format, so ``whisper.load_model("OUT/model.pt")`` loads it.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.train.config import ModelConfig

# openai-whisper's published dimensions (whisper/__init__.py checkpoints); vocabulary: the
# multilingual tokenizer with 99 languages.
DIMS: dict[str, dict[str, int]] = {
    "tiny": {"n_audio_state": 384, "n_audio_head": 6, "n_audio_layer": 4},
    "base": {"n_audio_state": 512, "n_audio_head": 8, "n_audio_layer": 6},
    "small": {"n_audio_state": 768, "n_audio_head": 12, "n_audio_layer": 12},
}


def model_dims(name: str) -> Any:
    """``ModelDimensions`` for tiny/base/small or a dims.json file."""
    from whisper.model import ModelDimensions

    if name in DIMS:
        d = DIMS[name]
        return ModelDimensions(n_mels=80, n_audio_ctx=1500, n_vocab=51865, n_text_ctx=448,
                               n_text_state=d["n_audio_state"], n_text_head=d["n_audio_head"],
                               n_text_layer=d["n_audio_layer"], **d)
    with open(name, encoding="utf-8") as fh:
        return ModelDimensions(**json.load(fh))


def num_languages(dims: Any) -> int:
    """Languages of a vocabulary (whisper.model.Whisper.num_languages)."""
    return dims.n_vocab - 51765 - int(dims.n_vocab >= 51865)


def build_model(config: ModelConfig) -> Any:
    """A ``whisper.model.Whisper``: from ``config.init`` when given, else freshly initialised."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    if config.init:
        checkpoint = torch.load(config.init, map_location="cpu", weights_only=True)
        model = Whisper(ModelDimensions(**checkpoint["dims"]))
        model.load_state_dict(checkpoint["model_state_dict"])
        return model
    return init_weights(Whisper(model_dims(config.name)))


def init_weights(model: Any, std: float = 0.02) -> Any:
    """Initialise a fresh Whisper for training.

    openai-whisper's modules are built to *load* weights: the decoder's positional embedding is
    ``torch.empty`` (whatever memory held) and the token embedding, which is also the output
    projection, is N(0, 1), so a fresh model starts at a loss near 40 instead of ln(51865) ~ 11.
    As Hugging Face's Whisper does, linear, convolution and embedding weights get N(0, 0.02),
    biases 0; layer norms keep 1/0 and the encoder keeps its sinusoidal positions.
    """
    import torch

    for module in model.modules():
        if isinstance(module, torch.nn.Linear | torch.nn.Conv1d):
            torch.nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, torch.nn.Embedding):
            torch.nn.init.normal_(module.weight, std=std)
    torch.nn.init.normal_(model.decoder.positional_embedding, std=std)
    return model


def whisper_checkpoint(model: Any) -> dict[str, Any]:
    """The model in openai-whisper's checkpoint format (``whisper.load_model`` reads it)."""
    from dataclasses import asdict

    return {"dims": asdict(model.dims),
            "model_state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}


def train_flops(dims: Any, n_tokens: float, audio_ctx: int | None = None) -> float:
    """Model FLOPs of one training step on one window (forward + backward = 3 x forward).

    Counts matrix multiplies (2 FLOPs per multiply-add): the two encoder convolutions, attention
    projections, attention scores and mixing, MLPs, cross-attention over the audio and the
    output projection onto the vocabulary, for ``n_tokens`` decoder tokens. Element-wise work
    (norms, GELU, softmax) is left out, as in the usual MFU convention.
    """
    a_ctx = audio_ctx or dims.n_audio_ctx
    d_a, d_t, n_mels = dims.n_audio_state, dims.n_text_state, dims.n_mels
    frames = 2 * a_ctx
    conv = 2 * (n_mels * 3 * d_a * frames + d_a * 3 * d_a * a_ctx)
    enc_layer = 2 * (12 * d_a * d_a * a_ctx) + 2 * 2 * a_ctx * a_ctx * d_a
    encoder = conv + dims.n_audio_layer * enc_layer
    t = n_tokens
    dec_layer = (2 * 12 * d_t * d_t * t  # self-attention projections (4d^2) + MLP (8d^2)
                 + 2 * 2 * d_t * d_t * t  # cross-attention query and output projections
                 + 2 * 2 * d_t * d_a * a_ctx  # cross-attention keys and values of the audio
                 + 2 * 2 * t * t * d_t  # self-attention scores and mixing
                 + 2 * 2 * t * a_ctx * d_t)  # cross-attention scores and mixing
    decoder = dims.n_text_layer * dec_layer + 2 * t * d_t * dims.n_vocab
    return 3.0 * (encoder + decoder)
