"""The model registry: bundled models resolve offline, and English-only ones are recognised."""

from __future__ import annotations

import pytest

from pipelines.config import parse_config
from pipelines.curate import assume_english_for_english_only_asr
from pipelines.models import is_multilingual, resolve_model

SOURCES = [{"type": "local", "path": "/tmp"}]


def test_language_coverage_is_read_from_the_model_itself():
    assert is_multilingual("base")
    assert not is_multilingual("tiny.en")
    # a directory path says nothing by name: the vocabulary decides
    assert not is_multilingual(str(resolve_model("tiny.en")))
    assert is_multilingual(str(resolve_model("base")))


def test_unknown_model_says_what_to_use(tmp_path):
    with pytest.raises(FileNotFoundError, match="tiny.en, base, or a directory"):
        resolve_model(str(tmp_path / "nope"))


@pytest.mark.parametrize(("asr", "labels", "fallback"), [
    ({"model": "tiny.en"}, {}, "en"),
    ({"model": "base"}, {}, ""),
    ({"model": "tiny.en"}, {"fallback_language": "de"}, "de"),
])
def test_english_only_asr_makes_english_the_fallback_language(asr, labels, fallback):
    config = parse_config({"sources": SOURCES, "curate": {"asr": asr, "labels": labels}})
    assert assume_english_for_english_only_asr(config).curate.labels.fallback_language == fallback
