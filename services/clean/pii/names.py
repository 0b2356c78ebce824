"""Names and addresses by pattern and context, for English, German, French, Spanish and Chinese.

Without a model, a name is only recognisable by the words that introduce it ("my name is",
"我叫", "联系人：") and an address by its shape (a number and a street word, "…路88号") or by its
cue ("my address is", "地址是"). The NER tier (ner.py) adds names that come without a cue. A
Chinese name is a common surname and one or two more characters: without word boundaries in
Chinese, the surname list is what keeps "我是学生" from becoming a name.
"""

from __future__ import annotations

import re

from services.clean.pii.patterns import Detector, has

_SURNAMES_2 = "欧阳|司马|上官|诸葛|东方|皇甫|尉迟|公孙|慕容|长孙|宇文|司徒|夏侯|令狐|端木"
_SURNAMES_1 = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严"
    "覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚"
    "符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆"
    "农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋"
    "商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_NOT_IN_NAME = "的是在了和与想要请我你他她也就都还吗呢吧啊，。！？、：:；想问"
_ZH_GIVEN = rf"(?:(?![{_NOT_IN_NAME}])[\u4e00-\u9fff]){{1,2}}"
ZH_NAME = (
    r"(?:我叫|我的名字是|我的名字叫|名字叫|本人|姓名|联系人|收件人|收货人|签名|署名)"
    r"\s{0,2}(?:是|为|[:：])?\s{0,2}"
    rf"(?P<v>(?:{_SURNAMES_2}|[{_SURNAMES_1}]){_ZH_GIVEN})"
    # "我是" also starts "我是成功的": there the name must end the clause
    rf"|我是(?P<w>(?:{_SURNAMES_2}|[{_SURNAMES_1}]){_ZH_GIVEN})(?=$|[，,。.！!？?\s])"
)

_CAP = r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ'’\-]{1,20}"
_PARTICLE = r"(?:van|von|der|de|del|della|da|di|du|le|la|bin|al|ibn|mc)"
_FULL = rf"{_CAP}(?: (?:[A-Z]\.|{_PARTICLE}|{_CAP})){{1,3}}"
# A cue that may stand before a single given name, and one that needs a full name ("this is
# Python" is not a person); the precheck looks for any of them in the case-folded text.
_CUE_ONE = (
    "my name is",
    "my name's",
    "my full name is",
    "call me",
    "je m'appelle",
    "mon nom est",
    "ich heiße",
    "ich heisse",
    "mein name ist",
    "me llamo",
    "mi nombre es",
    "mi chiamo",
    "signed",
    "regards,",
    "cheers,",
    "sincerely,",
    "best,",
    "thanks,",
    "yours,",
    "contact person",
)
_CUE_FULL = (
    "i am", "i'm", "this is", "it's", "speaking with", "talk to", "ask for", "send it to",
    "forward it to", "addressed to", "attention", "attn",
)  # fmt: skip
_NOT_A_NAME = r"(?:The|A|An|This|That|These|Your|My|Our|His|Her|Their|Its|Name|None|Not|Unknown)"
EN_NAME_CUES = (*_CUE_ONE, *_CUE_FULL, "name")
EN_NAME = (
    r"(?:(?i:" + "|".join(map(re.escape, _CUE_ONE)) + r"|name\s?[:：]),?\s{1,3}"
    rf"(?!{_NOT_A_NAME}\b)(?P<v>{_FULL}|{_CAP})"
    r"|(?i:" + "|".join(map(re.escape, _CUE_FULL)) + r")\.?:?\s{1,3}"
    rf"(?P<w>{_FULL}))(?![a-z])"
)

# "Dr. Patel", "Mrs. Okafor": a title makes one capitalised word a name, but word problems and
# stories are full of "Mr. Sanchez's class"; a titled name counts only within 80 characters of a
# first-person word on the same line ("my appointment with Dr. Patel"), like the NER tier's names.
_HONORIFIC = r"(?:Mr|Mrs|Ms|Mx|Dr|Prof|Herr|Frau|Mme|Mlle)"
_ME = r"\b(?:I|I'm|I've|I'd|I'll|[Mm]e|[Mm]y|[Ww]e|[Uu]s|[Oo]ur)\b"


def _titled_name(group: str) -> str:
    return (
        rf"\b{_HONORIFIC}\.? (?!(?:Suite|Ste|Apt|Unit|Floor)\b)"
        rf"(?P<{group}>{_CAP}(?: (?:[A-Z]\.|{_PARTICLE}|{_CAP})){{0,3}})(?![a-z])"
    )


HONORIFIC_NAME = (
    rf"{_ME}[^\n]{{0,80}}?{_titled_name('v')}|{_titled_name('w')}(?=[^\n]{{0,80}}?{_ME})"
)
_HONORIFIC_HINT = re.compile(rf"\b{_HONORIFIC}\.? [A-ZÀ-ÖØ-Þ]")


_TITLES = ("Mr", "Ms", "Mx", "Dr", "Prof", "Herr", "Frau", "Mme", "Mlle")


def _titled(text: str) -> bool:
    return any(t in text for t in _TITLES) and _HONORIFIC_HINT.search(text) is not None


_STREET_EN = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl"
    r"|Terrace|Square|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Close|Crescent|Row|Gardens|Mews)"
)
_UNIT = r"(?:,? (?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl)\.? ?#?[A-Za-z0-9\-]{1,6})?"
_CITY_TAIL = (
    r"(?:, ?[A-Z][A-Za-z'’.\-]{1,24}(?: [A-Z][A-Za-z'’.\-]{1,24}){0,2}){0,3}"
    r"(?:,? (?:[A-Z]{2} \d{5}(?:-\d{4})?|\d{4,5}|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}))?"
)
EN_ADDRESS = rf"\b\d{{1,5}}[A-Za-z]?,? (?:[A-Z][A-Za-z'’.\-]{{1,20}} ){{1,4}}{_STREET_EN}\b\.?{_UNIT}{_CITY_TAIL}"
DE_ADDRESS = (
    r"\b[A-ZÄÖÜ][a-zäöüß\-]{1,30}(?:straße|strasse|str\.|weg|allee|platz|gasse|damm|ufer)"
    r" \d{1,4}[a-z]?(?:, ?\d{5} [A-ZÄÖÜ][a-zäöüß\-]{1,30})?"
    r"|\b\d{1,4},? (?:(?:rue|boulevard|bd|chemin|allée|impasse|quai) "
    r"|(?:avenue|place) (?=(?:de |des |du |d'|la |le )?[A-ZÉ]))[^\n,.;!?]{2,40}"
    r"(?:, ?\d{5} [A-Z][a-zéèêàç\-]{1,30})?"
    r"|\b(?:Calle|Avenida|Av\.|Plaza|Paseo|Via|Viale|Piazza|Corso) [A-Z][^\n,.;!?]{1,40} \d{1,4}"
    r"(?:, ?\d{5} [A-Z][a-záéíóúñ\-]{1,30})?"
)
ADDRESS_CUE = (
    r"(?i:my address is|my home address is|i live at|address\s?[:：]|mailing address\s?[:：]?"
    r"|shipping address\s?[:：]?|billing address\s?[:：]?|deliver it to|meine adresse ist"
    r"|ich wohne in der|mon adresse est|j'habite au|mi dirección es|vivo en la|住所は)"
    r"\s{0,3}(?:is\s)?(?P<v>[^\n;!?]{0,60}\d[^\n;!?]{0,60}?)(?=$|[\n;!?]|\.(?:\s|$))"
)
_ZH_PUNCT = "，。！？；、,!?;\n"
ZH_ADDRESS = (
    r"(?<!服务器)(?<!数据库)(?<!网)(?<!IP)(?<!ip)(?<!邮箱)(?<!邮件)(?<!链接)(?<!接口)(?<!内存)"
    r"(?:地址|住址|住在|家住|寄到|送到|邮寄到|收货地址|通讯地址|居住地)\s{0,2}(?:是|为|在|[:：])?\s{0,2}"
    rf"(?P<v>(?!\{{\{{)[^{_ZH_PUNCT}]{{4,60}})"
    r"|(?P<w>(?:[\u4e00-\u9fff]{2,7}(?:省|自治区))?[\u4e00-\u9fff]{2,7}(?:市|州|县|区)"
    r"[\u4e00-\u9fff0-9]{0,16}(?:路|街|道|巷|胡同|大道|弄)[0-9一二三四五六七八九十]{1,5}号"
    r"(?:[0-9A-Za-z\-]{1,6}(?:号楼|栋|幢|单元|室|楼|层)){0,4})"
)


def _has_cjk(text: str) -> bool:
    return not text.isascii()


def _zh_place(value: str) -> bool:
    """A Chinese address has Chinese characters and a number (号, a door or a floor), and is not a
    placeholder put there before: "住在美国" is a country, not an address."""
    return (
        "{{" not in value
        and any("\u4e00" <= ch <= "\u9fff" for ch in value)
        and any(ch.isdigit() or ch in "一二三四五六七八九十号" for ch in value)
    )


def _always(text: str) -> bool:
    return True


DETECTORS: tuple[Detector, ...] = (
    Detector("ADDRESS", re.compile(ZH_ADDRESS), _has_cjk, _zh_place),
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
        ),
        min_digits=1,
    ),  # fmt: skip
    Detector("ADDRESS", re.compile(EN_ADDRESS), _always, min_digits=1),
    Detector("ADDRESS", re.compile(DE_ADDRESS), _always, min_digits=1),
    Detector("PERSON", re.compile(ZH_NAME), _has_cjk),
    Detector("PERSON", re.compile(EN_NAME), has(*EN_NAME_CUES)),
    Detector("PERSON", re.compile(HONORIFIC_NAME), _titled),
)
