"""Decoding any common audio/video container to 16 kHz mono float32 with PyAV (FFmpeg).

Every failure is an :class:`AudioError` carrying a reason code; a file's declared duration is
checked before decoding and the decoded length is capped while decoding, so a header that lies
about its length cannot make us allocate unbounded memory.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import numpy as np

from schemas.reasons import Reason, RejectError
from schemas.records import SAMPLE_RATE


class AudioError(RejectError):
    """A media file that cannot be decoded."""


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray  # float32, mono, SAMPLE_RATE
    codec: str
    source_sample_rate: int
    channels: int
    declared_duration: float | None

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def decode_audio(data: bytes, max_duration_s: float, min_duration_s: float = 0.0) -> DecodedAudio:
    """Decode ``data`` (any container PyAV knows) to 16 kHz mono float32."""
    import av

    if not data:
        raise AudioError(Reason.EMPTY_FILE, "file is empty (0 bytes)")
    max_samples = int(max_duration_s * SAMPLE_RATE) + SAMPLE_RATE
    try:
        container = av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, ValueError, EOFError, OSError) as exc:
        raise AudioError(Reason.CORRUPT_AUDIO, f"not a readable media file: {exc}") from exc
    with container:
        streams = container.streams.audio
        if not streams:
            raise AudioError(Reason.NO_AUDIO_STREAM, "file has no audio stream")
        stream = streams[0]
        declared = None
        if stream.duration is not None and stream.time_base is not None:
            declared = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            declared = container.duration / 1_000_000
        declared = _riff_declared_duration(data) or declared
        if declared is not None and declared > max_duration_s * 1.05 + 1:
            raise AudioError(Reason.TOO_LONG, f"declared duration {declared:.0f}s exceeds "
                                              f"decode.max_duration_s={max_duration_s:.0f}")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        total = 0
        codec = stream.codec_context.name or ""
        source_rate = int(stream.codec_context.sample_rate or 0)
        channels = int(stream.codec_context.channels or 0)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1)
                    chunks.append(arr)
                    total += len(arr)
                if total > max_samples:
                    raise AudioError(Reason.TOO_LONG, "decoded audio exceeds "
                                                      f"decode.max_duration_s={max_duration_s:.0f}")
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except AudioError:
            raise
        except (av.FFmpegError, ValueError, EOFError, OSError, MemoryError) as exc:
            reason = Reason.TRUNCATED if total else Reason.CORRUPT_AUDIO
            raise AudioError(reason, f"decoding stopped after {total / SAMPLE_RATE:.1f}s "
                                     f"(cut short or damaged): {exc}") from exc
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if not np.all(np.isfinite(samples)):
        samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
    np.clip(samples, -1.0, 1.0, out=samples)
    duration = len(samples) / SAMPLE_RATE
    if len(samples) == 0:
        raise AudioError(Reason.CORRUPT_AUDIO, "no audio samples could be decoded")
    if declared is not None and duration < 0.9 * declared - 0.5:
        raise AudioError(Reason.TRUNCATED, f"decoded {duration:.1f}s of the {declared:.1f}s "
                                           "its header declares: the file is cut short")
    if duration < min_duration_s:
        raise AudioError(Reason.TOO_SHORT, f"{duration:.2f}s is shorter than "
                                           f"decode.min_duration_s={min_duration_s}")
    return DecodedAudio(samples, codec, source_rate, channels, declared)


def _riff_declared_duration(data: bytes) -> float | None:
    """What a WAV header claims (FFmpeg silently trusts the file size instead, which hides a
    header that lies); None for anything that is not a PCM WAV file."""
    import wave

    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    try:
        with wave.open(io.BytesIO(data)) as w:
            return w.getnframes() / float(w.getframerate())
    except (wave.Error, EOFError, ZeroDivisionError, struct.error):
        return None


def encode_flac(samples: np.ndarray, compression_level: int = 5) -> bytes:
    """16-bit FLAC at 16 kHz: lossless for what the trainer sees, about half of PCM size."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, samples, SAMPLE_RATE, format="FLAC", subtype="PCM_16",
             compression_level=compression_level / 8)
    return buf.getvalue()


def decode_flac(data: bytes) -> np.ndarray:
    import soundfile as sf

    samples, rate = sf.read(io.BytesIO(data), dtype="float32")
    if rate != SAMPLE_RATE:
        raise ValueError(f"expected {SAMPLE_RATE} Hz, got {rate}")
    return samples
