"""Near-duplicate audio benchmark for ``filters/audio_fingerprint``: the planted transformations.

The transformations a near-duplicate copy of a segment goes through on the web (MP3 32 kbit/s,
Opus 16 kbit/s, gain, resampling through 8 / 22.05 / 44.1 kHz, a few seconds trimmed, an intro
prefixed, contained in a longer recording), shared by the benchmark and the tests
(``tests/filters/test_audio_fingerprint.py``).
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from filters.audio import decode_audio  # noqa: E402

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
        head = int(rng.uniform(1.0, 3.0) * SR)
        tail = int(rng.uniform(0.0, 1.0) * SR)
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
