import io
import struct

import numpy as np
import pytest
import soundfile as sf

from filters.audio import AudioError, decode_audio, decode_flac, encode_flac
from filters.audio_quality import clipping_ratio, loudness_lufs, snr_estimate_db
from pipelines.demo import encode
from schemas.reasons import Reason

SR = 16_000


def tone(seconds=2.0, freq=440.0, rate=SR):
    t = np.arange(int(seconds * rate)) / rate
    return (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("codec", ["wav", "flac", "mp3", "ogg", "opus", "m4a", "webm"])
def test_every_listed_format_decodes_to_16k_mono(tmp_path, codec):
    src = tone(2.0)
    path = tmp_path / f"t.{codec}"
    encode(src, path, codec)
    out = decode_audio(path.read_bytes(), max_duration_s=60)
    assert out.samples.dtype == np.float32 and out.samples.ndim == 1
    assert out.duration == pytest.approx(2.0, abs=0.15)  # AAC/Opus add priming samples
    # the 440 Hz tone survives the codec: its spectral peak is where it should be
    spec = np.abs(np.fft.rfft(out.samples[SR // 2: SR // 2 + SR]))
    assert np.argmax(spec) == pytest.approx(440, abs=3)


def test_stereo_44k_is_downmixed_and_resampled():
    left, right = tone(1.0, 300, 44100), tone(1.0, 300, 44100)
    buf = io.BytesIO()
    sf.write(buf, np.stack([left, right], axis=1), 44100, format="WAV")
    out = decode_audio(buf.getvalue(), 60)
    assert out.channels == 2 and out.source_sample_rate == 44100
    assert out.duration == pytest.approx(1.0, abs=0.01)


def test_empty_file_is_rejected():
    with pytest.raises(AudioError) as err:
        decode_audio(b"", 60)
    assert err.value.reason == Reason.EMPTY_FILE


def test_random_bytes_are_corrupt_audio():
    data = np.random.default_rng(1).integers(0, 256, 8192, dtype=np.uint8).tobytes()
    with pytest.raises(AudioError) as err:
        decode_audio(data, 60)
    assert err.value.reason == Reason.CORRUPT_AUDIO


@pytest.mark.parametrize("codec", ["flac", "wav"])
def test_header_only_and_truncated_files_are_rejected(tmp_path, codec):
    path = tmp_path / f"t.{codec}"
    encode(tone(4.0), path, codec)
    data = path.read_bytes()
    with pytest.raises(AudioError) as err:
        decode_audio(data[:40], 60)
    assert err.value.reason in (Reason.CORRUPT_AUDIO, Reason.TRUNCATED)
    with pytest.raises(AudioError) as err:
        decode_audio(data[: len(data) // 2], 60)
    assert err.value.reason == Reason.TRUNCATED


def test_absurd_declared_length_is_refused_before_decoding():
    pcm = (tone(0.5) * 32767).astype("<i2").tobytes()
    claimed = 2**31  # the header says 18 hours of audio follow
    header = b"RIFF" + struct.pack("<I", claimed + 36) + b"WAVE"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, SR, SR * 2, 2, 16)
    data = header + fmt + b"data" + struct.pack("<I", claimed) + pcm
    with pytest.raises(AudioError) as err:
        decode_audio(data, max_duration_s=3600)
    assert err.value.reason == Reason.TOO_LONG


def test_decoded_length_is_capped_even_without_a_declared_length(tmp_path):
    path = tmp_path / "long.mp3"
    encode(tone(12.0), path, "mp3")
    with pytest.raises(AudioError) as err:
        decode_audio(path.read_bytes(), max_duration_s=5)
    assert err.value.reason == Reason.TOO_LONG


def test_a_video_without_audio_has_no_audio_stream(tmp_path):
    import av

    path = tmp_path / "v.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=5)
        stream.width, stream.height = 32, 32
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(AudioError) as err:
        decode_audio(path.read_bytes(), 60)
    assert err.value.reason == Reason.NO_AUDIO_STREAM


def test_flac_round_trip_is_lossless_at_16_bit():
    src = np.round(tone(1.0) * 32767) / 32767
    back = decode_flac(encode_flac(src))
    assert np.max(np.abs(back - src)) < 1 / 32767 + 1e-6


def test_quality_measures_respond_to_what_they_measure():
    clean = tone(2.0)
    assert clipping_ratio(clean) == 0.0
    assert clipping_ratio(np.clip(clean * 10, -1, 1)) > 0.3
    assert loudness_lufs(clean * 0.1) < loudness_lufs(clean) - 15
    noisy_floor = clean.copy()
    noisy_floor[: SR] = 0.001 * np.random.default_rng(0).standard_normal(SR)
    assert snr_estimate_db(noisy_floor) > snr_estimate_db(clean) + 20
    assert loudness_lufs(clean[:100]) is None
