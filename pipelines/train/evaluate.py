"""Evaluation: greedy decoding of held-out segments, WER/CER per language.

Each held-out segment is decoded alone (one segment in a window, padded like training windows)
with ``whisper.decoding`` at temperature 0 (greedy), given its language and task and without
timestamps. References and hypotheses go through Whisper's normalisers
(``EnglishTextNormalizer`` for English output, which a translation also is;
``BasicTextNormalizer`` otherwise) before ``jiwer`` scores them. Results are keyed ``en``,
``de``, ... for transcription and ``de->en`` for translation.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("speechcurate.train")


def normaliser(language: str, task: str) -> Any:
    from whisper.normalizers import BasicTextNormalizer, EnglishTextNormalizer

    if language == "en" or task == "translate":
        return EnglishTextNormalizer()
    return BasicTextNormalizer()


def score(pairs: Iterable[tuple[str, str, str, str]]) -> dict[str, dict[str, float]]:
    """WER/CER per language from (language, task, reference, hypothesis), normalised."""
    import jiwer

    groups: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    exact: dict[str, int] = defaultdict(int)
    norms: dict[tuple[str, str], Any] = {}
    for language, task, ref, hyp in pairs:
        name = f"{language}->en" if task == "translate" else language
        norm = norms.setdefault((language, task), normaliser(language, task))
        r, h = norm(ref).strip(), norm(hyp).strip()
        exact[name] += int(ref.strip() == hyp.strip())
        if not r:
            continue
        groups[name][0].append(r)
        groups[name][1].append(h)
    out = {}
    for name, (refs, hyps) in sorted(groups.items()):
        out[name] = {"wer": float(jiwer.wer(refs, hyps)), "cer": float(jiwer.cer(refs, hyps)),
                     "n": len(refs), "exact": exact[name]}
    return out


def decode_batch(model: Any, mel: Any, language: str, task: str) -> list[str]:
    """Greedy decoding of a batch of one language and task, without timestamps."""
    import whisper

    options = whisper.DecodingOptions(language=language if model.is_multilingual else None,
                                      task=task, temperature=0.0, without_timestamps=True,
                                      fp16=False)
    return [r.text for r in model.decode(mel, options)]


def evaluate(model: Any, samples: Iterable[tuple[str, dict, np.ndarray]], *, window_s: float,
             batch_size: int, device: Any, autocast: Any, out_path: Path | None = None,
             ) -> dict[str, dict[str, float]]:
    """Decode every sample; write (key, language, reference, hypothesis) lines to ``out_path``;
    return WER/CER per language."""
    import torch

    from pipelines.train.features import log_mel

    languages = set()
    if model.is_multilingual:
        from whisper.tokenizer import get_tokenizer

        languages = set(get_tokenizer(True, num_languages=model.num_languages)
                        .all_language_codes)
    n = round(window_s * 16000)
    pending: dict[tuple[str, str], list[tuple[str, str, np.ndarray]]] = defaultdict(list)
    rows: list[dict[str, str]] = []

    def flush(group: tuple[str, str]) -> None:
        items = pending.pop(group, [])
        if not items:
            return
        audio = np.zeros((len(items), n), np.float32)
        for i, (_, _, pcm) in enumerate(items):
            audio[i, :min(len(pcm), n)] = pcm[:n]
        with torch.no_grad(), autocast():
            mel = log_mel(torch.from_numpy(audio).to(device), model.dims.n_mels)
            hyps = decode_batch(model, mel, group[0], group[1])
        for (key, ref, _), hyp in zip(items, hyps, strict=True):
            rows.append({"key": key, "language": group[0], "task": group[1], "reference": ref,
                         "hypothesis": hyp})

    was_training = model.training
    model.eval()
    try:
        for key, meta, audio in samples:
            language = str(meta.get("language") or "")
            task = str(meta.get("task") or "transcribe")
            if model.is_multilingual and language not in languages:
                continue
            if not model.is_multilingual and (language != "en" or task != "transcribe"):
                continue
            group = (language, task)
            pending[group].append((key, str(meta.get("text") or ""), audio))
            if len(pending[group]) >= batch_size:
                flush(group)
        for group in list(pending):
            flush(group)
    finally:
        model.train(was_training)
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        with open(out_path, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return score((r["language"], r["task"], r["reference"], r["hypothesis"]) for r in rows)
