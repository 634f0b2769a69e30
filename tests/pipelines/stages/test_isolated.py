import pytest

from filters.audio import AudioError
from pipelines.demo import encode
from pipelines.stages.isolated import IsolatedDecoder
from schemas.reasons import Reason


def test_a_decode_past_its_deadline_is_rejected_and_the_decoder_recovers(tmp_path):
    import numpy as np

    path = tmp_path / "t.mp3"
    encode(np.zeros(16000 * 3, np.float32), path, "mp3")
    data = path.read_bytes()
    slow = IsolatedDecoder(timeout_s=0.001)  # not even the child's start-up fits in this
    with pytest.raises(AudioError) as err:
        slow.decode(data, 60, 0)
    assert err.value.reason == Reason.DECODE_TIMEOUT
    slow.timeout_s = 60
    assert slow.decode(data, 60, 0).duration == pytest.approx(3.0, abs=0.1)
    slow.close()


def test_decoder_errors_cross_the_process_boundary_with_their_reason():
    decoder = IsolatedDecoder(timeout_s=60)
    with pytest.raises(AudioError) as err:
        decoder.decode(b"\x00" * 5000, 60, 0)
    assert err.value.reason == Reason.CORRUPT_AUDIO
    decoder.close()
