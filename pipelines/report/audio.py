"""Short, compressed audio clips for the report, embedded as ``data:`` URIs.

A data owner should be able to listen to samples from a mailed report with no server, so each
sample is cut to a few seconds and re-encoded as Opus in Ogg at a low bitrate (about 3 kB per
second) with PyAV. Anything that fails to decode yields None, and the page says so.
"""

from __future__ import annotations

import base64
import io
import logging

log = logging.getLogger(__name__)

OPUS_RATE = 16_000  # Opus accepts 8/12/16/24/48 kHz; speech is stored at 16 kHz anyway


def encode_clip(
    data: bytes, max_seconds: float = 6.0, bitrate: int = 24_000
) -> bytes | None:
    """The first ``max_seconds`` of any decodable audio as mono Opus/Ogg bytes, or None."""
    import av  # imported here so the report package imports cheaply

    max_samples = int(max_seconds * OPUS_RATE)
    out = io.BytesIO()
    try:
        with av.open(io.BytesIO(data), "r") as src:
            stream = next((s for s in src.streams if s.type == "audio"), None)
            if stream is None:
                return None
            resampler = av.AudioResampler(format="s16", layout="mono", rate=OPUS_RATE)
            with av.open(out, "w", format="ogg") as dst:
                enc = dst.add_stream("libopus", rate=OPUS_RATE, layout="mono")
                enc.bit_rate = bitrate
                written = 0
                for frame in src.decode(stream):
                    for rf in resampler.resample(frame):
                        take = min(rf.samples, max_samples - written)
                        if take <= 0:
                            break
                        if take < rf.samples:
                            arr = rf.to_ndarray()[:, :take]
                            rf = av.AudioFrame.from_ndarray(arr, format="s16", layout="mono")
                            rf.sample_rate = OPUS_RATE
                        written += rf.samples
                        for packet in enc.encode(rf):
                            dst.mux(packet)
                    if written >= max_samples:
                        break
                if written == 0:
                    return None
                for packet in enc.encode(None):
                    dst.mux(packet)
    except (av.FFmpegError, ValueError, OSError, StopIteration) as exc:
        log.info("report: cannot encode an audio sample: %s", exc)
        return None
    return out.getvalue()


def data_uri(data: bytes | None, max_seconds: float = 6.0) -> str | None:
    """A ``data:audio/ogg`` URI of the clip of ``data`` (None when it cannot be encoded)."""
    if not data:
        return None
    clip = encode_clip(data, max_seconds=max_seconds)
    if not clip:
        return None
    return "data:audio/ogg;base64," + base64.b64encode(clip).decode("ascii")
