"""Addresses by shape and by cue, in English, the languages of continental Europe and Brazil,
and Chinese.

By shape: a number and a street word ("742 Evergreen Terrace, Springfield"), a street line with
a postcode and a town ("Schönhauser Allee 36, 10435 Berlin"), a Chinese district, road and door
number ("…路88号"). By cue: whatever holds a number after "my address is", "地址是" and their
kind. A flat, a building or a block before an address found is taken into it.
"""

from __future__ import annotations

import re

from services.clean.pii.lexicon import LOWER, PARTICLE, UPPER
from services.clean.pii.patterns import Detector, always, has, not_ascii

_STREET_EN = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl"
    r"|Terrace|Square|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Close|Crescent|Row|Gardens|Mews)"
)
_UNIT = (
    r"(?:,? (?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl)\.? ?#?[A-Za-z0-9\-]{1,6}"
    r"|,? #\d{1,3}-\d{1,4})?"
)
# City words stop before a digit, so that "Cardiff CF10 1BS" keeps its postcode whole; postcodes
# of the US (ZIP+4), 4-6 digits (AU, NZ, IN, SG), UK and Canada ("ON M5H 2N2").
_CITY_TAIL = (
    r"(?:, ?[A-Z][A-Za-z'’.\-]{1,24}(?![0-9])(?: [A-Z][A-Za-z'’.\-]{1,24}(?![0-9])){0,2}){0,3}"
    r"(?:,? (?:[A-Z]{2} \d{5}(?:-\d{4})?(?!\d)|\d{4,6}(?!\d)|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}"
    r"|(?:[A-Z]{2} )?[A-Z]\d[A-Z] ?\d[A-Z]\d))?"
)
# Before an address found: a flat or unit and an optional building ("Flat 3, ", "Flat 402, Lotus
# Apartments, "), or a block ("Blk 23 …", Singapore), taken into it.
ADDRESS_PREFIX = (
    r"\b(?:(?:Flat|Apt|Apartment|Unit|Suite)\.? ?#?\d{1,5}[A-Z]?, "
    r"(?:(?:[A-Z][A-Za-z'’\-]{1,20} ){1,3}(?:Apartments|Apts|Towers|House|Residency|Residences"
    r"|Building|Mansions|Court|Heights|Complex),? )?|(?:Blk|Block)\.? )\{\{ADDRESS\}\}"
)

# US directionals before and after the street name ("13 W Fullerton Ave", "… Street NE").
_DIRECTION = r"(?:(?:N|S|E|W|NE|NW|SE|SW)\.? )?"
EN_ADDRESS = (
    rf"\b\d{{1,5}}[A-Za-z]?,? {_DIRECTION}(?:[{UPPER}][{LOWER}{UPPER}'’.\-]{{1,20}} ){{1,4}}"
    rf"{_STREET_EN}\b\.?(?: (?:N|S|E|W|NE|NW|SE|SW)\b| \d{{1,3}}\b)?{_UNIT}{_CITY_TAIL}"
)
DE_ADDRESS = (
    r"\b[A-ZÄÖÜ][a-zäöüß\-]{1,30}(?:straße|strasse|str\.|weg|allee|platz|gasse|damm|ufer)"
    r" \d{1,4}[a-z]?(?:, ?\d{5} [A-ZÄÖÜ][a-zäöüß\-]{1,30})?"
    r"|\b\d{1,4},? (?:(?:rue|boulevard|bd|chemin|allée|impasse|quai) "
    r"|(?:avenue|place) (?=(?:de |des |du |d'|la |le )?[A-ZÉ]))[^\n,.;!?]{2,40}"
    r"(?:, ?\d{5} [A-Z][a-zéèêàç\-]{1,30})?"
    r"|\b(?:Calle|Avenida|Av\.|Plaza|Paseo|Via|Viale|Piazza|Corso|Rua|Travessa|Praça|Alameda"
    rf"|Largo|Estrada) (?:{PARTICLE} )?[A-Z][^\n,.;!?]{{1,40}} \d{{1,4}}"
    r"(?:, ?\d{5} [A-Z][a-záéíóúñ\-]{1,30})?"
)
# A continental street line: street words, a house number, then a postcode and a city, in any
# of the postcode formats of Europe and Brazil (DE/FR/IT/ES/AT/CH/BE/DK/NO/FI 4-5 digits with
# an optional country prefix, NL "1016 GV", PL "00-950", PT "4050-265", BR "01426-001",
# SE/CZ/SK/GR "111 22"), with an optional city and state before it ("São Paulo - SP, 01426-001").
# The street is one to five words, the first capitalised ("Am Sandtorkai 12", "Calle de Alcalá
# 42", "Prinsengracht 263", "Mariahilfer Straße 5"). A four-digit "postcode" that reads as a year
# (1900-2099) is not taken: "Windows 10, 2019 Server".
_POSTCODE = (
    r"(?:\d{5}-\d{3}|\d{4}-\d{3}|\d{2}-\d{3}|\d{4} ?[A-Z]{2}(?![{L}])|\d{3} \d{2}(?!\d)"
    r"|(?:[A-Z]{1,2}-)?(?!(?:19|20)\d\d(?!\d))\d{4,5})(?!\d)"
).replace("{L}", LOWER)
_TOWN = rf"[{UPPER}][{LOWER}'’\-]{{1,25}}(?:[ \-](?:[{UPPER}][{LOWER}'’\-]{{1,25}}|{PARTICLE}|am|an|im|sur|sous|bei)){{0,3}}"
_MONTH = (
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|January|February|March|April|June"
    r"|July|August|September|October|November|December|Januar|Februar|März|Juni|Juli|Oktober"
    r"|Dezember|janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre"
    r"|décembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre"
    r"|noviembre|diciembre)"
)
_STREET_WORD = rf"(?!{_MONTH}(?![{LOWER}]))[{UPPER}][{LOWER}{UPPER}'’.\-]{{0,25}}"
# before the postcode, a district or an abbreviation may end in a dot ("Col. Juárez")
_DISTRICT = rf"[{UPPER}][{LOWER}'’\-]{{1,25}}\.?(?:[ \-](?:[{UPPER}][{LOWER}'’\-]{{1,25}}\.?|{PARTICLE})){{0,3}}"
EU_ADDRESS = (
    rf"(?<![{LOWER}{UPPER}0-9])(?P<v>{_STREET_WORD}"
    rf"(?: (?:{PARTICLE}|{_STREET_WORD})){{0,4}}"
    rf" \d{{1,4}}[a-zA-Z]?(?:[-/]\d{{1,4}}[a-zA-Z]?)?"
    rf"(?:, ?{_DISTRICT}(?: ?[-–] ?[A-Z]{{2}})?){{0,2}}"
    rf"(?:,? {{1,2}}{_POSTCODE} {_TOWN}|(?<= [-–] [A-Z]{{2}}), {_POSTCODE}))"
)
_EU_HINT = re.compile(r"\d,? {1,2}(?:[A-Z][^\n,]{0,40}, ?){0,2}\d{2}")


def _eu_postcode(text: str) -> bool:
    return _EU_HINT.search(text) is not None


ADDRESS_CUE = (
    r"(?i:my address is|my home address is|i live at|address\s?[:：]|mailing address\s?[:：]?"
    r"|shipping address\s?[:：]?|billing address\s?[:：]?|deliver it to|meine adresse ist"
    r"|ich wohne in der|mon adresse est|j'habite au|mi dirección es|vivo en la|住所は"
    r"|address on file\s?[:：]|address line ?1?\s?[:：]|street(?: address)?\s?[:：]|anschrift\s?[:：]"
    r"|adresse\s?[:：]|dirección\s?[:：]|endereço\s?[:：]|indirizzo\s?[:：]|adres\s?[:：])"
    r"\s{0,3}(?:is\s)?(?P<v>[^\n;!?]{0,60}\d[^\n;!?]{0,60}?)(?=$|[\n;!?]|\.(?:\s|$))"
)
_ZH_PUNCT = "，。！？；、,!?;\n"
ZH_ADDRESS = (
    r"(?<!服务器)(?<!数据库)(?<!网)(?<!IP)(?<!ip)(?<!邮箱)(?<!邮件)(?<!链接)(?<!接口)(?<!内存)"
    r"(?:地址|住址|住在|家住|寄到|送到|邮寄到|收货地址|通讯地址|居住地)\s{0,2}(?:是|为|在|[:：])?\s{0,2}"
    rf"(?P<v>(?!\{{\{{)(?:[^{_ZH_PUNCT}]|,(?=[A-Z0-9#]| [A-Z0-9#])){{4,80}})"
    r"|(?P<w>(?:[\u4e00-\u9fff]{2,7}(?:省|自治区))?[\u4e00-\u9fff]{2,7}(?:市|州|县|区)"
    r"[\u4e00-\u9fff0-9]{0,16}(?:路|街|道|巷|胡同|大道|弄)[0-9一二三四五六七八九十]{1,5}号"
    r"(?:[0-9A-Za-z\-]{1,6}(?:号楼|栋|幢|单元|室|楼|层)){0,4})"
)


def _zh_place(value: str) -> bool:
    """A Chinese address has Chinese characters and a number (号, a door or a floor), and is not a
    placeholder put there before: "住在美国" is a country, not an address."""
    if "{{" in value:
        return False
    if any("\u4e00" <= ch <= "\u9fff" for ch in value):
        return any(ch.isdigit() or ch in "一二三四五六七八九十号" for ch in value)
    # after 地址/收货地址/寄到: a Latin-script address has a number and a capitalised word
    return _LATIN_PLACE.search(value) is not None


_LATIN_PLACE = re.compile(
    rf"\d{{1,5}}\b.{{0,40}}[{UPPER}][{LOWER}]{{2}}|[{UPPER}][{LOWER}]{{2}}.{{0,40}}\b\d{{1,5}}"
)


# every alternative of DE_ADDRESS has one of these words
_STREET_WORDS = has(
    "straße", "strasse", "str.", "weg", "allee", "platz", "gasse", "damm", "ufer", "rue",
    "boulevard", "bd", "chemin", "allée", "impasse", "quai", "avenue", "place", "calle",
    "avenida", "av.", "plaza", "paseo", "via", "viale", "piazza", "corso", "rua", "travessa",
    "praça", "alameda", "largo", "estrada",
)  # fmt: skip


DETECTORS: tuple[Detector, ...] = (
    Detector("ADDRESS", re.compile(EU_ADDRESS), _eu_postcode, min_digits=5),
    Detector("ADDRESS", re.compile(ZH_ADDRESS), not_ascii, _zh_place),
    Detector(
        "ADDRESS",
        re.compile(ADDRESS_CUE),
        has(
            "address",
            "i live at",
            "deliver it to",
            "adresse",
            "ich wohne",
            "j'habite",
            "dirección",
            "vivo en",
            "住所",
            "street",
            "anschrift",
            "endereço",
            "indirizzo",
            "adres",
        ),
        min_digits=1,
    ),  # fmt: skip
    Detector("ADDRESS", re.compile(EN_ADDRESS), always, min_digits=1),
    Detector("ADDRESS", re.compile(DE_ADDRESS), _STREET_WORDS, min_digits=1),
    Detector("ADDRESS", re.compile(ADDRESS_PREFIX), has("{{address}}")),
)
