"""The analyse settings guard also covers measures whose definition is code, not config."""

from __future__ import annotations

import json

import pytest

from filters.audio_quality import SNR_METHOD
from pipelines import analysis_store as store
from pipelines.config import ConfigError, RunConfig


def test_an_analysis_with_another_snr_definition_is_refused(tmp_path):
    config = RunConfig(sources=())
    store.write_settings(str(tmp_path), config)
    stored = json.loads((tmp_path / store.CONFIG_FILE).read_text())
    assert stored["measure.snr_db"] == SNR_METHOD
    store.check_settings(str(tmp_path), config, "refilter")  # same code: accepted

    del stored["measure.snr_db"]  # an analysis made before the SNR was versioned (WADA-SNR)
    (tmp_path / store.CONFIG_FILE).write_text(json.dumps(stored))
    with pytest.raises(ConfigError) as err:
        store.check_settings(str(tmp_path), config, "refilter")
    assert f"measure.snr_db: None -> {SNR_METHOD!r}" in str(err.value)
    assert "curate.measure" not in str(err.value)
