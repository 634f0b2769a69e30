"""DNSMOS P.835 (SIG, BAK, OVRL): a non-intrusive speech quality MOS predicted by a small CNN.

Reddy et al., "DNSMOS P.835: a non-intrusive perceptual objective speech quality metric to
evaluate noise suppressors" (ICASSP 2022). The model (``sig_bak_ovr.onnx``, the primary,
non-personalised model of Microsoft's DNS Challenge) ships inside the ``speechmos`` wheel; it is
read from the installed package and run with onnxruntime, nothing is downloaded. speechmos's own
``dnsmos`` module is not imported (it imports librosa and requests and runs the P.808 model too,
which the P.835 scores do not need).

The model scores 9.01 s windows of 16 kHz audio. As in the reference script, a shorter clip is
tiled until it fills a window, and raw outputs go through the published polynomial calibration.
The model is level-sensitive (LibriSpeech read speech scores OVRL 3.52 at its own level, 3.11
20 dB quieter and 2.56 34 dB quieter), while loudness is measured, and judged, separately: each
clip is scaled to -25 dBFS RMS first (the level of the DNS Challenge's training clips, capped at
a 0.99 peak), which makes the score level-independent (3.52 at all three levels), so a quiet but
clean recording is not dropped as "low quality".
Unlike the reference (1 s hop, ~20 windows for a 30 s segment), windows here do not overlap
(the last one is aligned to the clip's end) and the clip's score is the mean over its windows:
9x less compute on long segments for a score that differs by a few hundredths. All windows of a
batch of segments run in one ``session.run`` call.

Cost: about 0.1-0.5 s of one CPU core per 9 s window depending on the machine (printed per audio
hour by ``benchmarks/quality_measures.py``); it is by far the most expensive quality measure.
``DnsmosScorer`` is built once per worker in a DoFn's ``setup()``.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from schemas.records import SAMPLE_RATE

WINDOW = int(9.01 * SAMPLE_RATE)  # the model's fixed input length (144160 samples)
LEVEL_DBFS = -25.0  # clips are scored at this RMS level, as the DNS Challenge's training data
MIN_SAMPLES = SAMPLE_RATE // 4  # clips under 0.25 s are not scored (tiling would invent audio)
# Calibration polynomials of the non-personalised P.835 model (DNS Challenge dnsmos_local.py).
_POLY_SIG = np.poly1d([-0.08397278, 1.22083953, 0.0052439])
_POLY_BAK = np.poly1d([-0.13166888, 1.60915514, -0.39604546])
_POLY_OVR = np.poly1d([-0.06766283, 1.11546468, 0.04602535])


@dataclass(frozen=True)
class DnsmosScores:
    sig: float  # speech signal quality, 1..5
    bak: float  # background noise (5 = none), 1..5
    ovrl: float  # overall quality, 1..5


def model_path() -> Path | None:
    """The P.835 model inside the installed ``speechmos`` package, or None if it is missing."""
    spec = importlib.util.find_spec("speechmos")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "dnsmos_models" / "sig_bak_ovr.onnx"
    return path if path.is_file() else None


def windows(samples: np.ndarray) -> np.ndarray:
    """The model windows of one clip, shape (n, WINDOW): tiled if short, non-overlapping, the
    last aligned to the end."""
    audio = np.asarray(samples, dtype=np.float32)
    if len(audio) < WINDOW:
        audio = np.tile(audio, int(np.ceil(WINDOW / len(audio))))[:WINDOW]
    starts = list(range(0, len(audio) - WINDOW + 1, WINDOW))
    if starts[-1] + WINDOW < len(audio):
        starts.append(len(audio) - WINDOW)
    return np.stack([audio[s:s + WINDOW] for s in starts])


def normalised(samples: np.ndarray, level_dbfs: float = LEVEL_DBFS) -> np.ndarray:
    """The clip scaled to ``level_dbfs`` RMS (never past a 0.99 peak)."""
    audio = np.asarray(samples, dtype=np.float64)
    rms = float(np.sqrt(np.mean(audio ** 2)))
    peak = float(np.max(np.abs(audio)))
    if rms <= 0 or peak <= 0:
        return audio.astype(np.float32)
    gain = min(10 ** (level_dbfs / 20) / rms, 0.99 / peak)
    return (audio * gain).astype(np.float32)


class DnsmosScorer:
    """Loads the ONNX model once; ``score`` takes a batch of clips."""

    def __init__(self, threads: int = 1, max_batch_windows: int = 16):
        import onnxruntime as ort

        path = model_path()
        if path is None:
            raise FileNotFoundError("speechmos is not installed or lacks dnsmos_models/")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.max_batch_windows = max_batch_windows

    def score(self, clips: list[np.ndarray]) -> list[DnsmosScores | None]:
        """One score per clip (None for clips under 0.25 s or without signal). Windows of several
        clips share a ``session.run`` call; at most ``max_batch_windows`` are held at a time."""
        raw: list[list[np.ndarray]] = [[] for _ in clips]
        pending: list[tuple[int, np.ndarray]] = []

        def flush() -> None:
            if pending:
                batch = np.stack([w for _, w in pending])
                outputs = self.session.run(None, {self.input_name: batch})[0]
                for (i, _), row in zip(pending, outputs, strict=True):
                    raw[i].append(row.astype(np.float64))
                pending.clear()

        for i, clip in enumerate(clips):
            if len(clip) < MIN_SAMPLES or float(np.max(np.abs(clip))) <= 0:
                continue
            for w in np.clip(windows(normalised(clip)), -1.0, 1.0):
                pending.append((i, w))
                if len(pending) >= self.max_batch_windows:
                    flush()
        flush()
        out: list[DnsmosScores | None] = []
        for rows in raw:
            if not rows:
                out.append(None)
                continue
            r = np.stack(rows)
            out.append(DnsmosScores(
                sig=round(float(np.mean(_POLY_SIG(r[:, 0]))), 3),
                bak=round(float(np.mean(_POLY_BAK(r[:, 1]))), 3),
                ovrl=round(float(np.mean(_POLY_OVR(r[:, 2]))), 3)))
        return out


def available() -> bool:
    """Whether DNSMOS can run here (onnxruntime importable and the model shipped)."""
    return model_path() is not None and importlib.util.find_spec("onnxruntime") is not None


def default_threads() -> int:
    return int(os.environ.get("SPEECHCURATE_DNSMOS_THREADS", "1"))
