"""Quality measures on speech-eval: cost per audio hour, WADA-SNR error, narrowband detection.

    .venv/bin/python benchmarks/quality_measures.py [--clips N] [--speech-eval DIR]

Prints
1. each measure's CPU seconds per audio hour (one thread), over the read-speech clips;
2. WADA-SNR's mean absolute error (and bias) on clean read clips mixed with white, pink and
   babble noise (5 other speech-eval talkers summed) at 0, 5, ..., 30 dB, where the truth is the
   mixing SNR over the whole clip (clean clips carry their own noise, so the truth is an upper
   bound at 25-30 dB);
3. precision / recall / F1 of the narrowband call (``bandwidth_hz`` under
   ``curate.quality.min_bandwidth_hz``) on the same clips as they are (negatives) and resampled
   16 -> 8 -> 16 kHz by two resamplers (scipy polyphase, FFmpeg's via PyAV) (positives);
4. DNSMOS P.835 of every read clip and how many pass the default OVRL cut.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from filters import audio_quality as aq  # noqa: E402
from filters.audio import decode_audio  # noqa: E402
from filters.quality_config import QualityConfig  # noqa: E402

SR = 16_000


def load_clips(root: Path, limit: int) -> list[tuple[str, np.ndarray]]:
    rows = list(csv.DictReader(open(root / "MANIFEST.tsv", encoding="utf-8"), delimiter="\t"))
    out = []
    for r in rows:
        if not r["category"].startswith("speech (read)") or float(r["duration_s"]) > 30:
            continue
        out.append((r["file"], decode_audio((root / r["file"]).read_bytes(), 60).samples))
        if len(out) >= limit:
            break
    return out


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spec / np.sqrt(f), n)


def babble(n: int, others: list[np.ndarray]) -> np.ndarray:
    out = np.zeros(n)
    for o in others:
        o = np.tile(o, int(np.ceil(n / len(o))))[:n].astype(np.float64)
        out += o / (np.sqrt(np.mean(o ** 2)) + 1e-12)
    return out


def mix(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    s = speech.astype(np.float64)
    gain = np.sqrt(np.mean(s ** 2) / (np.mean(noise ** 2) * 10 ** (snr_db / 10)))
    x = s + gain * noise
    return (x / np.max(np.abs(x)) * 0.7).astype(np.float32)


def ffmpeg_narrowband(x: np.ndarray) -> np.ndarray:
    """16 -> 8 -> 16 kHz through FFmpeg's resampler (PyAV), as a decoder would do it."""
    import av

    def resample(samples: np.ndarray, src: int, dst: int) -> np.ndarray:
        rs = av.AudioResampler(format="flt", layout="mono", rate=dst)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1).astype(np.float32),
                                           format="flt", layout="mono")
        frame.sample_rate = src
        parts = [f.to_ndarray().reshape(-1) for f in rs.resample(frame)]
        parts += [f.to_ndarray().reshape(-1) for f in rs.resample(None)]
        return np.concatenate(parts)

    return resample(resample(x, SR, 8000), 8000, SR)


def timed(fn, clips) -> float:
    t0 = time.process_time()
    for _, c in clips:
        fn(c)
    return time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speech-eval", default=str(ROOT.parent / "shared" / "speech-eval"))
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("--no-dnsmos", action="store_true")
    args = ap.parse_args()
    clips = load_clips(Path(args.speech_eval), args.clips)
    hours = sum(len(c) for _, c in clips) / SR / 3600
    print(f"{len(clips)} read-speech clips, {hours * 3600:.0f} s")
    aq.loudness_lufs(clips[0][1])  # warm imports
    aq.bandwidth_hz(clips[0][1])

    print("\n1. CPU seconds per audio hour (one thread)")
    measures = {"clipping_ratio": aq.clipping_ratio, "loudness_lufs (pyloudnorm)": aq.loudness_lufs,
                "wada_snr_db": aq.wada_snr_db, "bandwidth_hz": aq.bandwidth_hz,
                "dc_offset": aq.dc_offset, "silence_ratio": aq.silence_ratio,
                "peak_dbfs": aq.peak_dbfs, "all cheap measures (measure())": aq.measure}
    for name, fn in measures.items():
        print(f"  {name:34s} {timed(fn, clips) / hours:9.1f} s/h")
    scorer = None
    if not args.no_dnsmos:
        from filters.dnsmos import DnsmosScorer

        scorer = DnsmosScorer(threads=1, max_batch_windows=8)
        scorer.score([clips[0][1]])
        t0 = time.process_time()
        mos = scorer.score([c for _, c in clips])
        print(f"  {'DNSMOS P.835 (onnxruntime, 1 thread)':34s} "
              f"{(time.process_time() - t0) / hours:9.1f} s/h")

    print("\n2. WADA-SNR absolute error vs mixing SNR (dB)")
    rng = np.random.default_rng(0)
    errors: dict[str, list[float]] = {}
    for i, (_, speech) in enumerate(clips):
        others = [c for j, (_, c) in enumerate(clips) if j != i][:5]
        noises = {"white": rng.standard_normal(len(speech)), "pink": pink(len(speech), rng),
                  "babble": babble(len(speech), others)}
        for kind, noise in noises.items():
            for snr in range(0, 31, 5):
                est = aq.wada_snr_db(mix(speech, noise, snr))
                errors.setdefault(kind, []).append((est if est is not None else -20) - snr)
                errors.setdefault(f"{kind}@{snr}", []).append(
                    (est if est is not None else -20) - snr)
    allerr = [e for k, v in errors.items() if "@" not in k for e in v]
    for kind in ("white", "pink", "babble"):
        e = np.array(errors[kind])
        per = "  ".join(f"{s}:{np.mean(np.abs(errors[f'{kind}@{s}'])):.1f}"
                        for s in range(0, 31, 5))
        print(f"  {kind:7s} MAE {np.mean(np.abs(e)):5.2f}  bias {np.mean(e):+5.2f}   by SNR {per}")
    print(f"  overall MAE {np.mean(np.abs(allerr)):.2f} dB over {len(allerr)} mixtures")

    print("\n3. narrowband call (bandwidth_hz < min_bandwidth_hz)")
    from scipy.signal import resample_poly

    bar = QualityConfig().min_bandwidth_hz
    tp = fp = fn = tn = 0
    for _, c in clips:
        neg = aq.bandwidth_hz(c)
        fp += int(neg < bar)
        tn += int(neg >= bar)
        for nb in (resample_poly(resample_poly(c, 1, 2), 2, 1), ffmpeg_narrowband(c)):
            pos = aq.bandwidth_hz(nb.astype(np.float32))
            tp += int(pos < bar)
            fn += int(pos >= bar)
    prec = tp / max(1, tp + fp)
    rec = tp / max(1, tp + fn)
    f1 = 2 * prec * rec / max(1e-9, prec + rec)
    print(f"  bar {bar:.0f} Hz: tp {tp} fp {fp} fn {fn} tn {tn}  precision {prec:.3f} "
          f"recall {rec:.3f} F1 {f1:.3f}")

    if scorer is not None:
        print("\n4. DNSMOS P.835 OVRL of the read clips (default cut "
              f"{QualityConfig().min_dnsmos_ovrl})")
        for (name, _), m in zip(clips, mos, strict=True):
            print(f"  {name:60s} OVRL {m.ovrl:.2f} SIG {m.sig:.2f} BAK {m.bak:.2f}")
        passed = sum(1 for m in mos if m.ovrl >= QualityConfig().min_dnsmos_ovrl)
        print(f"  {passed}/{len(mos)} pass")


if __name__ == "__main__":
    main()
