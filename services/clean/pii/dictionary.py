"""Names found by dictionary: two capitalised words in a row that lists of given names and
surnames of 86 locales say are a person's name ("Kwame Mensah", "Tanaka Hiroshi", "Oksana
Bondarenko"), for the names that come without a cue and that the English NER model does not
know.

A pair is a name when one word is a given name and the other a surname, in either order, and
at least one of them is not also an English word ("Grace Park" is left to the NER tier); or when
a given name is followed by a capitalised word that is neither an English word nor in the lists
("Wanjiru Kagwe"), or such a word by a surname. The run grows over the next capitalised words
that are not English words, four at most ("Maria Dela Cruz").

As for the NER tier, a name is personal data only about the writer's own life: it is taken only
within 100 characters of a word that makes the text the writer's (``PERSONAL``: first or second
person, "please", a request verb opening a sentence), and not when introduced as an author,
performer or quoted speaker (``lexicon.about_the_writer``). Word pairs of place
names ("Sri Lanka", "Costa Rica", "San Diego") are not names. Linear time: one pass
of a bounded token pattern and set look-ups.

The lists (data/names.txt.gz) are built by data/build_names.py from Faker's person providers
and SCOWL's English word list; see data/README.md.
"""

from __future__ import annotations

import functools
import gzip
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources

from services.clean.pii.lexicon import (
    FIRST_PERSON_OR_REQUEST,
    LOWER,
    TWO_CAPS,
    UPPER,
    about_the_writer,
)
from services.errors import ConfigError

# A capitalised word: "Kwame", "O'Brien", "Min-jun", "Şahin", "Nguyễn"
TOKEN = re.compile(
    rf"(?<![{LOWER}{UPPER}\d])[{UPPER}][{LOWER}]{{1,24}}"
    rf"(?:['’][{UPPER}]?[{LOWER}]{{1,24}})?(?:-[{UPPER}]?[{LOWER}]{{1,24}})?"
    rf"(?![{LOWER}{UPPER}\d])"
)
_FOLD = str.maketrans({"ı": "i", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D",
                       "ß": "ss", "’": "'", "æ": "ae", "œ": "oe"})  # fmt: skip
MAX_WORDS = 4
# Whose life the text is about: the writer's (``FIRST_PERSON_OR_REQUEST``: "I", "my", "please",
# "can you") or the one the writer asks the assistant to act in: a sentence that starts with a
# verb of dealing with someone ("Draft", "Forward", "Remind" ...; not "Summarize" or "Write",
# which are about texts and their characters). Broader than the NER tier's words: "Draft a
# reminder to <name>" names the writer's contact as surely as "my colleague <name>" does, and
# the lists only take names, never capitalised words in general.
PERSONAL = re.compile(
    FIRST_PERSON_OR_REQUEST.pattern
    + r"|(?:^|(?<=[.!?\n]))[ \t]{0,3}(?:Draft|Send|Forward|Remind|Ask|Tell|Email|E-mail|Message"
    r"|Text|Call|Invite|Thank|Add|Cc|CC|Book|Schedule|Reply|Respond|Remove|Move|Assign|Notify"
    r"|Congratulate)\b"
)


def key(word: str) -> str:
    """The form a word is looked up by: accents and case folded ("Yılmaz" and "Yilmaz" meet)."""
    decomposed = unicodedata.normalize("NFKD", word.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True)
class Lists:
    given: frozenset[str]
    family: frozenset[str]
    english: frozenset[str]
    places: frozenset[str]  # "sri lanka": word pairs of place names


class DictionaryUnavailable(ConfigError):
    """The name lists shipped with the package are missing or unreadable."""


@functools.cache
def lists() -> Lists:
    sets: dict[str, set[str]] = {"G": set(), "S": set(), "E": set(), "P": set()}
    try:
        raw = (resources.files("services.clean.pii") / "data" / "names.txt.gz").read_bytes()
        for line in gzip.decompress(raw).decode().splitlines():
            tag, _, word = line.partition("\t")
            sets[tag].add(word)
    except (OSError, KeyError, ValueError) as exc:
        raise DictionaryUnavailable(f"personal-data name lists unreadable: {exc}") from exc
    return Lists(*(frozenset(sets[tag]) for tag in "GSEP"))


# word classes: G given name, S surname, B both, A a name that is also an English word,
# E an English word, U unknown (capitalised, in no list)
def word_class(k: str, ls: Lists) -> str:
    g, s = k in ls.given, k in ls.family
    if g or s:
        if k in ls.english:
            return "A"
        return "B" if g and s else ("G" if g else "S")
    return "E" if k in ls.english or len(k) < 3 else "U"


# words that start place names, never a person's name written in English text
PLACE_WORDS = frozenset({"san", "santa", "santo", "sao", "los", "las", "el", "puerto", "porto",
                         "port", "fort", "saint", "st", "rio", "mount", "lake", "cape", "nueva",
                         "nuevo", "new", "ciudad", "villa", "bad", "ho"})  # fmt: skip


def _pair(ka: str, ca: str, kb: str, cb: str, ls: Lists) -> bool:
    if ka in PLACE_WORDS or f"{ka} {kb}" in ls.places:
        return False
    if ca in "GSB" or cb in "GSB":  # at least one word that is only a name
        if (ka in ls.given and kb in ls.family) or (ka in ls.family and kb in ls.given):
            return True
    return (ca in "GB" and cb == "U") or (ca == "U" and cb in "SB") or (ca in "SB" and cb == "U")


def spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every name the lists find in ``text``, context not checked."""
    if TWO_CAPS.search(text) is None:
        return []
    ls = lists()
    toks = [(m.start(), m.end(), key(m.group())) for m in TOKEN.finditer(text)]
    out: list[tuple[int, int]] = []
    i = lo = 0  # lo: the first token not in a name found already
    while i < len(toks) - 1:
        (_, e, ka), (s2, _, kb) = toks[i], toks[i + 1]
        if text[e:s2] == " ":
            ca, cb = word_class(ka, ls), word_class(kb, ls)
            if _pair(ka, ca, kb, cb, ls):
                b = i  # grow left over name-like words not taken yet ("Maria Dela Cruz")
                while (
                    b > lo
                    and i + 1 - b + 1 < MAX_WORDS
                    and text[toks[b - 1][1] : toks[b][0]] == " "
                    and word_class(toks[b - 1][2], ls) in "GSBU"
                ):
                    b -= 1
                j = i + 1
                while (
                    j + 1 < len(toks)
                    and j - b + 1 < MAX_WORDS
                    and text[toks[j][1] : toks[j + 1][0]] == " "
                    and word_class(toks[j + 1][2], ls) in "GSBU"
                ):
                    j += 1
                out.append((toks[b][0], toks[j][1]))
                i = lo = j + 1
                continue
        i += 1
    return out


def personal_spans(text: str) -> list[tuple[int, int]]:
    """The names of ``spans`` that stand near a ``PERSONAL`` word and are not introduced as a
    public figure's."""
    if PERSONAL.search(text) is None:
        return []
    found = spans(text)
    if not found:
        return []
    near = [m.start() for m in PERSONAL.finditer(text)]
    return [(s, e) for s, e in found if about_the_writer(text, s, e, near)]


def redact_names(text: str, placeholder: str = "{{PERSON}}") -> tuple[str, bool]:
    """``text`` with the personal names the lists find replaced; whether any was."""
    found = personal_spans(text)
    if not found:
        return text, False
    parts, last = [], 0
    for s, e in found:
        parts += [text[last:s], placeholder]
        last = e
    parts.append(text[last:])
    return "".join(parts), True
