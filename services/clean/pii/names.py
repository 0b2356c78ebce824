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
    "商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝傅洪阎鄢郁蔺练"
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
# Without a naming cue, a surname and one or two characters is a name only as the object or the
# subject of a request about a person: after a word that takes a person ("给", "通知", "同事",
# "称呼") and before a verb, a particle or punctuation, or before a form of address ("先生",
# "老师"). The end of the name must be one of those, so "给方法加注释" is no name; and the
# text must be a request of the writer's (我, 帮, 请), checked by the precheck.
_ZH_PERSON_CUE = (
    r"(?:给|找|称呼|通知|告诉|联系|约|转交给|交给|提醒|邀请|感谢|谢谢|回复|"
    r"同事|朋友|客户|老板|领导|上司|经理|老师|同学|室友|邻居|表姐|表哥|姐姐|哥哥|妹妹|弟弟|"
    r"老公|老婆|丈夫|妻子|女朋友|男朋友|儿子|女儿|提交人|申请人|负责人|经办人|寄件人|顾客)"
)
_ZH_AFTER = (
    r"(?=$|[，,。.！!？?、；;：:\s）)]|写|发|打|回|说|来|去|会|要|想|已|明天|今天|昨天|"
    r"下周|上周|吃|见|买|送|聊|问|提|反映|取|签|开|做|帮|一下|一起|看|讲|借|还|寄|收|打电话|发邮件)"
)
_ZH_TITLE = r"(?:先生|女士|小姐|老师|经理|总监|主任|医生|大夫|教授|律师|同学|师傅|阿姨|叔叔|总)"
ZH_NAME_WEAK = (
    rf"{_ZH_PERSON_CUE}(?:一下)?\s{{0,2}}(?P<v>(?:{_SURNAMES_2}|[{_SURNAMES_1}]){_ZH_GIVEN})"
    rf"(?:{_ZH_AFTER}|(?={_ZH_TITLE}))"
    rf"|(?P<w>(?:{_SURNAMES_2}|[{_SURNAMES_1}]){_ZH_GIVEN})(?={_ZH_TITLE}(?:$|[，,：:！!。\s]|您好|你好))"
)


def _zh_request(text: str) -> bool:
    """A short request of the writer's: a story or an article quoted in a long prompt is full of
    transliterated names that start with a surname character ("马克", "安东尼")."""
    return (
        len(text) <= 200
        and not text.isascii()
        and any(w in text for w in ("我", "帮", "请", "麻烦", "您"))
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

# A full name in more contexts without a naming verb: "Ines Bianchi here" at the start of a clause,
# a relative or colleague ("my sister Amara Bauer"), "Dear …", "contact …", and a name alone on
# the line after a sign-off ("Kind regards\nOlivia James").
_NOT_ADDRESSEE = r"(?:Sir|Sirs|Madam|Team|Hiring|Customer|Valued|All|Friends?|Colleagues?|Members?|Editor|Reader|Diary|Santa|God|Lord|Mom|Mum|Dad)"
EN_NAME_HERE = (
    rf"(?:^|(?<=[,.!?;:\n]))[ \t]{{0,3}}(?P<v>{_FULL}) here\b(?![ \t]{{0,2}}(?:is|are|was)\b)"
)
_RELATIONS = (
    "sister", "brother", "mother", "father", "mom", "mum", "dad", "wife", "husband", "son",
    "daughter", "friend", "colleague", "coworker", "co-worker", "boss", "manager", "neighbor",
    "neighbour", "partner", "cousin", "uncle", "aunt", "grandma", "grandpa", "grandmother",
    "grandfather", "client", "landlord", "landlady", "roommate", "flatmate", "girlfriend",
    "boyfriend", "fiancé", "fiancée", "fiance", "fiancee", "nephew", "niece", "teammate",
    "supervisor", "tenant", "student", "teacher", "doctor", "lawyer", "assistant", "classmate",
)  # fmt: skip
EN_NAME_RELATION = (
    r"\b(?i:my|our)\s{1,2}(?:(?i:best|old|new|younger|older|little|big|former|dear)\s{1,2})?"
    r"(?i:" + "|".join(_RELATIONS) + r")(?:,|\s\(|\s[-–—])?\s{1,2}"
    rf"(?P<v>{_FULL})(?![a-z])"
)
EN_NAME_DEAR = (
    rf"\b(?:Dear|DEAR|dear|Contact|contact|CONTACT)[ \t]{{1,3}}(?!{_NOT_ADDRESSEE}\b|{_NOT_A_NAME}\b)"
    rf"(?P<v>{_FULL}|{_CAP}(?=[ \t]{{0,2}}[,:!\n]))(?![a-z])"
)
EN_NAME_SIGNOFF = (
    r"(?i:regards|wishes|thanks|thank you|cheers|best|sincerely|yours|cordially|respectfully"
    r"|warmly|take care)[,!.]?[ \t]{0,3}\n[ \t]{0,3}"
    rf"(?!{_NOT_A_NAME}\b|{_NOT_ADDRESSEE}\b)(?P<v>{_FULL}|{_CAP})(?=[ \t]{{0,3}}(?:$|\n|,))"
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


def _signoff(text: str) -> bool:
    return "\n" in text and has(
        "regards",
        "wishes",
        "thank",
        "cheers",
        "best",
        "sincerely",
        "yours",
        "cordially",
        "respectfully",
        "warmly",
        "take care",
    )(text)


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
    Detector("PERSON", re.compile(ZH_NAME_WEAK), _zh_request),
    Detector("PERSON", re.compile(EN_NAME), has(*EN_NAME_CUES)),
    Detector("PERSON", re.compile(EN_NAME_HERE), has(" here")),
    Detector("PERSON", re.compile(EN_NAME_RELATION), has("my ", "our ")),
    Detector("PERSON", re.compile(EN_NAME_DEAR), has("dear ", "contact ")),
    Detector("PERSON", re.compile(EN_NAME_SIGNOFF), _signoff),
    Detector("PERSON", re.compile(HONORIFIC_NAME), _titled),
)
