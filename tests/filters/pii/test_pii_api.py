"""The PII library's API: config validation, redaction, and the spoken forms of the issue."""

from __future__ import annotations

import pickle
import re

import pytest

from filters.pii import PII_TYPES, PiiConfig, PiiDetector, PiiSpan, redact_text
from filters.pii.spoken import normalise


@pytest.fixture()
def detector(pii_detector: PiiDetector) -> PiiDetector:
    return pii_detector


def _found(detector: PiiDetector, text: str, language: str = "en") -> list[tuple[str, str]]:
    return [(s.type, text[s.start:s.end]) for s in detector.detect(text, language)]


def test_config_defaults_and_validation() -> None:
    cfg = PiiConfig.from_dict({"actions": {"PERSON": "keep", "PHONE": "drop"},
                               "phone_regions": ["US", "GB"]})
    assert cfg.action("PERSON") == "keep" and cfg.action("PHONE") == "drop"
    assert cfg.action("EMAIL") == "redact" and cfg.phone_regions == ("US", "GB")
    assert set(PiiConfig().actions) == set(PII_TYPES)
    for bad, field in (({"actions": {"PHONE": "mute"}}, "curate.pii.actions.PHONE"),
                       ({"actions": {"FAX": "drop"}}, "curate.pii.actions.FAX"),
                       ({"phone_regions": ["XX"]}, "curate.pii.phone_regions[0]"),
                       ({"phone_regions": []}, "curate.pii.phone_regions"),
                       ({"person_names": "yes"}, "curate.pii.person_names"),
                       ({"colour": 1}, "curate.pii.colour")):
        with pytest.raises(ValueError, match="^" + re.escape(field)):
            PiiConfig.from_dict(bad)


def test_config_builds_through_the_run_config_machinery() -> None:
    from pipelines.config_base import ConfigError, build

    assert build(PiiConfig, {"actions": {"URL": "keep"}}, "curate.pii").action("URL") == "keep"
    with pytest.raises(ConfigError, match=r"curate\.pii\.actions\.URL"):
        build(PiiConfig, {"actions": {"URL": "bleep"}}, "curate.pii")


def test_redact_text_typed_placeholders_and_merging() -> None:
    text = "call 555 1234 or mail a@b.com, Ana"
    spans = [PiiSpan(31, 34, "PERSON"), PiiSpan(5, 8, "PHONE"), PiiSpan(9, 13, "PHONE"),
             PiiSpan(22, 29, "EMAIL"), PiiSpan(20, 25, "PERSON")]
    assert redact_text(text, spans) == "call <PHONE> or mail <EMAIL>, <PERSON>"


@pytest.mark.parametrize(("text", "written"), [
    ("my number is five five five, one two three, four five six seven",
     "my number is 5551234567"),
    ("oh two oh seven nine four six, double oh five eight", "0207946 0058"),
    ("john dot smith at gmail dot com", "john.smith@gmail.com"),
    ("nineteen eighty five, two thousand and seven, twenty-one", "1985 2007 21"),
    ("w w w dot example dot co dot uk slash contact", "www.example.co.uk/contact"),
    ("one nine two dot one six eight dot one dot one", "192.168.1.1"),
    ("plus four four seven seven", "+4477"),
    ("Oh, five people. The dot com bubble, I'm at home.",
     "Oh, 5 people. The dot com bubble, I'm at home."),
])
def test_spoken_forms_normalise_to_written(text: str, written: str) -> None:
    mapped = normalise(text)
    assert mapped.text == written
    assert len(mapped.starts) == len(mapped.text) == len(mapped.ends)


def test_spans_point_at_the_original_words(detector: PiiDetector) -> None:
    text = ("Hi, this is Priya Raghunathan. My number is five five five, one two three, "
            "four five six seven, or email priya dot r at gmail dot com.")
    assert _found(detector, text) == [
        ("PERSON", "Priya Raghunathan"),
        ("PHONE", "five five five, one two three, four five six seven"),
        ("EMAIL", "priya dot r at gmail dot com")]
    assert redact_text(text, detector.detect(text)) == (
        "Hi, this is <PERSON>. My number is <PHONE>, or email <EMAIL>.")


@pytest.mark.parametrize(("text", "kind", "value"), [
    ("Pay with 4111 1111 1111 1111 please", "CARD", "4111 1111 1111 1111"),
    ("IBAN GB82 WEST 1234 5698 7654 32.", "IBAN", "GB82 WEST 1234 5698 7654 32"),
    ("my SSN is 123-45-6789", "NATIONAL_ID", "123-45-6789"),
    ("NI number AB 12 34 56 C", "NATIONAL_ID", "AB 12 34 56 C"),
    ("the server is 2001:db8::1", "IP", "2001:db8::1"),
    ("see https://example.com/a?b=1.", "URL", "https://example.com/a?b=1"),
    ("I live at 221B Baker Street, London", "ADDRESS", "221B Baker Street"),
    ("Ich wohne in der Hauptstraße 12.", "ADDRESS", "Hauptstraße 12"),
    ("call +44 20 7946 0958 today", "PHONE", "+44 20 7946 0958"),
])
def test_written_types(detector: PiiDetector, text: str, kind: str, value: str) -> None:
    assert (kind, value) in _found(detector, text)


@pytest.mark.parametrize("text", [
    "In 1998 we sold about 4,500 units, and by 2021 that was up to 12,000.",
    "The tickets cost $49.99 each, so for five people it came to $249.95.",
    "In 2010, 2014 and 2018 the team reached the final.",
    "Count with me: one, two, three, four, five.",
    "Version 2.4.1 fixed the bug from 2.3.",
    "The dot com bubble burst in 2000.",
])
def test_non_pii_numbers(detector: PiiDetector, text: str) -> None:
    assert [s for s in _found(detector, text) if s[0] != "PERSON"] == []


@pytest.mark.parametrize(("text", "kind"), [
    ("4111 1111 1111 1112 is not a card", "CARD"),  # fails Luhn
    ("GB82 WEST 1234 5698 7654 33 is not an IBAN", "IBAN"),  # fails mod 97
    ("000-12-3456 is not an SSN", "NATIONAL_ID"),  # area 000 is never issued
    ("ES91 2100 0418 4502 0005 1333 is not an IBAN", "IBAN"),  # wrong length for ES
])
def test_checksums_reject_lookalikes(detector: PiiDetector, text: str, kind: str) -> None:
    assert kind not in [t for t, _ in _found(detector, text)]


def test_digits_split_across_segments(detector: PiiDetector) -> None:
    segments = ["Sure, call me on five five five", "one two three four, thanks."]
    assert all(detector.detect(s) == [] for s in segments)  # neither half is a number alone
    spans = detector.detect_recording(segments)
    found = [[(s.type, seg[s.start:s.end]) for s in ss]
             for seg, ss in zip(segments, spans, strict=True)]
    assert found == [[("PHONE", "five five five")], [("PHONE", "one two three four")]]


def test_disabled_and_no_names() -> None:
    assert PiiDetector(PiiConfig(enabled=False)).detect("mail a@b.com") == []
    d = PiiDetector(PiiConfig(person_names=False))
    assert [s.type for s in d.detect("my name is Ama Owusu, mail a@b.com")] == ["EMAIL"]


def test_detector_pickles_without_its_model(detector: PiiDetector) -> None:
    clone = pickle.loads(pickle.dumps(detector))
    assert clone.detect("mail a@b.com")[0].type == "EMAIL"
