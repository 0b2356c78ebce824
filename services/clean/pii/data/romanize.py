"""Latin spellings of names written in Cyrillic, Greek and Hangul, for build_names.py.

Names reach a chat in the Latin alphabet as often as in their own ("Oksana Bondarenko", "Giorgos
Papadopoulos", "Kim Min-jun"), and there is no one spelling: passports, newspapers and people
write the same name differently ("Aleksandr", "Alexander"; "Yuliya", "Iuliia"). Each name gets
its spellings under a few common systems, a handful per name:

- Cyrillic (Russian, Ukrainian, Bulgarian, Macedonian): BGN/PCGN-like, ICAO passport (9303,
  2013) and the English press forms ("x" for "кс", "-y" for a final "-ий");
  Ukrainian "г" as "h" and as "g";
- Greek: ELOT 743 with the common alternatives ("ch"/"h" for "χ", "i" for "υ", "ει", "οι",
  "b"/"d" for an initial "μπ"/"ντ");
- Hangul: the Revised Romanization by syllable, joined and hyphenated ("Minjun", "Min-jun"), and for surnames the spellings people actually use ("Lee", "Park",
  "Choi"), from ``SURNAMES_KO``.

Build-time only: the worker reads the built lists, never this module.
"""

from __future__ import annotations

import itertools
import unicodedata

MAX_SPELLINGS = 6

# Cyrillic: each letter's spellings, the first one the main system's.
_CYR: dict[str, tuple[str, ...]] = {
    "а": ("a",), "б": ("b",), "в": ("v",), "г": ("g",), "ґ": ("g",), "д": ("d",),
    "е": ("e",), "ё": ("yo", "e"), "є": ("ye", "ie"), "ж": ("zh",), "з": ("z",),
    "и": ("i",), "і": ("i",), "ї": ("yi", "i"), "й": ("y", "i"), "ј": ("j",), "к": ("k",),
    "л": ("l",), "љ": ("lj",), "м": ("m",), "н": ("n",), "њ": ("nj",), "о": ("o",),
    "п": ("p",), "р": ("r",), "с": ("s",), "т": ("t",), "ћ": ("c",), "ќ": ("kj",),
    "ѓ": ("gj",), "у": ("u",), "ф": ("f",), "х": ("kh", "h"), "ц": ("ts", "c"),
    "ч": ("ch",), "џ": ("dzh",), "ш": ("sh",), "щ": ("shch", "sht"), "ъ": ("", "a"),
    "ы": ("y",), "ь": ("",), "э": ("e",), "ю": ("yu", "iu"), "я": ("ya", "ia"), "ѕ": ("dz",),
    "'": ("",), "’": ("",),
}  # fmt: skip
_CYR_PAIRS: dict[str, tuple[str, ...]] = {
    "кс": ("ks", "x"), "ий": ("iy", "y", "ii"), "ый": ("y", "iy"), "ей": ("ey", "ei"),
    "ья": ("ya", "ia"), "ье": ("ye", "ie"), "ьо": ("yo",), "ия": ("iya", "ia", "iia"),
    "ія": ("iya", "ia", "iia"),
}  # fmt: skip
_UK = {"г": ("h", "g"), "и": ("y", "i"), "е": ("e",), "є": ("ye", "ie")}

_GREEK: dict[str, tuple[str, ...]] = {
    "α": ("a",), "β": ("v",), "γ": ("g", "gh"), "δ": ("d",), "ε": ("e",), "ζ": ("z",),
    "η": ("i",), "θ": ("th",), "ι": ("i",), "κ": ("k",), "λ": ("l",), "μ": ("m",),
    "ν": ("n",), "ξ": ("x", "ks"), "ο": ("o",), "π": ("p",), "ρ": ("r",), "σ": ("s",),
    "ς": ("s",), "τ": ("t",), "υ": ("y", "i"), "φ": ("f", "ph"), "χ": ("ch", "h"),
    "ψ": ("ps",), "ω": ("o",),
}  # fmt: skip
_GREEK_PAIRS: dict[str, tuple[str, ...]] = {
    "ου": ("ou", "u"), "αι": ("ai", "e"), "ει": ("ei", "i"), "οι": ("oi", "i"),
    "αυ": ("av", "af"), "ευ": ("ev", "ef"), "γγ": ("ng",), "γκ": ("gk", "g", "nk"),
    "μπ": ("mp", "b"), "ντ": ("nt", "d"), "τσ": ("ts",), "τζ": ("tz",),
}  # fmt: skip

# Hangul: Revised Romanization of initials, vowels and finals (jamo order of Unicode).
_INITIAL = ("g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch",
            "k", "t", "p", "h")  # fmt: skip
_VOWEL = ("a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u",
          "wo", "we", "wi", "yu", "eu", "ui", "i")  # fmt: skip
_FINAL = ("", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m",
          "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t")  # fmt: skip
# The usual spellings of the common Korean surnames (by their Hangul), beside the RR form.
SURNAMES_KO: dict[str, tuple[str, ...]] = {
    "김": ("Kim", "Gim"), "이": ("Lee", "Yi", "Rhee"), "박": ("Park", "Pak", "Bak"),
    "최": ("Choi", "Choe"), "정": ("Jung", "Jeong", "Chung"), "강": ("Kang", "Gang"),
    "조": ("Cho", "Jo"), "윤": ("Yoon", "Yun"), "장": ("Jang", "Chang"), "임": ("Lim", "Im"),
    "한": ("Han",), "오": ("Oh", "O"), "서": ("Seo", "Suh"), "신": ("Shin", "Sin"),
    "권": ("Kwon", "Gwon"), "황": ("Hwang",), "안": ("Ahn", "An"), "송": ("Song",),
    "류": ("Ryu", "Yoo", "Yu"), "유": ("Yoo", "Yu"), "전": ("Jeon", "Jun", "Chun"),
    "홍": ("Hong",), "고": ("Ko", "Go"), "문": ("Moon", "Mun"), "양": ("Yang",),
    "손": ("Son", "Sohn"), "배": ("Bae",), "백": ("Baek", "Paik"), "허": ("Heo", "Hur"),
    "남": ("Nam",), "노": ("Noh", "Roh", "No"), "하": ("Ha",), "곽": ("Kwak", "Gwak"),
    "성": ("Sung", "Seong"), "차": ("Cha",), "주": ("Joo", "Ju"), "우": ("Woo", "U"),
    "민": ("Min",), "나": ("Na", "Ra"), "진": ("Jin",), "지": ("Ji",), "엄": ("Eom", "Um"),
    "채": ("Chae",), "원": ("Won",), "천": ("Cheon", "Chun"), "방": ("Bang",),
    "공": ("Kong", "Gong"), "현": ("Hyun", "Hyeon"), "함": ("Ham",), "변": ("Byun", "Byeon"),
    "염": ("Yeom", "Yum"), "여": ("Yeo",), "추": ("Choo", "Chu"), "도": ("Do",),
    "소": ("So",), "석": ("Seok", "Suk"), "선": ("Sun", "Seon"), "설": ("Seol", "Sul"),
    "마": ("Ma",), "길": ("Gil", "Kil"), "연": ("Yeon", "Yun"), "위": ("Wi", "Wee"),
    "표": ("Pyo",), "명": ("Myung", "Myeong"), "기": ("Ki", "Gi"), "반": ("Ban",),
    "왕": ("Wang",), "금": ("Keum", "Geum"), "옥": ("Ok",), "육": ("Yuk",), "인": ("In",),
    "맹": ("Maeng",), "제": ("Je",), "모": ("Mo",), "탁": ("Tak",), "국": ("Kook", "Guk"),
    "어": ("Eo",), "은": ("Eun",), "편": ("Pyeon",), "용": ("Yong",), "예": ("Ye",),
    "경": ("Kyung", "Gyeong"), "봉": ("Bong",), "사": ("Sa",), "부": ("Bu", "Boo"),
    "황보": ("Hwangbo",), "남궁": ("Namgung",), "제갈": ("Jegal",), "선우": ("Sunwoo",),
}  # fmt: skip


def _spell(word: str, letters: dict[str, tuple[str, ...]], pairs: dict[str, tuple[str, ...]]):
    """Each position's choices, pairs of letters first."""
    parts: list[tuple[str, ...]] = []
    i = 0
    while i < len(word):
        two = word[i : i + 2]
        if two in pairs:
            choices = pairs[two]
            if two in ("μπ", "ντ") and i > 0:  # inside a word also "mb"/"nd"
                choices = (choices[0], choices[0][0] + choices[1], choices[1])
            parts.append(choices)
            i += 2
            continue
        if word[i] not in letters:
            return []
        if i == 0 and word[i] == "е":  # an initial "е" is also written "ye" ("Yevgeny")
            parts.append(("e", "ye"))
        else:
            parts.append(letters[word[i]])
        i += 1
    return parts


def _variants(parts: list[tuple[str, ...]]) -> list[str]:
    """The main spelling first, then single and double departures from it, at most
    ``MAX_SPELLINGS``."""
    main = "".join(p[0] for p in parts)
    out = [main]
    alts = [(i, c) for i, p in enumerate(parts) for c in p[1:]]
    for k in (1, 2):
        for combo in itertools.combinations(alts, k):
            if len({i for i, _ in combo}) < k:
                continue
            chosen = dict(combo)
            out.append("".join(chosen.get(i, p[0]) for i, p in enumerate(parts)))
            if len(dict.fromkeys(out)) >= MAX_SPELLINGS:
                return list(dict.fromkeys(out))
    return list(dict.fromkeys(out))


def _strip_accents(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


def romanize(name: str, locale: str) -> list[str]:
    """Latin spellings of one name token (capitalised), or [] when its script is not one of
    these or a letter is unknown."""
    if not name:
        return []
    if locale.startswith("ko"):
        return _hangul(name)
    word = unicodedata.normalize("NFC", name).lower()  # "й", "ё", "ї" are letters of their own
    if "\u0370" <= word[0] <= "\u03ff":
        parts = _spell(_strip_accents(word), _GREEK, _GREEK_PAIRS)  # the tonos is an accent
    elif "\u0400" <= word[0] <= "\u04ff":
        letters = {**_CYR, **_UK} if locale.startswith("uk") else _CYR
        parts = _spell(word, letters, _CYR_PAIRS)
    else:
        return []
    return [v.capitalize() for v in _variants(parts) if len(v) >= 2]


def _syllable(ch: str) -> str | None:
    code = ord(ch) - 0xAC00
    if not 0 <= code < 11172:
        return None
    return _INITIAL[code // 588] + _VOWEL[(code % 588) // 28] + _FINAL[code % 28]


def _hangul(name: str) -> list[str]:
    if name in SURNAMES_KO:
        return list(SURNAMES_KO[name])
    syllables = [_syllable(ch) for ch in name]
    parts = [s for s in syllables if s is not None]
    if not parts or len(parts) < len(syllables):
        return []
    if len(parts) == 1:
        return [parts[0].capitalize()]
    joined = "".join(parts).capitalize()
    hyphen = parts[0].capitalize() + "-" + "-".join(parts[1:])
    return [joined, hyphen]
