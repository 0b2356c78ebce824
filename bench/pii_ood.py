"""An out-of-distribution labelled personal-data benchmark, unlike tests/pii_corpus.py.

Values come from public test vectors where they exist: libphonenumber's example numbers per
region (``phonenumbers.example_number_for_type``) in national, international and E.164 form; the
IBAN registry's example IBANs; card networks' published test numbers; RFC 5737/3849
documentation addresses; internationalized e-mail examples (RFC 6530 family); specimen passport
and ID numbers. Names and addresses in English, German, French, Spanish and Chinese. Sentences
are chat-like and written for this file, with and without a cue word. ``cases()`` yields
(text, kind, value); every value must disappear from the redacted text.
"""

from __future__ import annotations

import random

import phonenumbers
from phonenumbers import PhoneNumberFormat as F
from phonenumbers import PhoneNumberType as T

# National formats are recognised for the configured regions; E.164/international for all.
NATIONAL_REGIONS = "US GB DE FR ES IT NL CH AT PL RU CN JP KR IN BR MX AU ZA CA".split()
INTL_ONLY_REGIONS = "SE NO TR AR NG EG SG TH VN ID PH IL".split()

IBANS = """AL47 2121 1009 0000 0002 3569 8741|AD12 0001 2030 2003 5910 0100|AT61 1904 3002 3457 3201
BE68 5390 0754 7034|BA39 1290 0794 0102 8494|BG80 BNBG 9661 1020 3456 78|HR12 1001 0051 8630 0016 0
CY17 0020 0128 0000 0012 0052 7600|CZ65 0800 0000 1920 0014 5399|DK50 0040 0440 1162 43
EE38 2200 2210 2014 5685|FI21 1234 5600 0007 85|FR14 2004 1010 0505 0001 3M02 606
DE89 3704 0044 0532 0130 00|GI75 NWBK 0000 0000 7099 453|GR16 0110 1250 0000 0001 2300 695
HU42 1177 3016 1111 1018 0000 0000|IS14 0159 2600 7654 5510 7303 39|IE29 AIBK 9311 5212 3456 78
IT60 X054 2811 1010 0000 0123 456|LV80 BANK 0000 4351 9500 1|LT12 1000 0111 0100 1000
LU28 0019 4006 4475 0000|MT84 MALT 0110 0001 2345 MTLC AST0 01S|NL91 ABNA 0417 1643 00
NO93 8601 1117 947|PL61 1090 1014 0000 0712 1981 2874|PT50 0002 0123 1234 5678 9015 4
RO49 AAAA 1B31 0075 9384 0000|SK31 1200 0000 1987 4263 7541|SI56 2633 0001 2039 086
ES91 2100 0418 4502 0005 1332|SE45 5000 0000 0583 9825 7466|CH93 0076 2011 6238 5295 7
GB29 NWBK 6016 1331 9268 19|SA03 8000 0000 6080 1016 7519|TR33 0006 1005 1978 6457 8413 26
AE07 0331 2345 6789 0123 456|MU17 BOMM 0101 1010 3030 0200 000MUR"""

CARDS = """4111111111111111 4012888888881881 4222222222222 5555555555554444 5105105105105100
2223003122003222 378282246310005 371449635398431 378734493671000 6011111111111117
6011000990139424 3530111333300000 3566002020360505 30569309025904 38520000023237
6200000000000005 4000056655665556 5200828282828210 4000002500003155 4242424242424242""".split()

EMAILS = """josé.garcía@correo.es|用户@例子.广告|θσερ@εχαμπλε.ψομ|квіточка@пошта.укр|अजय@डाटा.भारत
dörte@sörensen.example.com|Pelé@example.com|user+tag@sub.example.co.uk|first.last@mail.example.org
x@example.com|very.common@example.com|disposable.style.email.with+symbol@example.com
other.email-with-hyphen@example.com|user.name+tag+sorting@example.com|admin@mailserver1.example
example-indeed@strange-example.com|mailhost!username@example.org|user%example.com@example.org
jörg.müller@bücher.de|françois@société.fr""".replace("\n", "|").split("|")

IPS = "192.0.2.1 198.51.100.42 203.0.113.7 10.20.30.40 2001:db8::1 2001:db8:85a3::8a2e:370:7334 fe80::1ff:fe23:4567:890a".split()
PASSPORTS = "C01X00T47 963545637 925665416 E12345678 J8369854 X1234567 18AB12345 TR0123456 PA1234567 M12345678 L898902C3".split()
SECRETS = [
    ("AWS_KEY", "AKIAIOSFODNN7EXAMPLE"),
    ("JWT", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
    ("GITHUB_TOKEN", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
    ("URL_CREDENTIALS", "mysql://root:s3cr3t!pw@10.1.2.3:3306/shop"),
]  # fmt: skip
DE_TAX = ["86095742719", "47036892816", "65929970489", "57549285017", "25768131411"]
NATIONAL_IDS = [
    ("DNI", "12345678Z"), ("BSN", "111222333"), ("CPF", "123.456.789-09"), ("NRIC", "S1234567D"),
    ("マイナンバー", "123456789018"), ("주민등록번호", "900101-1234567"), ("Aadhaar", "2345 6789 0123"),
    ("Personalausweis", "T22000129"), ("national ID", "AB123456C"),
]  # fmt: skip
DATES = [
    "1990-05-17",
    "05/17/1990",
    "17.05.1990",
    "May 17, 1990",
    "17 May 1990",
    "3 March 1985",
    "1988年7月23日",
    "2001/12/01",
]

EN_FIRST = "Maria Ahmed Priya Oluwaseun Hiroshi Ana Dmitri Fatima Liam Chloe Mateo Aisha Noah Sofia Kwame Elena Raj Ingrid Tomás Mei".split()
EN_LAST = "Gonzalez Khan Patel Adeyemi Tanaka Silva Ivanov Hassan O'Brien Dubois Rossi Okafor Schmidt Novak Kowalski Andersson Nguyen Fernández Müller Johansson".split()
ZH_NAMES = "张伟 王芳 李娜 刘洋 陈静 杨磊 黄丽 赵敏 吴强 周杰 徐涛 孙悦 马超 朱婷 胡斌 郭晶 欧阳娜娜 司马光明 林晓峰 何嘉怡".split()
EN_STREETS = "Maple Street|Oak Avenue|Sunset Boulevard|Baker Street|Elm Road|Park Lane|Main St|Highland Drive|Church Road|Victoria Terrace".split(
    "|"
)
EN_CITIES = [
    "Springfield, IL 62704",
    "London NW1 6XE",
    "Austin, TX 78701",
    "Manchester M1 1AE",
    "Seattle, WA 98101",
    "Toronto",
    "Sydney",
]
DE_STREETS = [
    "Hauptstraße",
    "Lindenallee",
    "Bahnhofstr.",
    "Goetheweg",
    "Marktplatz",
    "Schillerstraße",
]
DE_CITIES = ["10115 Berlin", "80331 München", "50667 Köln", "20095 Hamburg"]
FR_ADDR = [
    "12 rue de la Paix, 75002 Paris",
    "8 avenue des Champs-Élysées, 75008 Paris",
    "3 place Bellecour, 69002 Lyon",
]
ES_ADDR = ["Calle Mayor 10, 28013 Madrid", "Avenida Diagonal 211, 08018 Barcelona"]
ZH_ADDR = [
    "北京市朝阳区建国路88号",
    "上海市浦东新区世纪大道100号",
    "广东省深圳市南山区科技园路1号3栋502室",
    "浙江省杭州市西湖区文三路478号",
    "四川省成都市武侯区人民南路四段9号",
]

EN_T = [
    "hey, quick one: {cue}{v}. can you double check it for me?",
    "ok so {cue}{v} — does that look right to you",
    "I need to fill out this form and {cue}{v}, what goes in the next box?",
    "Draft a polite email to support saying {cue}{v} and my order hasn't arrived",
]
ZH_T = [
    "你好，{cue}{v}，麻烦帮我看一下",
    "请问{cue}{v}这个格式对吗？",
    "帮我写封邮件，{cue}{v}，谢谢",
]
CUES = {
    "PHONE": (["my number is ", "call me at ", "my mobile: ", "text me on "], ["我的电话是", "手机号"]),
    "EMAIL": (["my email is ", "write to ", "contact: "], ["我的邮箱是", "发到"]),
    "IBAN": (["my IBAN is ", "wire it to ", "account "], ["我的账号是", "汇款到"]),
    "CREDIT_CARD": (["my card is ", "charge ", "the number on the card is "], ["我的信用卡号", "卡号是"]),
    "IP": (["the server is at ", "ping ", "my IP is "], ["服务器IP是", "连接"]),
    "PASSPORT": (["my passport number is ", "passport no. ", "Passport: "], ["我的护照号码是", "护照号"]),
    "SSN": (["my SSN is ", "social security number ", "SSN: "], ["我的SSN是"]),
    "TAX_ID": (["meine Steuer-ID ist ", "my German tax ID is ", "Steueridentifikationsnummer "], ["我的德国税号是"]),
    "DATE_OF_BIRTH": (["I was born on ", "date of birth: ", "DOB ", "Geburtsdatum: "], ["我的出生日期是", "我的生日是"]),
}  # fmt: skip


def _phones(rng: random.Random) -> list[str]:
    out = []
    for region in NATIONAL_REGIONS + INTL_ONLY_REGIONS:
        for typ in (T.FIXED_LINE, T.MOBILE):
            num = phonenumbers.example_number_for_type(region, typ)
            if num is None:
                continue
            fmts = [F.INTERNATIONAL, F.E164] + ([F.NATIONAL] if region in NATIONAL_REGIONS else [])
            out += [phonenumbers.format_number(num, f) for f in fmts]
    return out


def _ssn(rng: random.Random) -> list[str]:
    out = ["078-05-1120", "219-09-9999"]
    while len(out) < 30:
        a, g, s = rng.randint(1, 899), rng.randint(1, 99), rng.randint(1, 9999)
        if a == 666:
            continue
        sep = rng.choice(["-", " "])
        out.append(f"{a:03d}{sep}{g:02d}{sep}{s:04d}")
    return out + ["123456789", "078051120"]  # bare digits: named by "SSN" in the sentence


def _cn_ids(rng: random.Random) -> list[str]:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    out = ["11010519491231002X"]
    for i in range(24):
        body = f"{rng.choice([110101, 310104, 440305, 510107, 330106])}{rng.randint(1960, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
        check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
        if i % 3 == 0:  # mistyped check character: still a resident id, named by 身份证
            check = "0" if check != "0" else "1"
        out.append(body + check)
    return out


def _fmt_card(n: str, rng: random.Random) -> str:
    sep = rng.choice(["", " ", "-", "."])
    if not sep:
        return n
    groups = (
        [n[:4], n[4:10], n[10:]] if len(n) == 15 else [n[i : i + 4] for i in range(0, len(n), 4)]
    )
    return sep.join(groups)


def values(rng: random.Random) -> list[tuple[str, str]]:
    """(kind, value) pairs."""
    vals: list[tuple[str, str]] = [("PHONE", p) for p in _phones(rng)]
    vals += [("IBAN", i.strip()) for i in IBANS.replace("\n", "|").split("|")]
    vals += [("IBAN", i.strip().replace(" ", "")) for i in IBANS.replace("\n", "|").split("|")[::3]]
    vals += [("CREDIT_CARD", _fmt_card(c, rng)) for c in CARDS for _ in range(2)]
    vals += [("EMAIL", e.strip()) for e in EMAILS]
    vals += [("IP", ip) for ip in IPS]
    vals += [("PASSPORT", p) for p in PASSPORTS]
    vals += [("SSN", s) for s in _ssn(rng)]
    vals += [("TAX_ID", t) for t in DE_TAX] + [
        ("TAX_ID", f"{t[:2]} {t[2:5]} {t[5:8]} {t[8:]}") for t in DE_TAX
    ]
    vals += [("DATE_OF_BIRTH", d) for d in DATES]
    vals += list(SECRETS)
    return vals


def _structured(rng: random.Random):
    for kind, v in values(rng):
        en, zh = CUES.get(kind, ([f"the {kind.lower().replace('_', ' ')} is "], ["配置里写的是"]))
        yield rng.choice(EN_T).format(cue=rng.choice(en), v=v), kind, v
        yield rng.choice(ZH_T).format(cue=rng.choice(zh), v=v), kind, v
    for cid in _cn_ids(rng):
        yield (
            rng.choice(ZH_T).format(cue=rng.choice(["我的身份证号是", "身份证号码："]), v=cid),
            "CN_ID",
            cid,
        )
    for label, v in NATIONAL_IDS:
        yield (
            f"for the visa form they ask my {label} number, it's {v} — is that the right format?",
            "NATIONAL_ID",
            v,
        )


def _people(rng: random.Random):
    en_cue = [
        "Hi, my name is {n} and I",
        "This is {n} from accounting,",
        "Regards, {n}",
        "I'm {n}, the new intern, and I",
    ]
    en_free = ["Can you write a reference letter for {n}? She worked with us for 3 years.",
               "Remind me to call {n} tomorrow about the contract.",
               "{n} asked me to send the slides before the meeting.",
               "Please book a table for two under {n} at 7pm."]  # fmt: skip
    for first in EN_FIRST:
        for tpl in (rng.choice(en_cue), rng.choice(en_free)):
            name = f"{first} {rng.choice(EN_LAST)}"
            yield (
                (tpl + " need help with my refund." if tpl.endswith("I") else tpl).format(n=name),
                "PERSON",
                name,
            )
    zh_cue = [
        "你好，我叫{n}，想咨询一下退款的事",
        "我是{n}，上周下的订单还没到",
        "联系人：{n}，电话稍后发你",
        "收件人：{n}",
    ]
    for name in ZH_NAMES:
        for tpl in rng.sample(zh_cue, 2):
            yield tpl.format(n=name), "PERSON", name


def _addresses(rng: random.Random):
    tpls = ["please ship it to {a}, thanks!", "my address is {a}. is delivery free there?",
            "I moved to {a} last month, how do I update my profile?", "Can you find a pharmacy near {a}?"]  # fmt: skip
    for street in EN_STREETS:
        a = f"{rng.randint(1, 9999)} {street}, {rng.choice(EN_CITIES)}"
        yield rng.choice(tpls).format(a=a), "ADDRESS", a
    for street in DE_STREETS:
        a = f"{street} {rng.randint(1, 120)}, {rng.choice(DE_CITIES)}"
        yield (
            rng.choice(
                ["Meine Adresse ist {a}, bitte schnell liefern.", "Paket an {a} schicken?"]
            ).format(a=a),
            "ADDRESS",
            a,
        )
    for a in FR_ADDR + ES_ADDR:
        yield rng.choice(tpls).format(a=a), "ADDRESS", a
    for a in ZH_ADDR:
        for tpl in [
            "我的地址是{a}，快递什么时候到？",
            "请寄到{a}，谢谢",
            "我住在{a}附近，推荐几家餐厅",
        ]:
            yield tpl.format(a=a), "ADDRESS", a


def cases(seed: int = 7) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    return [*_structured(rng), *_people(rng), *_addresses(rng)]


STRUCTURED = {"PHONE", "EMAIL", "IBAN", "CREDIT_CARD", "IP", "PASSPORT", "SSN", "TAX_ID",
              "DATE_OF_BIRTH", "CN_ID", "NATIONAL_ID", "AWS_KEY", "JWT", "GITHUB_TOKEN", "URL_CREDENTIALS"}  # fmt: skip
