"""Quality measures on speech-eval: cost per audio hour, blind-SNR error, narrowband detection.

    .venv/bin/python benchmarks/quality_measures.py [--clips N] [--speech-eval DIR]

Prints
1. each measure's CPU seconds per audio hour (one thread), over the read-speech clips;
2. the stored blind SNR's (``blind_snr_db``) and WADA-SNR's mean absolute error (and bias) on
   clean read clips mixed with white, pink and babble noise (5 other speech-eval talkers summed,
   each at the same RMS) at 0, 5, ..., 30 dB. Three truths: (a) the mixing SNR over the whole
   clip, as the issue defines it; (b) the effective SNR, counting the clip's own recording floor
   as noise too (the floor: mean power of the clean clip's quietest 10 % of 32 ms frames, an
   oracle that sees the clean clip; read clips have pauses, so this is their room/mic noise);
   (c) the mixing SNR on the clips whose floor is >= 45 dB below their speech, where (a) and (b)
   agree within 0.2 dB;
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


def floor_ratio(clean: np.ndarray) -> float:
    """The clip's own noise floor as a share of its power: the mean power of its quietest 10 %
    of 32 ms frames (pauses, in read speech) over its mean power."""
    c = clean.astype(np.float64)
    n = len(c) // 512
    frame_power = np.sort((c[: n * 512].reshape(n, 512) ** 2).mean(axis=1))
    return float(frame_power[: max(1, n // 10)].mean() / np.mean(c ** 2))


def snr_errors(clips: list[tuple[str, np.ndarray]]) -> None:
    estimators = {"blind_snr_db (stored)": aq.blind_snr_db, "wada_snr_db": aq.wada_snr_db}
    rng = np.random.default_rng(0)
    floors = [max(floor_ratio(c), 1e-12) for _, c in clips]  # digital zeros: no floor
    clean_floor = [10 * np.log10((1 - f) / f) >= 45 for f in floors]
    rows = []  # (estimator, kind, mixing snr, effective snr, estimate, clean-floor clip)
    for i, (_, speech) in enumerate(clips):
        others = [c for j, (_, c) in enumerate(clips) if j != i][:5]
        noises = {"white": rng.standard_normal(len(speech)), "pink": pink(len(speech), rng),
                  "babble": babble(len(speech), others)}
        for kind, noise in noises.items():
            for snr in range(0, 31, 5):
                x = mix(speech, noise, snr)
                eff = 10 * np.log10((1 - floors[i]) / (10 ** (-snr / 10) + floors[i]))
                for name, fn in estimators.items():
                    est = fn(x)
                    rows.append((name, kind, snr, eff, -20.0 if est is None else est,
                                 clean_floor[i]))
    print(f"\n2. blind SNR error (dB; MAE, bias = mean of estimate - truth); "
          f"{sum(clean_floor)} of {len(clips)} clips have a floor >= 45 dB below speech")
    for name in estimators:
        print(f"  {name}")
        for mode, label in (("mixing", "(a) vs mixing SNR, all clips"),
                            ("effective", "(b) vs effective SNR (own floor counted), all clips"),
                            ("clean", "(c) vs mixing SNR, clean-floor clips")):
            print(f"    {label}")
            overall = []
            for kind in ("white", "pink", "babble"):
                sel = [r for r in rows if r[0] == name and r[1] == kind
                       and (mode != "clean" or r[5])]
                err = np.array([r[4] - (r[3] if mode == "effective" else r[2]) for r in sel])
                mixing = np.array([r[2] for r in sel])
                overall.extend(err)
                per = "  ".join(f"{s}:{np.mean(np.abs(err[mixing == s])):.1f}"
                                for s in range(0, 31, 5))
                print(f"      {kind:7s} MAE {np.mean(np.abs(err)):5.2f}  bias "
                      f"{np.mean(err):+6.2f}   MAE by mixing SNR {per}")
            print(f"      overall MAE {np.mean(np.abs(overall)):.2f} dB over "
                  f"{len(overall)} mixtures")


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
    aq.blind_snr_db(clips[0][1])  # its one-off calibration

    print("\n1. CPU seconds per audio hour (one thread)")
    measures = {"clipping_ratio": aq.clipping_ratio, "loudness_lufs (pyloudnorm)": aq.loudness_lufs,
                "snr_db (blind_snr_db)": aq.blind_snr_db,
                "wada_snr_db (not stored)": aq.wada_snr_db, "bandwidth_hz": aq.bandwidth_hz,
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

    snr_errors(clips)

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
