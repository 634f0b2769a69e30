"""Phone numbers through Google's libphonenumber (the ``phonenumbers`` port).

``PhoneNumberMatcher`` finds numbers written in a region's national format (and any number
written with its +country code) and, at ``VALID`` leniency, keeps only numbers whose length
and prefixes are assigned in the numbering plan. Each configured region is tried in turn. A
number that is only *possible* (right length, unassigned range: the fictional 555 numbers of
films, a plan change newer than the metadata) is also kept when a phone cue ("number", "call",
"phone", ...) stands just before it, which is how Presidio's context words work too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

Found = tuple[int, int, str]

_CUE = re.compile(
    r"\b(?:numbers?|phone|telephone|call(?:ed|ing)?|ring|reach|text|dial|mobile|cell|contact|"
    r"whatsapp|fax|tel|landline|extension|line|nummer|telefon|handy|anrufen|numéro|téléphone|"
    r"portable|appel(?:le|ez)?|número|teléfono|móvil|llam[ae]|numero|telefono|cellulare|"
    r"chiama|telefone|celular|ligue)\b", re.I)
_MIN_DIGITS = 6
_CUE_WINDOW = 48  # characters before a number searched for a cue


def find_phones(text: str, regions: Sequence[str]) -> list[Found]:
    """Phone numbers in ``text`` (written form) as ``(start, end, "PHONE")``."""
    if sum(c.isdigit() for c in text) < _MIN_DIGITS:
        return []
    found: set[tuple[int, int]] = set()
    for region in regions:
        for m in PhoneNumberMatcher(text, region, leniency=Leniency.VALID):
            found.add((m.start, m.end))
    if _CUE.search(text):
        for region in regions:
            for m in PhoneNumberMatcher(text, region, leniency=Leniency.POSSIBLE):
                if (m.start, m.end) in found:
                    continue
                digits = sum(c.isdigit() for c in m.raw_string)
                if digits >= 7 and _CUE.search(text, max(0, m.start - _CUE_WINDOW), m.start):
                    found.add((m.start, m.end))
    return [(s, e, "PHONE") for s, e in sorted(found)]


def known_region(region: str) -> bool:
    return region in phonenumbers.SUPPORTED_REGIONS
