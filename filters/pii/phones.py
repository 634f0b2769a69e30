"""Phone numbers through Google's libphonenumber (the ``phonenumbers`` port).

Candidates are stretches of digits with the separators numbers are written with (spaces,
hyphens, dots, parentheses, a leading +). Each stretch, and failing that each run of its
digit groups, longest first, is parsed in every configured region and kept when the number is
*valid* there: its length and prefixes are assigned in that region's numbering plan (a
number written with +country code is parsed once, in its own plan). A number that is only
*possible* (right length, unassigned range: the fictional 555 numbers of films, a plan change
newer than the metadata) is kept when a phone cue ("number", "call", "phone", ...) stands just
before it, the way Presidio's context words raise a score.

The matcher's national-prefix rule is kept: in a plan whose numbers are written with a trunk
prefix ("0" in DE, IE, ...), digits without it are not that region's national number.

Why not ``PhoneNumberMatcher``: it re-extracts and re-verifies candidates for every region
and cost 3-4 times as much per number here; the grouping leniencies it adds do not apply to
dictated numbers, whose grouping is the speaker's, not the plan's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException
from phonenumbers.phonenumbermatcher import _is_national_prefix_present_if_required

Found = tuple[int, int, str]

_CUE = re.compile(
    r"\b(?:numbers?|phone|telephone|call(?:ed|ing)?|ring|reach|text|dial|mobile|cell|contact|"
    r"whatsapp|fax|tel|landline|extension|line|nummer|telefon|handy|anrufen|numéro|téléphone|"
    r"portable|appel(?:le|ez)?|número|teléfono|móvil|llam[ae]|numero|telefono|cellulare|"
    r"chiama|telefone|celular|ligue)\b", re.I)
_MIN_DIGITS = 7  # shortest full national number the regions' plans allow (with area code)
_MAX_DIGITS = 17  # longest national number (DE) plus a trunk prefix
_CUE_WINDOW = 48  # characters before a number searched for a cue
_STRETCH = re.compile(r"\+?\(?\d[\d\s().\-–/]*\d\)?")
_GROUP = re.compile(r"\+?[\d().\-–/]*\d\)?")


@lru_cache(maxsize=512)
def _lengths(region: str) -> tuple[frozenset[int], str]:
    """National-number lengths the region's plan allows, and its trunk prefix."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return frozenset(), ""
    lengths = set(meta.general_desc.possible_length or ())
    return frozenset(lengths), meta.national_prefix_for_parsing or meta.national_prefix or ""


def _plausible(digits: str, region: str) -> bool:
    lengths, prefix = _lengths(region)
    if not lengths:
        return True
    if len(digits) in lengths:
        return True
    return bool(prefix) and prefix.isdigit() and digits.startswith(prefix) \
        and len(digits) - len(prefix) in lengths


def _accept(candidate: str, regions: Sequence[str], possible: bool) -> bool:
    digits = re.sub(r"\D", "", candidate)
    check = phonenumbers.is_possible_number if possible else phonenumbers.is_valid_number
    if candidate.startswith("+"):
        try:
            return check(phonenumbers.parse(candidate, None))
        except NumberParseException:
            return False
    for region in regions:
        if not _plausible(digits, region):
            continue
        try:
            number = phonenumbers.parse(candidate, region, keep_raw_input=True)
        except NumberParseException:
            continue
        # A plan whose national format needs its trunk prefix ("0" in DE, IE, ...): without
        # it the digits are not that region's national number (libphonenumber's matcher
        # applies the same rule)
        if check(number) and _is_national_prefix_present_if_required(number):
            return True
    return False


def _runs(groups: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """Contiguous runs of groups (index ranges) with a phone number's digit count, longest
    first, then leftmost."""
    out = []
    for i in range(len(groups)):
        total = 0
        for j in range(i, len(groups)):
            total += groups[j][2]
            if total > _MAX_DIGITS:
                break
            if total >= _MIN_DIGITS:
                out.append((i, j))
    return sorted(out, key=lambda r: (-(groups[r[1]][1] - groups[r[0]][0]), r[0]))


def find_phones(text: str, regions: Sequence[str]) -> list[Found]:
    """Phone numbers in ``text`` (written form) as ``(start, end, "PHONE")``."""
    if sum(c.isdigit() for c in text) < _MIN_DIGITS:
        return []
    found: list[tuple[int, int]] = []
    previous = 0  # a cue before an earlier number is that number's, not this one's
    for stretch in _STRETCH.finditer(text):
        groups = [(stretch.start() + m.start(), stretch.start() + m.end(),
                   sum(c.isdigit() for c in m.group()))
                  for m in _GROUP.finditer(stretch.group())]
        if sum(g[2] for g in groups) < _MIN_DIGITS:
            continue
        window = max(previous, stretch.start() - _CUE_WINDOW)
        previous = stretch.end()
        cued = bool(_CUE.search(text, window, stretch.start()))
        for possible in (False, True) if cued else (False,):
            used: list[tuple[int, int]] = []
            for i, j in _runs(groups):
                start, end = groups[i][0], groups[j][1]
                if any(start < e and s < end for s, e in used):
                    continue
                if _accept(text[start:end], regions, possible):
                    used.append((start, end))
            if used:
                found.extend(used)
                break
    return [(s, e, "PHONE") for s, e in sorted(found)]
