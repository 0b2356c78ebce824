"""What every tier that finds names shares: the letters of Latin-script names, the particles
inside names and place names, the words that make a text the writer's own, and the rule that a
name counts only near one of them and not as a public figure's.

The cue patterns (names.py, names_zh.py, addresses.py), the dictionary tier (dictionary.py) and
the NER tier (ner.py) read them from here, so a name one tier knows by its letters is not lost
by another that knew fewer letters.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable


def _latin(cased: Callable[[str], bool]) -> str:
    """The letters of Latin-1, Latin Extended-A/B and Latin Extended Additional (Vietnamese)
    for which ``cased`` holds, as the inside of a character class."""
    return "".join(chr(c) for c in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)) if cased(chr(c)))


# Capital and small letters of every Latin script: "Łukasz", "Wiśniewski", "Đặng", "Şahin".
UPPER = "A-Z" + _latin(str.isupper)
LOWER = "a-z" + _latin(str.islower)
# Two capitalised words in a row: the cheapest sign that a text may hold a full name.
TWO_CAPS = re.compile(rf"[{UPPER}][{LOWER}]{{1,24}} [{UPPER}]")

# Lower-case words inside a person's name or a place's ("Ana de la Cruz", "Ludwig van
# Beethoven", "Calle de Alcalá", "Avenida da Liberdade"); the longer first, so that "de la" is
# one particle.
_PARTICLES = (
    "van", "von", "der", "den", "de", "de la", "del", "della", "dei", "delle", "des", "da", "das",
    "di", "do", "dos", "du", "le", "la", "bin", "ibn", "ben", "al", "mc",
)  # fmt: skip
PARTICLE = "(?:" + "|".join(sorted(_PARTICLES, key=len, reverse=True)) + ")"

# Whose life a text is about. Personal data is about the writer's own: a name near "I/me/we"
# is a contact, one in "Summarize 'My Way' by Frank Sinatra" a public figure, one in a passage
# quoted three sentences away from "I" a character. Three widths, narrowest first: the writer's
# own words; those or "please" (a request made on the writer's behalf); those or a question
# put to the assistant ("can you", "could u").
_ME = r"I|I'm|I've|I'd|I'll|[Mm]e|[Mm]y|[Mm]ine|[Ww]e|[Uu]s|[Oo]ur|[Oo]urs"
_PLEASE = r"[Pp]lease|[Pp]ls"
_ASK = r"(?:[Cc]an|[Cc]ould|[Ww]ould|[Ww]ill) (?:you|u)"
FIRST_PERSON = re.compile(rf"\b(?:{_ME})\b")
FIRST_PERSON_OR_PLEASE = re.compile(rf"\b(?:{_ME}|{_PLEASE})\b")
FIRST_PERSON_OR_REQUEST = re.compile(rf"\b(?:{_ME}|{_PLEASE}|{_ASK})\b")

NEAR = 100  # characters between a name and the writer's word, either side
# A name introduced as the author, performer or subject of a work, or signing a quotation, is
# public whoever asks: "... by Ed Sheeran", "The author's name is George Orwell", "" - Mandela".
PUBLIC_CUE = re.compile(
    r"(?:\b(?:author|writer|novelist|poet|painter|sculptor|artist|composer|musician|singer"
    r"|rapper|band|director|actor|actress|character|player|athlete|champion|scientist"
    r"|philosopher|president|senator|minister|emperor|king|queen|quoted?|said|style of"
    r"|works? of|according to)\b[^.!?\n]{0,30}"
    r"|\b(?:by|feat\.|ft\.)\s{1,3}(?:the\s{1,3})?"
    r"|(?:^|\n|[\"”'’.!?])\s{0,3}[-—–~]\s{0,3})$",
    re.I,
)


def about_the_writer(text: str, start: int, end: int, near: list[int]) -> bool:
    """Whether the name ``text[start:end]`` is the writer's business: one of ``near`` (the
    sorted offsets of the writer's words) within ``NEAR`` characters, and no ``PUBLIC_CUE`` in
    the 40 characters before it. Constant work apart from the bisection."""
    k = bisect.bisect_left(near, start - NEAR)
    if k == len(near) or near[k] > end + NEAR:
        return False
    return not PUBLIC_CUE.search(text[max(0, start - 40) : start])
