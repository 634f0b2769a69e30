"""Log-mel features on the training device, batched, and SpecAugment.

``whisper.audio.log_mel_spectrogram`` is the reference: the same Hann window, STFT, mel filters
(``whisper.audio.mel_filters``: the filter bank openai-whisper ships), log10 and scaling. Called
on a batch it clamps every item at the *batch's* maximum minus 8 (``log_spec.max()`` over the
whole tensor), so a quiet window next to a loud one gets a different floor than it would alone.
:func:`log_mel` clamps each window at its own maximum, and equals
``log_mel_spectrogram(window)`` item by item (tested), while running as one batched STFT on the
GPU.
"""

from __future__ import annotations

from typing import Any

from pipelines.train.config import AugmentConfig

N_FFT = 400
HOP = 160


def log_mel(audio: Any, n_mels: int = 80) -> Any:
    """(batch, samples) float audio in [-1, 1] -> (batch, n_mels, samples // 160) log-mel."""
    import torch
    from whisper.audio import mel_filters

    window = torch.hann_window(N_FFT, device=audio.device)
    stft = torch.stft(audio.float(), N_FFT, HOP, window=window, return_complex=True)
    magnitudes = stft[..., :-1].abs() ** 2
    mel = mel_filters(audio.device, n_mels) @ magnitudes
    log_spec = torch.clamp(mel, min=1e-10).log10()
    floor = log_spec.amax(dim=(-2, -1), keepdim=True) - 8.0
    log_spec = torch.maximum(log_spec, floor)
    return (log_spec + 4.0) / 4.0


def pcm_to_float(audio: Any) -> Any:
    """int16 PCM (as shipped by the DataLoader) -> float32 in [-1, 1)."""
    import torch

    return audio.to(torch.float32) / 32768.0 if audio.dtype == torch.int16 else audio.float()


def spec_augment(mel: Any, config: AugmentConfig, generator: Any) -> Any:
    """Mask random frequency bands and time spans of each window with its mean value.

    ``generator`` is a ``torch.Generator`` on the CPU (its state goes into checkpoints).
    """
    import torch

    if not config.spec_augment:
        return mel
    batch, n_mels, frames = mel.shape
    mask = torch.zeros(batch, n_mels, frames, dtype=torch.bool, device=mel.device)

    def spans(count: int, width: int, size: int) -> Any:
        w = torch.randint(0, width + 1, (batch, count), generator=generator)
        start = (torch.rand(batch, count, generator=generator) * (size - w).clamp(min=0)).long()
        return start.to(mel.device), (start + w).to(mel.device)

    if config.freq_masks and config.freq_mask_width:
        lo, hi = spans(config.freq_masks, min(config.freq_mask_width, n_mels), n_mels)
        idx = torch.arange(n_mels, device=mel.device)[None, None, :]
        band = ((idx >= lo[..., None]) & (idx < hi[..., None])).any(dim=1)  # (batch, n_mels)
        mask |= band[:, :, None]
    if config.time_masks and config.time_mask_width:
        lo, hi = spans(config.time_masks, min(config.time_mask_width, frames), frames)
        idx = torch.arange(frames, device=mel.device)[None, None, :]
        span = ((idx >= lo[..., None]) & (idx < hi[..., None])).any(dim=1)  # (batch, frames)
        mask |= span[:, None, :]
    mean = mel.mean(dim=(-2, -1), keepdim=True).expand_as(mel)
    return torch.where(mask, mean, mel)
