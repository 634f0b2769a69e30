import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import pytest

from filters.audio import AudioError
from pipelines.demo import encode
from pipelines.stages.isolated import IsolatedDecoder, borrow_decoder, close_idle
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


CHILD_SCRIPT = """
import io, json, sys, time, wave
from multiprocessing import resource_tracker
from pipelines.stages.isolated import IsolatedDecoder, borrow_decoder, close_idle

buf = io.BytesIO()
with wave.open(buf, "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
    w.writeframes(b"\\x00\\x00" * 16000)
decoder = IsolatedDecoder(timeout_s=120)
assert decoder.decode(buf.getvalue(), 60, 0).duration > 0.9
print(json.dumps({"child": decoder.child_pid, "tracker": resource_tracker._resource_tracker._pid}),
      flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_decoder_child_and_resource_tracker_die_with_a_killed_parent():
    """SIGKILL of a run leaves no decoder process (~300 MB) and no resource tracker behind."""
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.Popen([sys.executable, "-c", CHILD_SCRIPT], cwd=root,
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        pids = json.loads(line)
        assert pids["child"] and _alive(pids["child"])
        assert pids["tracker"] and _alive(pids["tracker"])
    finally:
        proc.kill()  # SIGKILL: no atexit, no finally in the parent
        proc.wait(timeout=30)
        proc.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (_alive(pids["child"]) or _alive(pids["tracker"])):
        time.sleep(0.1)
    left = {name: pid for name, pid in pids.items() if _alive(pid)}
    for pid in left.values():  # do not leak them into the rest of the test session
        os.kill(pid, signal.SIGKILL)
    assert not left, f"still running after the parent was killed: {left}"


def test_decoder_started_from_a_thread_that_ended_still_decodes():
    """The parent-death signal follows the thread that started the child: a decoder first used
    from a short-lived thread (as Beam's are) must survive that thread's end."""
    decoder = IsolatedDecoder(timeout_s=120)
    data = _silence_wav()
    worker = threading.Thread(target=decoder.decode, args=(data, 60, 0))
    worker.start()
    worker.join(120)
    first = decoder.child_pid
    time.sleep(0.5)
    assert decoder.decode(data, 60, 0).duration == pytest.approx(1.0, abs=0.05)
    assert decoder.child_pid == first  # the same child: it was not killed with the thread
    decoder.close()


def test_an_idle_child_that_died_is_replaced_without_a_reject():
    decoder = IsolatedDecoder(timeout_s=120)
    data = _silence_wav()
    decoder.decode(data, 60, 0)
    pid = decoder.child_pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # let the pool notice
    assert decoder.decode(data, 60, 0).duration == pytest.approx(1.0, abs=0.05)
    decoder.close()


def _silence_wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x00" * 16000)
    return buf.getvalue()


def test_a_borrowed_decoder_keeps_its_child_across_borrows_and_threads_get_their_own():
    """The DaskRunner sets analyse up once per recording: the child is started once per process
    (not per recording), and two threads decoding at once never share a child (one's deadline
    must not include the other's decode, nor its reset kill the other's decode)."""
    close_idle()
    data = _silence_wav()
    with borrow_decoder(120) as first:
        first.decode(data, 60, 0)
        pid = first.child_pid
    with borrow_decoder(120) as again:
        assert again is first
        again.decode(data, 60, 0)
        assert again.child_pid == pid
    inside = threading.Barrier(2)
    held: list[IsolatedDecoder] = []

    def hold() -> None:
        with borrow_decoder(120) as decoder:
            held.append(decoder)
            inside.wait(30)  # both threads hold a decoder at the same time

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(held) == 2 and held[0] is not held[1]
    assert close_idle() == 2
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def test_a_timeout_resets_only_the_borrowed_decoder():
    close_idle()
    data = _silence_wav()
    with borrow_decoder(120) as other:
        other.decode(data, 60, 0)
        other_pid = other.child_pid
        with borrow_decoder(0.001) as slow, pytest.raises(AudioError) as err:
            slow.decode(data, 60, 0)
        assert err.value.reason == Reason.DECODE_TIMEOUT and slow is not other
        assert other.child_pid == other_pid and _alive(other_pid)
    with borrow_decoder(120) as a, borrow_decoder(120) as b:  # both back; the reset one
        assert {a, b} == {slow, other}  # starts a new child
        for decoder in (a, b):
            assert decoder.decode(data, 60, 0).duration == pytest.approx(1.0, abs=0.05)
    assert close_idle() == 2
