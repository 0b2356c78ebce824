"""Builds names.txt.gz, the word lists of services/clean/pii/dictionary.py. Run once by a
maintainer, not at install or start (the output is committed):

    pip install faker==40.63.0 && apt-get install wamerican
    .venv/bin/python services/clean/pii/data/build_names.py

Given names and surnames: every Latin-script token of the person providers of Faker 40.63.0 (MIT;
86 locales: Nigerian, Kenyan, Ghanaian, Indian, Vietnamese, Turkish, Persian, Indonesian, ...,
with the romanised lists of the Japanese and Chinese locales, and the common Latin spellings of the
Cyrillic, Greek and Hangul names: romanize.py). English words: the
lower-case entries of SCOWL's american-english list (Debian's wamerican; see README.md), the
words that a capital letter at the start of a sentence does not make a name ("Forward",
"Please"). A name that is also such a word ("Will", "Grace", "Park") is marked ambiguous.
Place names: the adjacent word pairs of the city, region and country lists of Faker's address
providers ("Sri Lanka", "Costa Rica"), which pair a listed surname or given name too.
"""

from __future__ import annotations

import gzip
import importlib
import pkgutil
import re
from pathlib import Path

from services.clean.pii.data.romanize import romanize
from services.clean.pii.dictionary import key
from services.clean.pii.lexicon import LOWER, UPPER

OUT = Path(__file__).with_name("names.txt.gz")
WORDS = Path("/usr/share/dict/american-english")
_LATIN = re.compile(rf"^[{UPPER}{LOWER}'’\-]+$")


def faker_names() -> tuple[set[str], set[str]]:
    from faker.providers import person  # type: ignore[import-not-found]

    given: set[str] = set()
    family: set[str] = set()
    for m in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"faker.providers.person.{m.name}").Provider
        for attr in dir(provider):
            if not (attr.endswith("names") or attr.endswith("names_romanized")):
                continue
            if "prefix" in attr or "suffix" in attr:
                continue
            if attr.startswith("first"):
                into = given
            elif attr.startswith("last"):
                into = family
            else:
                continue
            values = getattr(provider, attr)
            if not isinstance(values, (tuple, list, dict)):
                continue
            for name in values:
                for tok in str(name).split():
                    if len(tok) >= 2 and tok[0].isupper() and _LATIN.match(tok):
                        into.add(key(tok))
                    else:  # Cyrillic, Greek, Hangul: their common Latin spellings
                        into.update(key(r) for r in romanize(tok, m.name))
    return given, family


PLACE_ATTRS = (
    "cities", "city_names", "countries", "counties", "states", "provinces", "regions",
    "region_names", "region_republics", "settlements", "villages", "communes", "localities",
    "places", "metro_manila_lgus", "luzon_provinces", "mindanao_provinces", "visayas_provinces",
    "province_lgus", "wilayas", "bairros", "concelhos", "distritos", "freguesias",
)  # fmt: skip


def faker_places() -> set[str]:
    """Adjacent word pairs of the place names of every locale ("sri lanka", "costa rica")."""
    from faker.providers import address  # type: ignore[import-not-found]

    pairs: set[str] = set()
    for m in pkgutil.iter_modules(address.__path__):
        provider = importlib.import_module(f"faker.providers.address.{m.name}").Provider
        for attr in PLACE_ATTRS:
            values = getattr(provider, attr, ())
            if not isinstance(values, (tuple, list, dict)):
                continue
            for place in values:
                words = [key(w) for w in str(place).split() if _LATIN.match(w)]
                pairs.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
    return pairs


def main() -> None:
    given, family = faker_names()
    places = faker_places()
    english = {
        key(w) for w in WORDS.read_text().split() if w[:1].islower() and not w.endswith("'s")
    }
    lines = [f"G\t{k}" for k in sorted(given)]
    lines += [f"S\t{k}" for k in sorted(family)]
    lines += [f"E\t{k}" for k in sorted(english)]
    lines += [f"P\t{k}" for k in sorted(places)]
    with OUT.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(("\n".join(lines) + "\n").encode())
    amb = (given | family) & english
    print(
        f"{OUT}: {len(given)} given, {len(family)} family, {len(english)} English words, "
        f"{len(amb)} names that are also words, {len(places)} place word pairs, "
        f"{OUT.stat().st_size} bytes"
    )


if __name__ == "__main__":
    main()
