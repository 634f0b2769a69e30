"""One PII detector (spaCy model loaded once) for every PII test module."""

from __future__ import annotations

import pytest

from filters.pii import PiiConfig, PiiDetector


@pytest.fixture(scope="session")
def pii_detector() -> PiiDetector:
    detector = PiiDetector(PiiConfig())
    detector.load_model()
    return detector
