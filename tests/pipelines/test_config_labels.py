"""curate.labels in sources.yaml builds a validated LabelConfig; errors name the field."""

from __future__ import annotations

import pytest

from filters.label_config import LabelConfig
from pipelines.config import parse_config

SOURCES = [{"type": "local", "path": "/tmp"}]


def test_labels_section_builds_label_config():
    cfg = parse_config({"sources": SOURCES, "curate": {"labels": {
        "max_cer": 0.3, "fallback_language": "en", "extra_phrases": ["merci à tous"]}}})
    labels = cfg.curate.labels
    assert isinstance(labels, LabelConfig)
    assert (labels.max_cer, labels.fallback_language, labels.extra_phrases) == (
        0.3, "en", ("merci à tous",))
    assert parse_config({"sources": SOURCES}).curate.labels == LabelConfig()


@pytest.mark.parametrize("labels,field", [
    ({"min_speech_ratio": 1.5}, "curate.labels.min_speech_ratio"),
    ({"max_cer": "low"}, "curate.labels.max_cer"),
    ({"no_such_field": 1}, "curate.labels.no_such_field"),
])
def test_bad_labels_config_names_the_field(labels, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        parse_config({"sources": SOURCES, "curate": {"labels": labels}})
