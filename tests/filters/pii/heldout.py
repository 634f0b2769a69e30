"""The held-out PII set: tests/data/pii_heldout.tsv, read into ``pii_cases.Case`` objects.

The generated set (pii_cases.py) and the detector were written together, so their figures
measure coverage of the modelled forms. This set was written by hand afterwards, in the style of
ASR output (voicemails, call-centre calls, podcasts, lectures; some lines all lower case; numbers
spoken as words), and committed before the detector was run on it: it is not tuned on.

Format: a TSV with ``id``, ``language`` and ``segments``; a recording's consecutive segments are
separated by `` || ``; a PII value is marked inline as ``[[TYPE: value]]``. Lines with no mark
are negatives (many carry capitalised non-names and numbers that are not PII). The form of a
planted value (for recall by form) follows from its text: ``spoken`` when it has no digit,
``mixed`` when it has digits and number words, else ``written``; person names are ``written``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from tests.filters.pii.pii_cases import DIGIT_WORDS, Case, Gold

HELDOUT_TSV = Path(__file__).resolve().parents[2] / "data" / "pii_heldout.tsv"
_MARK = re.compile(r"\[\[(?P<type>[A-Z_]+):\s*(?P<value>.+?)\]\]")
_SPOKEN = re.compile(rf"\b(?:{'|'.join(DIGIT_WORDS)}|oh|double|dot|at|slash|plus|"
                     r"twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)\b", re.I)


def _segment(marked: str) -> tuple[str, list[Gold], list[str]]:
    """Plain text, gold spans and forms of one marked-up segment."""
    text, gold, forms = [], [], []
    pos = last = 0
    for m in _MARK.finditer(marked):
        text.append(marked[last:m.start()])
        pos += m.start() - last
        value, pii_type = m.group("value"), m.group("type")
        gold.append((pos, pos + len(value), pii_type))
        forms.append(_form(value, pii_type))
        text.append(value)
        pos += len(value)
        last = m.end()
    text.append(marked[last:])
    return "".join(text), gold, forms


def _form(value: str, pii_type: str) -> str:
    if pii_type == "PERSON":
        return "written"
    digits, words = any(c.isdigit() for c in value), bool(_SPOKEN.search(value))
    if not digits:
        return "spoken" if words else "written"
    return "mixed" if words else "written"


def load_heldout(path: Path = HELDOUT_TSV) -> list[Case]:
    """One ``Case`` per line: kind ``planted:<lang>`` (``split`` for several segments) or
    ``negative`` when nothing is marked."""
    cases: list[Case] = []
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            parts = [_segment(s) for s in row["segments"].split(" || ")]
            gold = [g for _, g, _ in parts]
            forms = [f for _, _, fs in parts for f in fs]
            if len(parts) > 1:
                kind, forms = "split", forms[:1]
            elif any(gold):
                kind = f"planted:{row['language']}"
            else:
                kind = "negative"
            cases.append(Case([t for t, _, _ in parts], gold, kind, forms))
    return cases
