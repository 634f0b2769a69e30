"""Written-form detectors: emails, URLs, IPs, payment cards, IBANs, national ids, addresses.

Each detector is a function ``(text) -> [(start, end, type)]`` over the normalised text (see
spoken.py). Checksums carry the precision where a format has one (Luhn for cards, mod-97 for
IBANs, the national ids' own check digits); formats without one are only accepted in their
distinctive grouping or next to a cue word ("social security", "national insurance").
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from filters.pii import checksums as ck
from filters.pii.spoken import TLDS

Found = tuple[int, int, str]

_TLD = "(?:" + "|".join(sorted(set(TLDS) | {"at", "in", "it", "me", "us", "to", "ly", "gl",
                                             "be", "no"}, key=len, reverse=True)) + ")"

# --------------------------------------------------------------------------- email, URL, IP

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]*[^\W_](?:\.?[\w+-])*@[^\W_][\w-]*(?:\.[\w-]+)*"
                    r"\.[a-z]{2,24}\b", re.I)
_URL = re.compile(
    r"(?:\bhttps?://[^\s<>\"]+|\bwww\.[^\s<>\"]+"
    rf"|(?<![@\w.-])(?:[^\W_][\w-]*\.)+{_TLD}\b(?:/[^\s<>\"]*)?)", re.I)
_IPV4 = re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}"
                   r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])", re.I)


def find_emails(text: str) -> list[Found]:
    return [(m.start(), m.end(), "EMAIL") for m in _EMAIL.finditer(text)]


def find_urls(text: str) -> list[Found]:
    out = []
    for m in _URL.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in ".,;:!?)]'\"":
            end -= 1
        label = text[m.start():end]
        if "." not in label or label.replace(".", "").isdigit():
            continue
        out.append((m.start(), end, "URL"))
    return out


def find_ips(text: str) -> list[Found]:
    out = [(m.start(), m.end(), "IP") for m in _IPV4.finditer(text)]
    for m in _IPV6.finditer(text):
        try:
            ipaddress.IPv6Address(m.group())
        except ValueError:
            continue
        if m.group().count(":") >= 2 and any(c.isalnum() for c in m.group()):
            out.append((m.start(), m.end(), "IP"))
    return out


# --------------------------------------------------------------------------- cards, IBANs

_DIGIT_RUN = re.compile(r"(?<![\d+])\d(?:[ -]?\d){11,22}(?!\d)")
_CARD_PREFIX = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|3[0689]|6011|65|64[4-9]|62|35)")


def find_cards(text: str) -> list[Found]:
    """13-19 digits, optionally grouped, passing Luhn with a card network's leading digits. A
    longer run is searched for its best card-sized sub-run (a card followed by an expiry)."""
    out = []
    for m in _DIGIT_RUN.finditer(text):
        chars = [(i, c) for i, c in enumerate(m.group()) if c.isdigit()]
        digits = "".join(c for _, c in chars)
        best = None
        for length in range(min(19, len(digits)), 12, -1):
            for s in range(0, len(digits) - length + 1):
                sub = digits[s:s + length]
                if _CARD_PREFIX.match(sub) and ck.luhn_ok(sub):
                    best = (s, s + length)
                    break
            if best:
                break
        if best:
            out.append((m.start() + chars[best[0]][0], m.start() + chars[best[1] - 1][0] + 1,
                        "CARD"))
    return out


IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
    "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18,
    "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30,
    "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}
_IBAN_START = re.compile(r"\b([A-Z])\s?([A-Z])\s?(\d)\s?(\d)", re.I)


def find_ibans(text: str) -> list[Found]:
    """Country code, two check digits, then the country's length of letters and digits (spaces
    and hyphens between them allowed), passing mod-97."""
    out = []
    for m in _IBAN_START.finditer(text):
        country = (m.group(1) + m.group(2)).upper()
        length = IBAN_LENGTHS.get(country)
        if length is None:
            continue
        chars = [country, m.group(3), m.group(4)]
        n = 4
        pos = m.end()
        end = pos
        while n < length and pos < len(text):
            c = text[pos]
            if c.isascii() and c.isalnum():
                chars.append(c.upper())
                n += 1
                end = pos + 1
            elif c not in " ,.-" or text[pos - 1] in " ,.-" and text[pos - 2] in " ,.-":
                break  # at most two separators in a row ("GB82, W E S T, 1234 ...")
            pos += 1
        if n == length and not (end < len(text) and text[end].isalnum()) \
                and ck.mod97_ok("".join(chars)):
            out.append((m.start(), end, "IBAN"))
    return out


# --------------------------------------------------------------------------- national ids


def _cue(text: str, start: int, words: re.Pattern[str], window: int = 60) -> bool:
    return bool(words.search(text, max(0, start - window), start))


def _ssn_ok(digits: str) -> bool:
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return not (area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000")


def _cued_digits(text: str, cue: re.Pattern[str], length: int,
                 check: Callable[[str], bool]) -> list[Found]:
    """Digit stretches of exactly ``length`` digits in any grouping (dictated ids are grouped
    by the speaker's pauses) after a cue word, passing ``check``."""
    out: list[Found] = []
    for m in _DIGITS.finditer(text):
        digits = m.group().replace(" ", "")
        if len(digits) == length and _cue(text, m.start(), cue) and check(digits):
            out.append((m.start(), m.end(), "NATIONAL_ID"))
    return out


_SSN = re.compile(r"(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])")
_DIGITS = re.compile(r"(?<![\d.,-])\d[\d ]*\d(?![\d])")
_SSN_CUE = re.compile(r"social security|\bssn\b|\bsocial\b|\bsocial number", re.I)
_NINO = re.compile(r"\b([A-CEGHJ-PR-TW-Z])\s?([A-CEGHJ-NPR-TW-Z])\s?(\d{2})\s?(\d{2})\s?"
                   r"(\d{2})\s?([A-D])\b", re.I)
_NINO_BAD = {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}
_NHS_CUE = re.compile(r"\bnhs\b|health service", re.I)
_DNI = re.compile(r"\b([XYZ]?)[ -]?(\d{7,8})[ -]?([A-Z])\b", re.I)
_CF = re.compile(r"\b[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]\b", re.I)
_NIR = re.compile(r"(?<!\d)([12])\s?(\d{2})\s?(0[1-9]|1[0-2]|[2-9]\d)\s?(\d{2}|2[AB])\s?(\d{3})"
                  r"\s?(\d{3})\s?(\d{2})(?!\d)", re.I)
_AADHAAR = re.compile(r"(?<!\d)([2-9]\d{3})([ -]?)(\d{4})\2(\d{4})(?!\d)")
_AADHAAR_CUE = re.compile(r"aadhaar|aadhar|\buid\b", re.I)
_PAN = re.compile(r"\b[A-Z]{3}[ABCFGHLJPT][A-Z]\d{4}[A-Z]\b")
_CPF = re.compile(r"(?<!\d)(\d{3})\.?(\d{3})\.?(\d{3})-?(\d{2})(?!\d)")
_CPF_CUE = re.compile(r"\bcpf\b", re.I)
_SIN_CUE = re.compile(r"social insurance|\bsin\b", re.I)


def find_national_ids(text: str) -> list[Found]:
    """US SSN, UK NINO and NHS number, Spain's DNI/NIE, Italy's codice fiscale, France's NIR,
    India's Aadhaar and PAN, Brazil's CPF, Canada's SIN. Validity rules: SSN area not 000, 666
    or 9xx, group not 00, serial not 0000, and either 3-2-4 with hyphens or a cue with nine
    digits in any grouping; NINO's excluded prefixes; check digits for NHS (cued), DNI/NIE,
    codice fiscale, NIR, Aadhaar (Verhoeff; grouped 4-4-4 or cued), CPF (formatted or cued)
    and SIN (Luhn, cued)."""
    out: list[Found] = []
    for m in _SSN.finditer(text):
        if _ssn_ok("".join(m.groups())):
            out.append((m.start(), m.end(), "NATIONAL_ID"))
    out.extend(_cued_digits(text, _SSN_CUE, 9, _ssn_ok))
    for m in _NINO.finditer(text):
        if (m.group(1) + m.group(2)).upper() not in _NINO_BAD:
            out.append((m.start(), m.end(), "NATIONAL_ID"))
    out.extend(_cued_digits(text, _NHS_CUE, 10, ck.nhs_ok))
    for m in _DNI.finditer(text):
        prefix, number = m.group(1).upper(), m.group(2)
        if prefix and len(number) != 7 or not prefix and len(number) != 8:
            continue
        value = int(str("XYZ".index(prefix)) + number) if prefix else int(number)
        if ck.dni_letter(value) == m.group(3).upper():
            out.append((m.start(), m.end(), "NATIONAL_ID"))
    for m in _CF.finditer(text):
        if ck.codice_fiscale_ok(m.group()):
            out.append((m.start(), m.end(), "NATIONAL_ID"))
    for m in _NIR.finditer(text):
        dept = m.group(4).upper().replace("2A", "19").replace("2B", "18")
        digits = "".join((m.group(1), m.group(2), m.group(3), dept, m.group(5), m.group(6),
                          m.group(7)))
        if ck.nir_ok(digits):
            out.append((m.start(), m.end(), "NATIONAL_ID"))
    for m in _AADHAAR.finditer(text):
        if m.group(2) and ck.verhoeff_ok(m.group(1) + m.group(3) + m.group(4)):
            out.append((m.start(), m.end(), "NATIONAL_ID"))
    out.extend(_cued_digits(text, _AADHAAR_CUE, 12,
                            lambda d: d[0] in "23456789" and ck.verhoeff_ok(d)))
    out.extend((m.start(), m.end(), "NATIONAL_ID") for m in _PAN.finditer(text))
    for m in _CPF.finditer(text):
        if "." in m.group() and "-" in m.group() and ck.cpf_ok("".join(m.groups())):
            out.append((m.start(), m.end(), "NATIONAL_ID"))
    out.extend(_cued_digits(text, _CPF_CUE, 11, ck.cpf_ok))
    out.extend(_cued_digits(text, _SIN_CUE, 9, ck.luhn_ok))
    return out


# --------------------------------------------------------------------------- street addresses

_NAME = r"(?:[A-ZÀ-Ý][\w'’.-]*|\d{1,3}(?:st|nd|rd|th))"
_EN_TYPES = (r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|"
             r"Place|Pl|Terrace|Close|Crescent|Highway|Hwy|Parkway|Pkwy|Square|Sq|Circle|"
             r"Gardens|Grove|Row|Mews|Hill|Walk|Trail|Alley")
_UNIT = r"(?:,?\s+(?:Apartment|Apt|Suite|Unit|Flat|Floor|#)\.?\s*\w{1,5})?"
_EN_ADDRESS = re.compile(
    rf"\b\d{{1,5}}(?:\s?[A-Za-z]\b)?,?\s+(?:[NSEW]\.?\s+)?{_NAME}(?:\s+{_NAME}){{0,3}}\s+"
    rf"(?i:{_EN_TYPES})\b\.?{_UNIT}")
_DE_NL_ADDRESS = re.compile(
    r"\b(?:[A-ZÄÖÜ][\wäöüß.-]*\s)?[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|platz|allee|"
    r"gasse|ring|damm|ufer|straat|laan|plein|gracht|kade|singel|steeg)\s+\d{1,4}\s?[a-z]?\b"
    r"|\b(?:[A-ZÄÖÜ][\wäöüß-]*\s)(?:Straße|Strasse|Str\.|Weg|Platz|Allee|Gasse|Ring)\s+"
    r"\d{1,4}\s?[a-z]?\b")
_FR_ADDRESS = re.compile(
    r"\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?i:rue|avenue|av\.|boulevard|bd|place|chemin|allée|"
    r"impasse|quai|route|cours)\s+(?:(?:de\s+la|de|du|des|la|le|les|l['’]|d['’])\s*)?"
    r"[A-ZÀ-Ý][\w'’-]*(?:\s+(?:de\s+|du\s+|la\s+)?[A-ZÀ-Ý][\w'’-]*){0,3}")
_ROMANCE_ADDRESS = re.compile(
    r"\b(?i:calle|c/|avenida|avda\.|paseo|plaza|carrer|via|viale|piazza|corso|vicolo|largo|"
    r"rua|travessa|alameda|praça)\s+(?:(?:de\s+la|de|del|la|las|los|da|do|dos|das|di|della|"
    r"dei|delle)\s+)?[A-ZÀ-Ý][\w'’-]*(?:\s+(?:de\s+|del\s+|di\s+)?[A-ZÀ-Ý][\w'’-]*){0,3},?\s+"
    r"(?:(?:n\.?º?|no\.?|número|numero)\s*)?\d{1,4}\b")


def find_addresses(text: str) -> list[Found]:
    """House number, street name and a street-type word (English, German, Dutch, French,
    Spanish, Italian, Portuguese word orders)."""
    out: list[Found] = []
    for rx in (_EN_ADDRESS, _DE_NL_ADDRESS, _FR_ADDRESS, _ROMANCE_ADDRESS):
        out.extend((m.start(), m.end(), "ADDRESS") for m in rx.finditer(text))
    return out


WRITTEN_DETECTORS: tuple[Callable[[str], list[Found]], ...] = (
    find_emails, find_urls, find_ips, find_cards, find_ibans, find_national_ids,
    find_addresses)
