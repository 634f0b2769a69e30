"""Near-duplicate audio: recall per transformation and false matches of the audio fingerprint.

    .venv/bin/python benchmarks/dedup_audio.py [--segments N] [--speech-eval DIR] [--seed S]

Builds a planted set of segments: distinct bases (non-overlapping 4-12 s cuts of the real speech
in speech-eval, then of espeak-ng passages of random words in random voices, languages and
speeds), one copy of a third of them under one transformation each (MP3 32 kbit/s, Opus
16 kbit/s, gain -12 dB / +6 dB clipped, resampled through 8 / 22.05 / 44.1 kHz, 1-3 s trimmed,
an intro of other speech prefixed, contained in a longer recording, trimmed + MP3 / Opus), and
hard negatives: one sentence read by espeak-ng voices of other pitch ranges and formants, and,
reported apart, by espeak-ng's male variants that share the default voice's pitch contour.
Intros and surroundings come from speech that is in no segment, a fresh piece for every copy.

The pipeline's own logic decides the pairs: candidates are the pairs that share an
``index_keys`` key (grouped by key, as the Beam stage does), verified by ``compare`` +
``is_near_duplicate``. Printed: recall per transformation and overall (planted pairs found),
the false-match rate over all pairs that are not planted duplicates, the hard negatives matched,
candidates per segment, fingerprint bytes against FLAC bytes, CPU seconds per 10,000 segments.

Baselines in the same run, on the same segments: Haitsma-Kalker as published (33 bands over
300-2000 Hz, 32 bits per frame, 370 ms windows at the same 32 ms hop, no silence gate, the
exact 32-bit sub-fingerprints as the index, BER <= 0.35 at the best offset), and an exact hash
of the decoded PCM. ``audio_benchmark(n)`` returns everything as a dict (``benchmarks/dedup.py``
calls it). The transformations are shared with ``tests/filters/test_audio_fingerprint.py``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import itertools
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.speech_eval_common import speech_eval_dir  # noqa: E402
from filters import audio_fingerprint as afp  # noqa: E402
from filters.audio import decode_audio, encode_flac  # noqa: E402

SR = 16_000


# ---------------------------------------------------------------- transformations

def encode(samples: np.ndarray, codec: str, bitrate: int) -> bytes:
    """``samples`` (16 kHz float32) as MP3 (libmp3lame, 16 kHz) or Opus (libopus in Ogg, 48 kHz)."""
    import av
    from scipy.signal import resample_poly

    name, rate, fmt, frame = {"mp3": ("libmp3lame", 16_000, "mp3", 1152),
                              "opus": ("libopus", 48_000, "ogg", 960)}[codec]
    x = resample_poly(samples, rate // SR, 1) if rate != SR else samples
    pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16)
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(name, rate=rate, layout="mono")
        stream.bit_rate = bitrate
        for i in range(0, len(pcm), frame):
            chunk = pcm[i:i + frame]
            if len(chunk) < frame:
                chunk = np.pad(chunk, (0, frame - len(chunk)))
            f = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
            f.sample_rate = rate
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def reencode(samples: np.ndarray, codec: str, bitrate: int) -> np.ndarray:
    """Round trip through a lossy codec, decoded the way the pipeline decodes (PyAV, 16 kHz)."""
    return decode_audio(encode(samples, codec, bitrate), 3600).samples


def resample_through(samples: np.ndarray, rate: int) -> np.ndarray:
    """As if the source had been published at ``rate`` and resampled to 16 kHz on decode."""
    from scipy.signal import resample_poly

    g = np.gcd(rate, SR)
    down = resample_poly(samples, rate // g, SR // g)
    return resample_poly(down, SR // g, rate // g).astype(np.float32)


def espeak(text: str, voice: str, speed: int = 150) -> np.ndarray:
    """espeak-ng speech at 16 kHz float32 (different voices = different synthetic speakers)."""
    import soundfile as sf
    from scipy.signal import resample_poly

    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
                         check=True, capture_output=True, timeout=60).stdout
    x, rate = sf.read(io.BytesIO(wav), dtype="float32")
    g = np.gcd(rate, SR)
    return resample_poly(x, SR // g, rate // g).astype(np.float32)


def transformations(other: np.ndarray, rng: np.random.Generator
                    ) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Each maps a segment to a near-duplicate copy; ``other`` is unrelated speech for intros
    and the surroundings of a containing recording. Trims are random sample counts, so copies
    fall off the original's frame grid."""

    def trim(x: np.ndarray) -> np.ndarray:
        seconds = len(x) / SR
        head = int(rng.uniform(0.1, 0.25) * seconds * SR) if seconds < 8 else int(
            rng.uniform(1.0, 3.0) * SR)
        tail = int(rng.uniform(0.0, 0.1) * seconds * SR)
        return x[head:len(x) - tail]

    def intro(x: np.ndarray) -> np.ndarray:
        n = int(rng.uniform(2.0, 5.0) * SR)
        start = int(rng.integers(0, max(1, len(other) - n)))
        return np.concatenate([other[start:start + n], np.zeros(int(0.3 * SR), np.float32), x])

    def contained(x: np.ndarray) -> np.ndarray:
        before = int(rng.uniform(3.0, 10.0) * SR)
        after = int(rng.uniform(3.0, 10.0) * SR)
        return np.concatenate([np.resize(other, before), x, np.resize(other[::-1], after)])

    return {
        "mp3_32k": lambda x: reencode(x, "mp3", 32_000),
        "opus_16k": lambda x: reencode(x, "opus", 16_000),
        "gain_-12dB": lambda x: x * np.float32(10 ** (-12 / 20)),
        "gain_+6dB_clipped": lambda x: np.clip(x * np.float32(2.0), -1, 1),
        "resampled_8k": lambda x: resample_through(x, 8_000),
        "resampled_22k": lambda x: resample_through(x, 22_050),
        "resampled_44k": lambda x: resample_through(x, 44_100),
        "trimmed": trim,
        "intro_added": intro,
        "contained": contained,
        "trimmed_mp3_32k": lambda x: reencode(trim(x), "mp3", 32_000),
        "trimmed_opus_16k": lambda x: reencode(trim(x), "opus", 16_000),
    }


# ---------------------------------------------------------------- the planted set

WORDS = ("time year people way day man thing woman life child world school state family student "
         "group country problem hand part place case week company system program question work "
         "government number night point home water room mother area money story fact month lot "
         "right study book eye job word business issue side kind head house service friend father "
         "power hour game line end member law car city community name president team minute idea "
         "kid body information back parent face others level office door health person art war "
         "history party result change morning reason research girl guy moment air teacher force "
         "education foot boy age policy music market sense nation plan college interest death "
         "experience effect class control care field development role effort rate heart drug "
         "show leader light voice wife police mind price report decision son view relationship "
         "town road arm difference value building action model season society tax director "
         "river garden winter summer evening kitchen window letter paper table chair bread").split()
VOICES = ("en en-us en-gb-scotland en+f1 en+f2 en+f3 en+f4 en+f5 en+m1 en+m4 en+Annie en+Andy "
          "de de+f2 fr fr+m4 es es+f4 it nl sv pl pt en+croak en+whisper").split()
DISTINCT_VOICES = ["en", "en+f3", "en+f5", "en+m4", "en+Annie", "en+Andy", "en+f1", "en+f2"]
SAME_PITCH_VOICES = ["en", "en+m2", "en+m5", "en+m6", "en+m7", "en+Alex"]


def real_speech(root: Path) -> list[tuple[str, np.ndarray]]:
    """Every speech clip of speech-eval once (the JFK copies and the two-speaker recording that
    contains two other clips are left out: they are duplicates themselves)."""
    skip = {"whisper_cpp/jfk.mp3", "openai_whisper/jfk.flac", "mfa/michaelandsickmichael.wav"}
    with open(root / "MANIFEST.tsv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t")
                if r["language"] and r["file"] not in skip and "non-speech" not in r["category"]]
    return [(r["file"], decode_audio((root / r["file"]).read_bytes(), 600).samples) for r in rows]


def espeak_passages(rng: np.random.Generator) -> itertools.chain:
    """An endless stream of ~40 s espeak-ng passages of random words, voices and speeds."""

    def one() -> np.ndarray:
        text = " ".join(rng.choice(WORDS, 110))
        voice = str(rng.choice(VOICES))
        return espeak(text, voice, int(rng.integers(130, 200)))

    return itertools.chain.from_iterable(iter(lambda: [one()], None))


def cut(x: np.ndarray, rng: np.random.Generator, low: float = 4.0, high: float = 12.0
        ) -> list[np.ndarray]:
    """Non-overlapping pieces of 4-12 s (a clip shorter than that, if >= 2.5 s, stays whole)."""
    if len(x) < low * SR:
        return [x] if len(x) >= 2.5 * SR else []
    out, start = [], 0
    while True:
        n = int(rng.uniform(low, high) * SR)
        if start + n > len(x):
            break
        out.append(x[start:start + n])
        start += n
    return out


class Filler:
    """Speech that appears in no segment, handed out in fresh pieces (intros, surroundings)."""

    def __init__(self, stream: itertools.chain) -> None:
        self.stream, self.buffer = stream, np.zeros(0, np.float32)

    def take(self, seconds: float) -> np.ndarray:
        n = int(seconds * SR)
        while len(self.buffer) < n:
            self.buffer = np.concatenate([self.buffer, next(self.stream)])
        piece, self.buffer = self.buffer[:n], self.buffer[n:]
        return piece


def planted_set(n_segments: int, root: Path | None, seed: int) -> dict:
    """Segments, their cluster ids, the transformation of each copy, the hard-negative groups."""
    rng = np.random.default_rng(seed)
    has_espeak = subprocess.run(["which", "espeak-ng"], capture_output=True).returncode == 0
    n_hard = max(2, n_segments // 100) if has_espeak else 0
    n_hard_same = max(1, n_segments // 400) if has_espeak else 0
    n_bases = int((n_segments - n_hard * 3 - n_hard_same * 3) * 0.75)
    bases: list[tuple[str, np.ndarray]] = []
    for name, x in (real_speech(root) if root else []):
        bases += [(f"real:{name}", piece) for piece in cut(x, rng)]
    if has_espeak:
        stream = espeak_passages(rng)
        while len(bases) < n_bases:
            bases += [("espeak", piece) for piece in cut(next(stream), rng)]
        filler = Filler(espeak_passages(np.random.default_rng(seed + 1)))
    elif not bases:
        raise RuntimeError("no speech: install espeak-ng or point --speech-eval at the set")
    else:
        filler = Filler(itertools.cycle([np.resize(bases[-1][1], 60 * SR)]))
    bases = bases[:n_bases]
    order = rng.permutation(len(bases))
    names = list(transformations(np.zeros(1), rng))
    segments = [(b[1], i, "base", b[0]) for i, b in enumerate(bases)]
    n_copies = n_segments - len(bases) - n_hard * 3 - n_hard_same * 3
    for k, i in enumerate(order[:n_copies]):
        name = names[k % len(names)]
        copy = transformations(filler.take(30.0), rng)[name](bases[i][1])
        segments.append((copy.astype(np.float32), int(i), name, bases[i][0]))
    hard: list[tuple[str, list[int]]] = []
    for kind, voices, count in (("distinct", DISTINCT_VOICES, n_hard),
                                ("same_pitch", SAME_PITCH_VOICES, n_hard_same)):
        for _ in range(count):
            text = " ".join(rng.choice(WORDS, int(rng.integers(10, 25))))
            group = []
            for voice in rng.choice(voices, 3, replace=False):
                group.append(len(segments))
                segments.append((espeak(text, str(voice)), len(segments) + 10**6, "hard", kind))
            hard.append((kind, group))
    return {"segments": segments, "hard": hard}


# ---------------------------------------------------------------- methods under test

class Method:
    """What the pipeline needs from a fingerprint: the fingerprint, its keys, a verdict."""

    name = "audio_fingerprint"

    def fingerprint(self, x: np.ndarray) -> np.ndarray:
        return afp.fingerprint(x)

    def keys(self, fp: np.ndarray) -> list[int]:
        return afp.index_keys(fp)

    def match(self, a: np.ndarray, b: np.ndarray) -> bool:
        return afp.is_near_duplicate(afp.compare(a, b))

    def size(self, fp: np.ndarray) -> int:
        return len(afp.to_bytes(fp))


class HaitsmaKalker(Method):
    """The published design: 33 bands over 300-2000 Hz, 370 ms windows, exact-frame lookup."""

    name = "haitsma_kalker_baseline"
    window = 5888

    def fingerprint(self, x: np.ndarray) -> np.ndarray:
        if len(x) < self.window:
            x = np.pad(x, (0, self.window - len(x)))
        n = 1 + (len(x) - self.window) // 512
        frames = np.lib.stride_tricks.sliding_window_view(x, self.window)[::512][:n]
        power = np.abs(np.fft.rfft(frames * np.hanning(self.window), axis=1)) ** 2
        freqs = np.fft.rfftfreq(self.window, 1 / SR)
        edges = np.geomspace(300, 2000, 34)
        energy = np.stack([power[:, (freqs >= lo) & (freqs < hi)].sum(1)
                           for lo, hi in zip(edges[:-1], edges[1:], strict=True)], 1)
        across = energy[:, :-1] - energy[:, 1:]
        bits = (across[1:] - across[:-1]) > 0
        return (bits.astype(np.uint64) << np.arange(32, dtype=np.uint64)).sum(1).astype(np.uint32)

    def keys(self, fp: np.ndarray) -> list[int]:
        return [int(k) for k in np.unique(fp) if k != 0]

    def match(self, a: np.ndarray, b: np.ndarray) -> bool:
        if min(len(a), len(b)) == 0:
            return False
        sa, sb = [((f[:, None] >> np.arange(32, dtype=np.uint32)) & 1) * 2.0 - 1.0
                  for f in (a, b)]
        size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
        corr = np.fft.irfft((np.fft.rfft(sa, size, axis=0)
                             * np.conj(np.fft.rfft(sb, size, axis=0))).sum(1), size)
        offsets = np.concatenate([np.arange(len(a)), np.arange(-len(b) + 1, 0)])
        d = int(offsets[int(np.argmax(np.concatenate([corr[:len(a)],
                                                      corr[size - len(b) + 1:]])))])
        lo, hi = max(0, -d), min(len(b), len(a) - d)
        if hi - lo < 0.8 * min(len(a), len(b)):
            return False
        errors = np.unpackbits((a[lo + d:hi + d] ^ b[lo:hi]).view(np.uint8)).mean()
        return bool(errors <= 0.35)

    def size(self, fp: np.ndarray) -> int:
        return fp.nbytes


class PcmHash(Method):
    """Exact duplicates only: the hash of the 16-bit PCM."""

    name = "exact_pcm_hash"

    def fingerprint(self, x: np.ndarray) -> np.ndarray:
        digest = hashlib.sha256((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()).digest()
        return np.frombuffer(digest[:8], dtype=np.uint32)

    def keys(self, fp: np.ndarray) -> list[int]:
        return [int(fp[0]) << 32 | int(fp[1])]

    def match(self, a: np.ndarray, b: np.ndarray) -> bool:
        return bool(np.array_equal(a, b))

    def size(self, fp: np.ndarray) -> int:
        return fp.nbytes


# ---------------------------------------------------------------- evaluation

def evaluate(method: Method, planted: dict, max_bucket: int = 2000) -> dict:
    """Candidates by shared key, verified pairwise; recall per transformation, false matches."""
    segments, hard = planted["segments"], planted["hard"]
    n = len(segments)
    t0 = time.process_time()
    fps = [method.fingerprint(x) for x, *_ in segments]
    buckets: dict[int, list[int]] = defaultdict(list)
    for i, fp in enumerate(fps):
        for key in method.keys(fp):
            buckets[key].append(i)
    t_fp = time.process_time() - t0
    candidates: set[tuple[int, int]] = set()
    skipped = 0
    for members in buckets.values():
        if len(members) > max_bucket:
            skipped += 1
            continue
        candidates.update(itertools.combinations(members, 2))
    t1 = time.process_time()
    matched = {p for p in candidates if method.match(fps[p[0]], fps[p[1]])}
    t_verify = time.process_time() - t1
    cluster = [c for _, c, *_ in segments]
    per: dict[str, list[bool]] = defaultdict(list)
    for j, (_, c, kind, _) in enumerate(segments):
        if kind not in ("base", "hard"):
            per[kind].append((c, j) in matched)
    dup_pairs = sum(len(v) for v in per.values())
    false = sorted(p for p in matched if cluster[p[0]] != cluster[p[1]])
    hard_hits = {kind: [0, 0] for kind, _ in hard}
    for kind, group in hard:
        for p in itertools.combinations(group, 2):
            hard_hits[kind][0] += p in matched
            hard_hits[kind][1] += 1
    non_dup_pairs = n * (n - 1) // 2 - dup_pairs
    flac = sum(len(encode_flac(x)) for x, *_ in segments)
    found = sum(sum(v) for v in per.values())
    return {
        "method": method.name,
        "segments": n,
        "audio_hours": sum(len(x) for x, *_ in segments) / SR / 3600,
        "recall": {k: float(np.mean(v)) for k, v in sorted(per.items())},
        "recall_overall": found / max(dup_pairs, 1),
        "planted_pairs": dup_pairs,
        "false_matches": len(false),
        "false_match_rate": len(false) / max(non_dup_pairs, 1),
        "false_examples": [(segments[i][3], segments[j][3]) for i, j in false[:5]],
        "hard_negatives_matched": {k: f"{a}/{b}" for k, (a, b) in hard_hits.items()},
        "candidates_per_segment": len(candidates) / n,
        "non_duplicate_candidates_per_segment": sum(
            cluster[i] != cluster[j] for i, j in candidates) / n,
        "buckets_over_cap": skipped,
        "keys_per_second": sum(len(method.keys(f)) for f in fps) / max(
            sum(len(x) for x, *_ in segments) / SR, 1e-9),
        "fingerprint_bytes_per_flac_byte": sum(method.size(f) for f in fps) / flac,
        "cpu_s_per_10k_segments": {"fingerprint_and_keys": t_fp / n * 10_000,
                                   "verification": t_verify / n * 10_000},
    }


def size_on_real_speech(root: Path) -> dict:
    """Fingerprint bytes (``to_bytes``) against 16-bit FLAC bytes of every speech-eval clip."""
    fp = flac = 0
    seconds = 0.0
    for _, x in real_speech(root):
        fp += len(afp.to_bytes(afp.fingerprint(x)))
        flac += len(encode_flac(x))
        seconds += len(x) / SR
    return {"clips_hours": seconds / 3600, "fingerprint_bytes_per_s": fp / seconds,
            "flac_bytes_per_s": flac / seconds, "fingerprint_bytes_per_flac_byte": fp / flac}


def audio_benchmark(n_segments: int, speech_eval: Path | None = None, seed: int = 0,
                    baselines: bool = True) -> dict:
    """The planted set of ``n_segments`` and each method's figures on it (see the module doc)."""
    root = speech_eval or speech_eval_dir()
    t0 = time.perf_counter()
    planted = planted_set(n_segments, root, seed)
    built = time.perf_counter() - t0
    methods = [Method()] + ([HaitsmaKalker(), PcmHash()] if baselines else [])
    return {"segments": len(planted["segments"]), "speech_eval": str(root) if root else None,
            "build_wall_s": built, "methods": [evaluate(m, planted) for m in methods],
            "size_on_real_speech": size_on_real_speech(root) if root else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--segments", type=int, default=2000)
    ap.add_argument("--speech-eval", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    result = audio_benchmark(args.segments, args.speech_eval, args.seed)
    print(f"planted set: {result['segments']} segments (speech-eval: {result['speech_eval']}), "
          f"built in {result['build_wall_s']:.0f} s")
    size = result["size_on_real_speech"]
    if size:
        print(f"speech-eval clips as they are ({size['clips_hours']:.2f} h): fingerprint "
              f"{size['fingerprint_bytes_per_s']:.0f} B/s, FLAC {size['flac_bytes_per_s']:.0f} B/s"
              f" -> {size['fingerprint_bytes_per_flac_byte']:.2%} of FLAC")
    for r in result["methods"]:
        print(f"\n== {r['method']}  ({r['segments']} segments, {r['audio_hours']:.2f} h)")
        for k, v in r["recall"].items():
            print(f"  recall {k:<20} {v:.3f}")
        print(f"  recall overall       {r['recall_overall']:.3f} of {r['planted_pairs']} pairs")
        print(f"  false-match rate     {r['false_match_rate']:.2e} ({r['false_matches']} pairs)"
              f"  e.g. {r['false_examples'][:3]}")
        print(f"  hard negatives matched {r['hard_negatives_matched']}")
        print(f"  candidates/segment   {r['candidates_per_segment']:.2f} (not planted: "
              f"{r['non_duplicate_candidates_per_segment']:.2f})  keys/s "
              f"{r['keys_per_second']:.1f}  buckets over cap {r['buckets_over_cap']}")
        print(f"  bytes / FLAC bytes   {r['fingerprint_bytes_per_flac_byte']:.4f}")
        cpu = r["cpu_s_per_10k_segments"]
        print(f"  CPU s / 10k segments fingerprint+keys {cpu['fingerprint_and_keys']:.0f}, "
              f"verification {cpu['verification']:.0f}")


if __name__ == "__main__":
    main()
