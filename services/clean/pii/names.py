"""Names and addresses by pattern and context, for English, German, French, Spanish and Chinese.

Without a model, a name is only recognisable by the words that introduce it ("my name is",
"我叫", "联系人：") and an address by its shape (a number and a street word, "…路88号") or by its
cue ("my address is", "地址是"). The NER tier (ner.py) adds names that come without a cue. A
Chinese name is a common surname and one or two more characters: without word boundaries in
Chinese, the surname list is what keeps "我是学生" from becoming a name.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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


def _latin(pred: Callable[[str], bool]) -> str:
    """The letters of Latin-1, Latin Extended-A/B and Latin Extended Additional (Vietnamese)
    for which ``pred`` holds, as the inside of a character class."""
    cps = [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]
    return "".join(chr(c) for c in cps if pred(chr(c)) and chr(c) not in "×÷")


# Capital and small letters of every Latin script: "Łukasz", "Wiśniewski", "Đặng", "Şahin".
UPPER = "A-Z" + _latin(str.isupper)
LOWER = "a-z" + _latin(str.islower)
# A capitalised word: "Kim", "O'Brien", "MacLeod", "D'Angelo", and double-barrelled or hyphenated
# "Al-Farsi", "Mensah-Bonsu", "Ji-woo".
_CAP = rf"[{UPPER}](?:[{LOWER}]{{0,3}}['’]?[{UPPER}])?[{LOWER}]{{1,20}}(?:-[{UPPER}]?[{LOWER}]{{1,20}})?"
_PARTICLE = r"(?:van|von|der|de|del|della|da|di|du|le|la|bin|al|ibn|mc|dos|das|do)"
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
    rf"(?P<w>{_FULL}))(?![{LOWER}])"
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
    rf"(?P<v>{_FULL})(?![{LOWER}])"
)
EN_NAME_DEAR = (
    rf"\b(?:Dear|DEAR|dear|Contact|contact|CONTACT)[ \t]{{1,3}}(?!{_NOT_ADDRESSEE}\b|{_NOT_A_NAME}\b)"
    rf"(?P<v>{_FULL}|{_CAP}(?=[ \t]{{0,2}}[,:!\n]))(?![{LOWER}])"
)
EN_NAME_SIGNOFF = (
    r"(?i:regards|wishes|thanks|thank you|cheers|best|sincerely|yours|cordially|respectfully"
    r"|warmly|take care)[,!.]?[ \t]{0,3}\n[ \t]{0,3}"
    rf"(?!{_NOT_A_NAME}\b|{_NOT_ADDRESSEE}\b)(?P<v>{_FULL}|{_CAP})(?=[ \t]{{0,3}}(?:$|\n|,))"
)


# Form, ticket and record fields (third pass, issue #16, written from bench/pii_holdout.py's misses
# by category): a label that names a person at the start of a field ("Passenger: …", "Customer:
# …", "Applicant name - …", '"customer_name": "…"', "Ansprechpartner: …") followed by a full
# name; and labels that say who did something ("Requester …", "opened by …", "Cc …"), which need
# no separator. One capitalised word is not enough here ("Customer: Premium").
_FIELD_LABELS = (
    "full name", "first and last name", "customer name", "customer", "client name", "client",
    "contact name", "contact person", "contact", "emergency contact", "next of kin",
    "passenger name", "passenger", "guest name", "guest", "patient name", "patient",
    "applicant name", "applicant", "candidate name", "candidate", "employee name", "employee",
    "tenant", "landlord", "recipient name", "recipient", "addressee", "sender", "from", "to",
    "beneficiary", "name of insured", "insured", "policyholder", "policy holder",
    "account holder", "account name", "cardholder", "card holder", "holder", "driver",
    "traveller", "traveler", "attendee", "participant", "student name", "student", "member",
    "buyer", "seller", "consignee", "shipper", "caller", "owner", "spouse", "parent",
    "guardian", "witness", "signatory", "user", "username", "requester name", "agent",
    "ansprechpartner", "ansprechpartnerin", "kontaktperson", "kunde", "kundin", "empfänger",
    "absender", "antragsteller", "vorname und nachname", "nom complet", "nom et prénom",
    "destinataire", "expéditeur", "nombre completo", "nombre y apellidos", "destinatario",
    "remitente", "titular", "nome completo", "destinatário", "remetente", "naam",
    "contactpersoon", "ontvanger",
)  # fmt: skip
_FIELD_START = r"(?:^|(?<=[\n|;\[\](){}\t]))[ \t]{0,3}[\"']?"
_FIELD_SEP = r"[\"']?[ \t]{0,2}(?:[:：=|\t]|[-–—](?= ))[ \t]{0,3}[\"']?"
_ACT_LABELS = (
    "requester", "requested by", "reported by", "submitted by", "opened by", "created by",
    "raised by", "escalated by", "assigned to", "assignee", "signed by", "approved by",
    "filed by", "logged by", "cc", "bcc", "c/o", "care of",
)  # fmt: skip
_NOT_A_PERSON = (
    r"(?:The|A|An|This|That|These|Your|My|Our|His|Her|Their|Its|Name|None|Not|Unknown|N/A|TBD"
    r"|Same|See|Please|Required|Optional|Enter|First|Last|Full|Customer|Client|Support|Service"
    r"|Team|Sales|Marketing|Product|Engineering|Finance|Accounting|Legal|Human|Admin|Internal"
    r"|External|Public|Private|General|All|Everyone|Whom|Staff|Management|Dear|Hello|Hi|Yes|No"
    r"|True|False|Null|Default|Example|Sample|Test|Demo|John Doe|Jane Doe)"
)
_LABEL_ALT = "|".join(
    re.escape(x).replace(r"\ ", r"[ _]") for x in sorted(_FIELD_LABELS, key=len, reverse=True)
)
_ACT_ALT = "|".join(re.escape(x).replace(r"\ ", " ") for x in _ACT_LABELS)
EN_NAME_FIELD = (
    rf"{_FIELD_START}(?i:{_LABEL_ALT}){_FIELD_SEP}(?!{_NOT_A_PERSON}(?![{LOWER}{UPPER}]))"
    rf"(?P<v>{_FULL})(?![{LOWER}])"
)
_ACT_VARIANTS = "|".join(v for x in _ACT_LABELS for v in {x, x.capitalize(), x.upper()}).replace(
    " ", "[ ]"
)
EN_NAME_BY = (
    rf"\b(?:{_ACT_VARIANTS})[ \t]{{0,2}}:?[ \t]{{1,3}}(?!{_NOT_A_PERSON}(?![{LOWER}{UPPER}]))"
    rf"(?P<v>{_FULL})(?![{LOWER}])"
)
_BY_HINTS = tuple({x.split()[0] for x in _ACT_LABELS if len(x) > 3} | {"cc ", "bcc", "c/o"})


# A full name as the object of a message or a contact verb, or the subject of one, in a request
# of the writer's ("draft a thank-you note to …", "tell …", "… just texted me", "… from the
# landlord's office called"), or addressed at the start of a quotation or a greeting ("'…, you
# missed", "Hi …,"). Stories and questions about public figures have the same shapes, so these
# count only within 80 characters of a first-person word or "please" on the same line.
def _cased(words: str) -> str:
    """An alternation of each word as written, capitalised and upper-cased: cheaper to scan for
    than a case-insensitive group."""
    return "|".join(
        v for w in words.split("|") for v in dict.fromkeys((w, w.capitalize(), w.upper()))
    )


_ME_OR_PLEASE = (
    r"\b(?:I|I'm|I've|I'd|I'll|[Mm]e|[Mm]y|[Ww]e|[Uu]s|[Oo]ur|[Pp]lease|[Pp]ls|[Cc]an u"
    r"|[Cc]an you|[Cc]ould you)\b"
)
_MESSAGE = (
    "(?:"
    + _cased(
        "note|message|email|e-mail|mail|letter|card|text|reply|response|invitation|invite|toast"
        "|speech|recommendation|reference|apology|thank-you note|thank you note|memo|dm"
    )
    + ")"
)
_CONTACT_VERB = (
    "(?:"
    + _cased(
        "tell|ask|text|call|email|e-mail|remind|invite|thank|congratulate|message|ping|meet"
        "|meeting with|met with|talk to|talked to|spoke to|spoke with|speak to|speak with|reply to"
        "|respond to|apologise to|apologize to|write to|wrote to|introduce|introduce me to"
        "|forward it to|forward this to|send it to|send this to|visit|pick up|drop off|fire|hire|pay"
    )
    + ")"
)
_SUBJECT_VERB = (
    r"(?:just |also |already |finally |still |never )?"
    r"(?:texted|called|emailed|e-mailed|messaged|asked|told|wrote|sent|replied|rang|phoned"
    r"|pinged|invited|wants|needs|is coming|is visiting|came|visited|dm'd"
    r"|reached out|left|quit|hired|fired)\b"
)


def _name_act(g: str, h: str) -> str:
    return (
        rf"(?:\b{_MESSAGE}[ \t]{{1,2}}(?:to|for)|\b{_CONTACT_VERB})[ \t]{{1,2}}"
        rf"(?!{_NOT_A_PERSON}(?![{LOWER}{UPPER}])|Me\b|Us\b|Him\b|Them\b|You\b|It\b)(?P<{g}>{_FULL})(?![{LOWER}])"
        rf"|(?:^|(?<=[.!?;:\n])|\b(?:lol|omg|so|and|but|hey|ok|okay|btw|fyi|ugh|then|because|Lol|Omg|So|And|But|Hey|Ok|Okay|Btw|Fyi|Ugh|Then|Because)\b,?)"
        rf"[ \t]{{0,3}}(?!{_NOT_A_PERSON}(?![{LOWER}{UPPER}]))(?P<{h}>{_FULL})(?:[ \t]{{1,2}}{_SUBJECT_VERB}"
        rf"|[ \t]from[ \t](?:the |our |my |your )?[^\n.!?]{{1,40}}?[ \t]{_SUBJECT_VERB})"
    )


EN_NAME_ACT = _name_act("v", "w")
_ME_HINT = re.compile(_ME_OR_PLEASE)


def _near_me(text: str, start: int, end: int) -> bool:
    """A first-person word or "please" within 80 characters of the match, on its line."""
    lo, hi = max(0, start - 80), min(len(text), end + 80)
    nl = text.rfind("\n", lo, start)
    lo = nl + 1 if nl != -1 else lo
    nl = text.find("\n", end, hi)
    hi = nl if nl != -1 else hi
    return _ME_HINT.search(text, lo, hi) is not None


_TWO_CAPS = re.compile(rf"[{UPPER}][{LOWER}]{{1,20}} [{UPPER}]")


def _act(text: str) -> bool:
    return _TWO_CAPS.search(text) is not None and _ME_HINT.search(text) is not None


# A full name addressed at the start of a quotation ("'Zsófia Iyer, you missed the deadline'")
# or after a greeting ("Hi Aino Kim,").
EN_NAME_ADDRESSED = (
    rf"['\"“‘](?!{_NOT_A_PERSON}(?![{LOWER}{UPPER}]))(?P<v>{_FULL}),[ \t](?i:you|your|please|thanks"
    rf"|thank|we|i|can|could|would|will|just|don't|i'm|welcome|congratulations)\b"
    rf"|\b(?:Hi|Hello|Hey|Good morning|Good afternoon|Good evening)[ \t,]{{1,2}}"
    rf"(?!{_NOT_A_PERSON}(?![{LOWER}{UPPER}])|There\b|World\b)(?P<w>{_FULL})(?=[ \t]{{0,2}}[,!:\n])"
)


# Chinese: labels of forms and tickets before a name, with "写的是/填的是" between ("收件人写的是…",
# "提交人：…"); a name before 的 and a personal document ("这是…的简历"); a name after a time word and
# before a verb ("明天…会来取件"); and a Latin-script full name after a Chinese word that takes a
# person ("请帮我给 Aino Kovács 回", "我的老板 Baraka Kim wants").
_ZH_FIELD = (
    r"(?:提交人|申请人|负责人|经办人|寄件人|发件人|对接人|患者|病人|乘客|旅客|持卡人|被保险人|投保人"
    r"|受益人|户主|填表人|报告人|签收人|收件人|收货人|联系人|客户姓名|用户姓名|真实姓名|姓名|用户|客户"
    r"|员工|学生|租客|房东|业主|买家|卖家|司机|代理人|担保人|监护人|紧急联系人)"
)
_ZH_NAME_CORE = rf"(?:{_SURNAMES_2}|[{_SURNAMES_1}]){_ZH_GIVEN}"
ZH_NAME_FIELD = (
    rf"{_ZH_FIELD}\s{{0,2}}(?:(?:写的是|填的是|填写的是)\s{{0,2}}[:：]?|[:：])\s{{0,2}}"
    rf"(?P<v>{_ZH_NAME_CORE})(?={_ZH_AFTER}|的|[0-9])"
)
ZH_NAME_CONTEXT = (
    rf"{_ZH_FIELD}\s{{0,2}}(?:是|为|叫)?\s{{0,2}}(?P<v>{_ZH_NAME_CORE})(?={_ZH_AFTER}|的)"
    rf"|(?:^|(?<=[，,。！？!?\s：:])|这是|那是|把|看看|查一下|关于)(?P<w>{_ZH_NAME_CORE})的"
    r"(?=简历|电话|手机|地址|邮箱|生日|订单|合同|工资|病历|护照|身份证|账号|账户|快递|包裹|照片|资料"
    r"|信息|档案|申请|论文|作业|成绩|报销|请假|推荐信|婚礼|葬礼|家人|孩子|老公|老婆|妈妈|爸爸)"
    rf"|(?:明天|今天|昨天|后天|今晚|明早|明晚|上午|下午|晚上|周[一二三四五六日末]|下周[一二三四五六日]?)"
    rf"(?!高铁|温度|全天|金额|方案|和平|江湖|程序|文件|时间|石油|黄金|白天|马上|余额|向前|钱包|路上)"
    rf"(?P<x>(?:{_SURNAMES_2}|[{_SURNAMES_1}]){_ZH_GIVEN}?)"
    r"(?=会|要|来|去|过来|回来|说|想|打|发|给|在|到|请|约|找|生日|结婚|出差|请假)"
)
ZH_LATIN_NAME = (
    rf"(?:{_ZH_PERSON_CUE}|我叫|我是|名字是|姓名|联系人|收件人|收货人)\s{{0,2}}[:：]?\s{{0,2}}"
    rf"(?!{_NOT_A_PERSON}(?![{LOWER}{UPPER}]))(?P<v>{_FULL})(?![{LOWER}])"
)


# "Dr. Patel", "Mrs. Okafor": a title makes one capitalised word a name, but word problems and
# stories are full of "Mr. Sanchez's class"; a titled name counts only within 80 characters of a
# first-person word on the same line ("my appointment with Dr. Patel"), like the NER tier's names.
_HONORIFIC = r"(?:Mr|Mrs|Ms|Mx|Dr|Prof|Herr|Frau|Mme|Mlle)"
_ME = r"\b(?:I|I'm|I've|I'd|I'll|[Mm]e|[Mm]y|[Ww]e|[Uu]s|[Oo]ur)\b"


def _titled_name(group: str) -> str:
    return (
        rf"\b{_HONORIFIC}\.? (?!(?:Suite|Ste|Apt|Unit|Floor)\b)"
        rf"(?P<{group}>{_CAP}(?: (?:[A-Z]\.|{_PARTICLE}|{_CAP})){{0,3}})(?![{LOWER}])"
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
_PREP = r"(?:de|del|de la|da|das|do|dos|di|della|dei|delle|des|du|la|le|van|von|der|den)"
DE_ADDRESS = (
    r"\b[A-ZÄÖÜ][a-zäöüß\-]{1,30}(?:straße|strasse|str\.|weg|allee|platz|gasse|damm|ufer)"
    r" \d{1,4}[a-z]?(?:, ?\d{5} [A-ZÄÖÜ][a-zäöüß\-]{1,30})?"
    r"|\b\d{1,4},? (?:(?:rue|boulevard|bd|chemin|allée|impasse|quai) "
    r"|(?:avenue|place) (?=(?:de |des |du |d'|la |le )?[A-ZÉ]))[^\n,.;!?]{2,40}"
    r"(?:, ?\d{5} [A-Z][a-zéèêàç\-]{1,30})?"
    r"|\b(?:Calle|Avenida|Av\.|Plaza|Paseo|Via|Viale|Piazza|Corso|Rua|Travessa|Praça|Alameda"
    rf"|Largo|Estrada) (?:{_PREP} )?[A-Z][^\n,.;!?]{{1,40}} \d{{1,4}}"
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
_TOWN = rf"[{UPPER}][{LOWER}'’\-]{{1,25}}(?:[ \-](?:[{UPPER}][{LOWER}'’\-]{{1,25}}|{_PREP}|am|an|im|sur|sous|bei)){{0,3}}"
_MONTH = (
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|January|February|March|April|June"
    r"|July|August|September|October|November|December|Januar|Februar|März|Juni|Juli|Oktober"
    r"|Dezember|janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre"
    r"|décembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre"
    r"|noviembre|diciembre)"
)
_STREET_WORD = rf"(?!{_MONTH}(?![{LOWER}]))[{UPPER}][{LOWER}{UPPER}'’.\-]{{0,25}}"
# before the postcode, a district or an abbreviation may end in a dot ("Col. Juárez")
_DISTRICT = rf"[{UPPER}][{LOWER}'’\-]{{1,25}}\.?(?:[ \-](?:[{UPPER}][{LOWER}'’\-]{{1,25}}\.?|{_PREP})){{0,3}}"
EU_ADDRESS = (
    rf"(?<![{LOWER}{UPPER}0-9])(?P<v>{_STREET_WORD}"
    rf"(?: (?:{_PREP}|{_STREET_WORD})){{0,4}}"
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


def _has_cjk(text: str) -> bool:
    return not text.isascii()


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


def _always(text: str) -> bool:
    return True


_SEPARATORS = (":", "=", "|", "\t", "：", "- ", "– ", "— ")


def field_sep(text: str) -> bool:
    """A field label needs a separator after it (``_FIELD_SEP``)."""
    return any(s in text for s in _SEPARATORS)


# every alternative of DE_ADDRESS has one of these words
_STREET_WORDS = has(
    "straße", "strasse", "str.", "weg", "allee", "platz", "gasse", "damm", "ufer", "rue",
    "boulevard", "bd", "chemin", "allée", "impasse", "quai", "avenue", "place", "calle",
    "avenida", "av.", "plaza", "paseo", "via", "viale", "piazza", "corso", "rua", "travessa",
    "praça", "alameda", "largo", "estrada",
)  # fmt: skip


_signoff = has(
    "regards", "wishes", "thank", "cheers", "best", "sincerely", "yours", "cordially",
    "respectfully", "warmly", "take care", require="\n",
)  # fmt: skip


DETECTORS: tuple[Detector, ...] = (
    Detector("ADDRESS", re.compile(EU_ADDRESS), _eu_postcode, min_digits=5),
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
            "street",
            "anschrift",
            "endereço",
            "indirizzo",
            "adres",
            "adresse",
        ),
        min_digits=1,
    ),  # fmt: skip
    Detector("ADDRESS", re.compile(EN_ADDRESS), _always, min_digits=1),
    Detector("ADDRESS", re.compile(DE_ADDRESS), _STREET_WORDS, min_digits=1),
    Detector("ADDRESS", re.compile(ADDRESS_PREFIX), has("{{address}}")),
    Detector("PERSON", re.compile(ZH_NAME), _has_cjk),
    Detector("PERSON", re.compile(ZH_NAME_WEAK), _zh_request),
    Detector("PERSON", re.compile(ZH_NAME_FIELD), _has_cjk),
    Detector("PERSON", re.compile(ZH_NAME_CONTEXT), _zh_request),
    Detector("PERSON", re.compile(ZH_LATIN_NAME), _zh_request),
    Detector("PERSON", re.compile(EN_NAME_FIELD), field_sep),
    Detector("PERSON", re.compile(EN_NAME_BY), has(*_BY_HINTS)),
    Detector("PERSON", re.compile(EN_NAME_ACT), _act, around=_near_me),
    Detector(
        "PERSON",
        re.compile(EN_NAME_ADDRESSED),
        has("'", '"', "“", "‘", "hi", "hello", "hey", "good "),
    ),
    Detector("PERSON", re.compile(EN_NAME), has(*EN_NAME_CUES)),
    Detector("PERSON", re.compile(EN_NAME_HERE), has(" here")),
    Detector("PERSON", re.compile(EN_NAME_RELATION), has("my ", "our ")),
    Detector("PERSON", re.compile(EN_NAME_DEAR), has("dear ", "contact ")),
    Detector("PERSON", re.compile(EN_NAME_SIGNOFF), _signoff),
    Detector("PERSON", re.compile(HONORIFIC_NAME), _titled),
)
