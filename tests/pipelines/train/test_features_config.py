"""Log-mel against openai-whisper's, SpecAugment, the learning-rate schedule, configuration
errors that name the field, and the ``train`` subcommand's parser."""

from __future__ import annotations

import argparse

import pytest
import torch
from whisper.audio import log_mel_spectrogram

from pipelines.config_base import ConfigError
from pipelines.train.cli import add_train_parser, config_from_args, run_from_args
from pipelines.train.config import AugmentConfig, train_config
from pipelines.train.features import log_mel, pcm_to_float, spec_augment
from pipelines.train.model import model_dims, train_flops
from pipelines.train.trainer import lr_lambda


def test_batched_log_mel_equals_whisper_item_by_item():
    gen = torch.Generator().manual_seed(0)
    audio = torch.randn(3, 16000 * 2, generator=gen) * torch.tensor([[0.5], [1e-3], [0.0]])
    ours = log_mel(audio, 80)
    assert ours.shape == (3, 80, 200)
    for i in range(3):
        assert torch.allclose(ours[i], log_mel_spectrogram(audio[i], 80), atol=1e-5)
    # whisper's own function on the batch floors the quiet item at the loud item's maximum
    batched = log_mel_spectrogram(audio, 80)
    assert not torch.allclose(batched[1], log_mel_spectrogram(audio[1], 80), atol=1e-3)
    assert torch.allclose(log_mel(audio, 128)[0], log_mel_spectrogram(audio[0], 128), atol=1e-5)


def test_int16_pcm_becomes_float_in_range():
    pcm = torch.tensor([[-32768, 0, 16384, 32767]], dtype=torch.int16)
    assert pcm_to_float(pcm).tolist() == [[-1.0, 0.0, 0.5, 32767 / 32768]]


def test_spec_augment_masks_bands_and_spans_with_the_mean():
    mel = torch.arange(2 * 80 * 300, dtype=torch.float32).reshape(2, 80, 300)
    off = spec_augment(mel, AugmentConfig(spec_augment=False), torch.Generator())
    assert off is mel
    cfg = AugmentConfig(spec_augment=True, freq_masks=1, freq_mask_width=10, time_masks=1,
                        time_mask_width=50)
    out = spec_augment(mel, cfg, torch.Generator().manual_seed(3))
    changed = out != mel
    assert changed.any()
    for i in range(2):
        rows = changed[i].all(dim=1).sum().item()  # whole mel bins masked
        cols = changed[i].all(dim=0).sum().item()  # whole frames masked
        assert rows <= 10 and cols <= 50
        assert torch.all(out[i][changed[i]] == mel[i].mean())


def test_warmup_then_linear_or_cosine_decay():
    assert lr_lambda(0, 10, 110, "linear", 0.0) == pytest.approx(0.1)
    assert lr_lambda(9, 10, 110, "linear", 0.0) == pytest.approx(1.0)
    assert lr_lambda(60, 10, 110, "linear", 0.0) == pytest.approx(0.5)
    assert lr_lambda(60, 10, 110, "cosine", 0.0) == pytest.approx(0.5)
    assert lr_lambda(35, 10, 110, "cosine", 0.0) == pytest.approx(0.853553, abs=1e-5)
    assert lr_lambda(110, 10, 110, "cosine", 0.1) == pytest.approx(0.1)


def test_configuration_errors_name_the_field(tmp_path):
    shards = tmp_path / "shards.json"
    shards.write_text("{}")
    ok = {"shards": [str(shards)]}
    with pytest.raises(ConfigError, match=r"train\.data\.batch_size: must be >= 1"):
        train_config(data={**ok, "batch_size": 0}, loop={"out": "x"})
    with pytest.raises(ConfigError, match=r"train\.data\.pack: must be one of"):
        train_config(data={**ok, "pack": "bins"}, loop={"out": "x"})
    with pytest.raises(ConfigError, match=r"train\.loop\.out"):
        train_config(data=ok)
    with pytest.raises(ConfigError, match=r"train\.data\.shards\[0\]: no such file"):
        train_config(data={"shards": [str(tmp_path / "missing.json")]}, loop={"out": "x"})
    with pytest.raises(ConfigError, match=r"train\.optim\.betas"):
        train_config(data=ok, loop={"out": "x"}, optim={"betas": [0.9, 1.5]})
    with pytest.raises(ConfigError, match=r"train\.model\.name"):
        train_config(data=ok, loop={"out": "x"}, model={"name": "huge"})
    with pytest.raises(ConfigError, match=r"train\.targets\.no_speech_prob: must be in"):
        train_config(data=ok, loop={"out": "x"}, targets={"no_speech_prob": 2})
    with pytest.raises(ConfigError, match=r"train\.data\.unknown_thing: unknown field"):
        train_config(data={**ok, "unknown_thing": 1}, loop={"out": "x"})
    config = train_config(data=ok, loop={"out": "x"})
    assert config.data.window_frames == 3000 and config.model.name == "tiny"


def test_the_train_subcommand_parses_into_a_config_and_dispatches(tmp_path, capsys):
    shards = tmp_path / "shards.json"
    shards.write_text("{}")
    yaml_file = tmp_path / "train.yaml"
    yaml_file.write_text("optim:\n  lr: 0.0005\n  grad_accum: 4\ndata:\n  batch_size: 8\n")
    parser = argparse.ArgumentParser()
    add_train_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", "--shards", str(shards), "--out", str(tmp_path / "o"),
                              "--config", str(yaml_file), "--batch-size", "4", "--model",
                              "base", "--spec-augment", "--max-steps", "7",
                              "--tier-weight", "low=0.25", "--tier-weight", "medium=0.5"])
    assert args.func is run_from_args
    config = config_from_args(args)
    assert (config.optim.lr, config.optim.grad_accum, config.data.batch_size) == (5e-4, 4, 4)
    assert (config.model.name, config.augment.spec_augment, config.loop.max_steps) == \
        ("base", True, 7)
    assert config.data.tier_weights == {"low": 0.25, "medium": 0.5}
    bad = parser.parse_args(["train", "--shards", str(shards), "--out", "o", "--lr", "-1"])
    assert bad.func(bad) == 2
    assert "train.optim.lr: must be > 0" in capsys.readouterr().err
    bad = parser.parse_args(["train", "--shards", str(shards), "--out", "o",
                             "--tier-weight", "low"])
    assert bad.func(bad) == 2
    assert "--tier-weight 'low': expected TIER=PROBABILITY" in capsys.readouterr().err


def test_training_flops_grow_with_model_and_tokens():
    tiny, base = model_dims("tiny"), model_dims("base")
    assert train_flops(tiny, 100) < train_flops(tiny, 200) < train_flops(base, 200)
    # the encoder dominates a 30 s window: about 3 x 2 x 1500 x (encoder parameters) and more
    encoder_params = 4 * 12 * 384 * 384
    assert train_flops(tiny, 100) > 6 * 1500 * encoder_params
