"""Multi-word place names, to veto the NER's "São Paulo" as a PERSON.

spaCy's small English model tags some multi-word place names it rarely saw in news text as
people ("It took 7 hours to get to São Paulo"). ``data/places.txt`` lists the multi-word place
names of libphonenumber's geocoder (the English names of the areas its phone prefixes cover:
8.7k towns, cities and regions of every continent), lower-cased. A PERSON span whose whole text
is one of them, without a strong person context, is dropped. Single-word names are left out on
purpose: Mary, Thomas, Victoria, Austin and Florence are all towns.

Rebuild after a phonenumbers upgrade with ``python -m filters.pii.places`` (loading the
geocoder takes seconds and ~100 MB, which is why the list is stored rather than built at load).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

PLACES_FILE = Path(__file__).with_name("data") / "places.txt"


@lru_cache(maxsize=1)
def multiword_places() -> frozenset[str]:
    lines = PLACES_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def build() -> list[str]:
    import phonenumbers
    from phonenumbers.geodata import GEOCODE_DATA

    names: set[str] = set()
    for descriptions in GEOCODE_DATA.values():
        english = descriptions.get("en")
        if not english:
            continue
        for part in re.split(r",| - |/|\(|\)", english):
            part = part.strip()
            if " " in part and not part.isupper():
                names.add(part.lower())
    header = [f"# multi-word place names from phonenumbers {phonenumbers.__version__} geodata "
              f"(English); rebuild: python -m filters.pii.places"]
    return header + sorted(names)


if __name__ == "__main__":
    PLACES_FILE.parent.mkdir(exist_ok=True)
    PLACES_FILE.write_text("\n".join(build()) + "\n", encoding="utf-8")
    print(f"wrote {PLACES_FILE} ({len(multiword_places.__wrapped__())} names)")
