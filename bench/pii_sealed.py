"""A sealed personal-data benchmark (issue #16, fourth set): written and run on the detector as it
stood before the holdout-driven name and address rules, committed with those "before" figures
(bench/pii_results.jsonl), and then only run, never tuned on.

A different generator from bench/pii_ood.py, bench/pii_fresh.py, bench/pii_holdout.py and
tests/pii_corpus.py. Its own name lists (Nigerian, Vietnamese with diacritics, Polish, Brazilian,
Indian, Arabic transliterated, pinyin and Chinese-script names; none taken from the other sets),
its own sentence frames (support tickets, forms, e-mail signatures, CSV rows, JSON records,
chat lines, Chinese chat with 姓名/地址/收件人, German/French/Portuguese requests), addresses in
the formats of 16 countries plus Chinese addresses of other cities, and structured values that
are generated here rather than taken from published examples: phone numbers derived from
libphonenumber's metadata for 30 regions (valid numbers with other digits than its examples),
IBANs of 20 countries with random account parts and computed check digits, Luhn-valid card
numbers of 8 networks, national ids of 11 countries with their check characters, passports of
12 countries' shapes, German tax ids with their check digit, Chinese resident ids, dates of
birth in 7 languages, and secrets of five kinds.

``cases(seed)`` yields (text, kind, value); recall = the value is gone from the redacted text.
The fixed seed is ``SEED``; bench/pii.py ``--sealed`` runs it.
"""

from __future__ import annotations

import base64
import json
import random
import string
import unicodedata

import phonenumbers
from phonenumbers import PhoneNumberFormat as F
from phonenumbers import PhoneNumberType as T

SEED = 4099

# --- people ---------------------------------------------------------------------------------

# Given name, surname in the order people write them in an English sentence.
LATIN_NAMES = {
    "NG": (
        "Chukwuemeka Ifeoma Nneka Temitope Adaeze Babatunde Obinna Funmilayo Emeka Yetunde".split(),
        "Nwachukwu Ogunleye Eze Balogun Okeke Afolabi Onyekachi Adeleke Uzoma Bakare".split(),
    ),
    "VN": (  # Vietnamese names are written surname first, with their diacritics
        None,
        [
            "Nguyễn Thị Hoa", "Trần Văn Minh", "Lê Thu Trang", "Phạm Đức Anh", "Hoàng Mai Phương",
            "Vũ Quốc Bảo", "Đặng Ngọc Lan", "Bùi Tuấn Kiệt", "Đỗ Hải Yến", "Ngô Gia Tùng",
        ],
    ),
    "PL": (
        "Łukasz Agnieszka Krzysztof Katarzyna Paweł Magdalena Tomasz Joanna Wojciech Zofia".split(),
        "Zieliński Wróbel Dąbrowski Szymańska Lewandowski Woźniak Kamiński Jabłońska Mazur Król".split(),
    ),
    "BR": (
        "Gabriel Larissa Rafael Beatriz Leonardo Camila Vinícius Fernanda Gustavo Letícia".split(),
        "Carvalho Rodrigues Almeida Cavalcanti Barbosa Ribeiro Gonçalves Teixeira Moreira Araújo".split(),
    ),
    "IN": (
        "Aditya Kavya Rohan Sneha Ishaan Pooja Siddharth Meera Harsh Divya".split(),
        "Deshpande Krishnan Mehta Kulkarni Banerjee Nair Rao Pillai Joshi Agarwal".split(),
    ),
    "AR": (
        "Youssef Layla Hamza Mariam Karim Salma Ibrahim Rania Faisal Huda".split(),
        "El-Amrani Mansour Qureshi Al-Sayed Benali Nasser Darwish Khoury Al-Otaibi Saleh".split(),
    ),
    "CN-pinyin": (
        None,
        [
            "Zhang Xiuying", "Liu Haoran", "Chen Jiahui", "Wang Zihan", "Zhao Yuxuan",
            "Huang Shufen", "Wu Tianyi", "Zhou Mingyu", "Xu Ruolan", "Sun Wenjie",
        ],
    ),
}  # fmt: skip
ZH_SURNAMES = "许 韩 冯 邓 曹 彭 曾 肖 田 董 袁 潘 蒋 蔡 余 杜 叶 程 苏 魏 吕 丁 任 沈 姚 卢 姜 崔 钟 谭 陆 汪 范 金 石 廖 贾 夏 韦 方 白 邹 熊 邱 江 薛 段 侯 龙 史 陶 顾 毛 郝 万 钱 严 麦 岑 冼".split()
ZH_GIVEN = (
    "伟杰 静怡 子豪 佳怡 梦瑶 浩宇 雪梅 国庆 秀英 玉兰 振华 美玲 志明 丹 磊 敏 欣 涛 婷婷 晨曦 "
    "思琪 宏伟 立新 淑芬 春燕 俊豪 紫涵 嘉欣 文杰 永红"
).split()

EN_NAME_FRAMES = [
    # support tickets
    "Ticket ID: {num}\nReported by: {n}\nCategory: billing\nDescription: charged twice in March. Draft a reply.",
    "Assignee: {n} | Status: open | SLA breached 2h ago. Write a short escalation note to the team lead.",
    "INC{num} - caller {n} says the VPN drops every 10 minutes. Suggest troubleshooting steps.",
    "Escalated by {n} on behalf of the customer. Please summarize the thread below in 3 bullets.",
    # forms
    "Patient name: {n}\nReferral reason: recurring knee pain\nWrite a referral letter to the specialist.",
    "Emergency contact - {n} (brother). Is this enough for the onboarding form or do I need more?",
    "Name of insured: {n}; policy type: home contents. Explain what 'deductible' means for this policy.",
    "Guest name: {n}\nCheck-in: 14 June\nRoom: double\nWrite a confirmation message for this booking.",
    "Beneficiary: {n}\nRelationship: spouse\nIs this how the beneficiary section should be filled in?",
    # e-mail signatures
    "Thanks again for your patience while we sort this out.\n\n--\n{n}\nSenior Accountant | Northwind Ltd",
    "I'll be out of office until Monday with limited access to email.\n\nRegards,\n{n}",
    "Attached is the revised quote. Shorten this email please.\n\nMany thanks,\n{n}\nSales Team",
    "Happy to jump on a call next week.\n\nAll the best\n{n}",
    # CSV rows and JSON records
    "name,role,team\n{n},engineer,platform\nTurn this CSV into a markdown table.",
    "id;full_name;joined\n{num};{n};2021-03-01\nWrite a pandas snippet that parses this file.",
    '{{"customer_name": "{n}", "plan": "pro", "seats": 5}} - write a welcome message using this record',
    '{{"assignee": "{n}", "priority": "P2", "labels": ["bug"]}} why does my schema validator reject this?',
    # chat
    "omg {n} is coming to dinner tonight and I have nothing planned, quick recipe ideas?",
    "tell {n} I'll be 10 min late, make it sound nice",
    "had a meeting with {n} today and she was super dismissive, how do I respond professionally?",
    "Hi, {n} speaking - I called yesterday about my router, any update?",
    "can you write a wedding toast for {n}? we've been friends since school",
    "Please draft a LinkedIn recommendation for {n}, who managed our data team for two years.",
    "I need to apologise to {n} for missing her birthday, help me write a text",
]
ZH_NAME_FRAMES = [
    "姓名：{n}\n电话：稍后补充\n请帮我把这个表格整理成JSON",
    "联系人 {n}，负责对接本项目，帮我写个简短的介绍",
    "收件人：{n}  请问快递几天能到？",
    "我昨天跟{n}吵架了，怎么道歉比较好",
    "帮我给{n}写一张生日贺卡，她是我大学室友",
    "{n}：你好，明天的会议记得带电脑。（帮我翻译成英文）",
    "申请人姓名：{n}，申请事由：年假三天，帮我润色一下请假条",
    "听说{n}下周要离职了，帮我写一封欢送邮件",
    "Please translate into English: 我的朋友{n}明天来上海出差",
    "姓名,部门,入职日期\n{n},市场部,2022-05-01\n帮我转成Markdown表格",
    "客服工单 {num}\n用户：{n}\n问题：退款一直没到账\n帮我写个回复",
    "我和{n}合租，想写一份合租协议，帮我列个提纲",
]

# --- addresses ------------------------------------------------------------------------------

ADDRESSES = {
    "US": ["{h} Peachtree Street NE, Atlanta, GA 30303", "{h} Pine Ridge Drive, Boise, ID 83702"],
    "UK": ["{h} Harrogate Road, Leeds LS7 3PD", "{h} Deansgate, Manchester M3 4LQ"],
    "DE": ["Bergmannstraße {h}, 10961 Berlin", "Königsallee {h}, 40212 Düsseldorf",
           "Leopoldstr. {h}, 80802 München"],
    "FR": ["{h} avenue Jean Jaurès, 69007 Lyon", "{h}, rue du Faubourg Saint-Antoine, 75011 Paris"],
    "NL": ["Oudegracht {h}, 3511 AP Utrecht", "Coolsingel {h}, 3012 AA Rotterdam"],
    "IT": ["Via dei Mille {h}, 80121 Napoli", "Piazza Maggiore {h}, 40124 Bologna"],
    "ES": ["Carrer de Mallorca {h}, 08036 Barcelona", "Gran Vía {h}, 28013 Madrid"],
    "PL": ["ul. Marszałkowska {h}, 00-624 Warszawa", "ul. Floriańska {h}, 31-019 Kraków"],
    "BR": ["Avenida Paulista {h}, Bela Vista, São Paulo - SP, 01310-100",
           "Rua Visconde de Pirajá {h}, Ipanema, Rio de Janeiro - RJ, 22410-002"],
    "IN": ["{h}, 4th Cross, Indiranagar, Bengaluru 560038",
           "House No. {h}, Sector 15, Gurugram, Haryana 122001"],
    "CH": ["Bahnhofstrasse {h}, 8001 Zürich"],
    "SE": ["Drottninggatan {h}, 111 51 Stockholm"],
    "BE": ["Rue Neuve {h}, 1000 Bruxelles"],
    "JP": ["{h}-2 Jingumae, Shibuya-ku, Tokyo 150-0001"],
    "NG": ["{h} Adeola Odeku Street, Victoria Island, Lagos"],
    "VN": ["{h} Nguyễn Huệ, Quận 1, TP. Hồ Chí Minh"],
}  # fmt: skip
ADDR_FRAMES = [
    "Ticket {num} - delivery failed\nAddress: {a}\nCourier note: recipient not found. What should I tell the customer?",
    "Billing address | {a}\nVAT number | pending\nIs this invoice header complete?",
    '{{"shipping": {{"line1": "{a}"}}, "items": 3}} - why does the API reject this payload?',
    "id;address;status\n{num};{a};pending\nParse this line in Python and print the city.",
    "Best,\nMaria\nTeam Lead, Acme Logistics\n{a}\n\n(make this signature more compact)",
    "just got to {a}, where's good for breakfast around here?",
    "my grandma lives at {a}, can you plan a route from the airport?",
    "Please forward all mail to {a} until further notice - write this as a formal letter.",
    "The venue is {a}. Write a short invitation for our team dinner on Friday.",
    "Bitte die Rechnung an {a} senden - formuliere das höflicher.",
    "Envoyez le colis à {a}, merci. Can you translate this to English?",
    "Entregar em {a} até sexta-feira. Translate this delivery note into English.",
]
ZH_ADDR = [
    "江苏省苏州市工业园区星湖街{h}号",
    "湖南省长沙市岳麓区麓山南路{h}号",
    "广东省广州市天河区天河路{h}号太古汇2座1502室",
    "浙江省宁波市鄞州区钱湖北路{h}弄5号",
    "河南省郑州市金水区花园路{h}号",
    "深圳市福田区福华三路{h}号",
    "安徽省合肥市蜀山区长江西路{h}号",
    "辽宁省大连市中山区人民路{h}号",
    "甘肃省兰州市城关区东岗西路{h}号",
    "内蒙古自治区呼和浩特市新城区新华大街{h}号",
    "上海市静安区南京西路{h}号15楼",
    "江西省南昌市东湖区八一大道{h}号",
]
ZH_ADDR_FRAMES = [
    "地址：{a}\n姓名：（略）\n帮我转成英文地址格式",
    "快递寄到{a}需要几天？",
    "我们新店开在{a}，帮我写个开业文案",
    "{a}这个地方停车方便吗",
    "公司地址 {a} 帮我放到邮件签名里",
    "收货信息：{a}，电话见订单，帮我确认格式",
    "家里地址是{a}，怎么写英文信封？",
    "明天去{a}面试，帮我规划一下地铁路线",
]

# --- structured values ----------------------------------------------------------------------

PHONE_NATIONAL = "US GB DE FR ES IT NL PL BR IN CN JP KR MX AU".split()  # configured by default
PHONE_INTL = "NG VN EG SA AE PH PK BD KE TR SE UA AR CO CL".split()

# IBAN: country -> BBAN shape (n = digit, a = upper letter, c = either)
IBAN_BBAN = {
    "DE": "18n", "FR": "10n11c2n", "ES": "20n", "IT": "1a10n12c", "NL": "4a10n", "PL": "24n",
    "BE": "12n", "AT": "16n", "CH": "5n12c", "PT": "21n", "SE": "20n", "IE": "4a14n", "GB": "4a14n",
    "BR": "23n1a1c", "SA": "2n18c", "AE": "19n", "TR": "5n1n16c", "NO": "11n", "DK": "14n",
    "FI": "14n",
}  # fmt: skip
CARD_NETWORKS = [("4", 16), ("53", 16), ("2321", 16), ("37", 15), ("6011", 16), ("3541", 16),
                 ("62", 16), ("36", 14)]  # fmt: skip
EMAIL_DOMAINS = "gmail.com yahoo.com.br wp.pl mail.ru rediffmail.com outlook.sa hotmail.fr web.de company.com.ng fpt.vn".split()

FIELD_LABELS = {
    "PHONE": ("Phone: ", "Mobile number - ", "my cell is ", "手机："),
    "EMAIL": ("Email: ", "Contact e-mail - ", "send it to ", "邮箱："),
    "IBAN": ("IBAN: ", "Bank account (IBAN) - ", "pay into ", "收款账户："),
    "CREDIT_CARD": ("Card number: ", "Payment card - ", "charged to my card ", "卡号："),
    "IP": ("Remote IP: ", "Origin address - ", "blocked ip ", "IP地址："),
    "PASSPORT": ("Passport No.: ", "Passport number - ", "my passport ", "护照号："),
    "SSN": ("SSN: ", "Social security number - ", "my ssn is ", "SSN号码："),
    "TAX_ID": ("Steuer-ID: ", "Tax ID - ", "my steuer-id ", "税号："),
    "AWS_KEY": ("aws_access_key_id = ", "Access key - ", "leaked key ", "密钥："),
    "JWT": ("Authorization: Bearer ", "id_token - ", "my token ", "令牌："),
    "GITHUB_TOKEN": ("GITHUB_TOKEN=", "PAT - ", "my token ", "令牌："),
    "API_KEY": ("OPENAI_API_KEY=", "API key - ", "my key ", "密钥："),
    "URL_CREDENTIALS": ("DATABASE_URL=", "DSN - ", "connecting with ", "数据库连接："),
}  # fmt: skip
STRUCT_FRAMES = [
    "Ticket {num}\n{cue}{v}\nCustomer asks why the account is locked. Draft a reply.",
    "Form check:\n{cue}{v}\nAnything missing before I submit?",
    'config dump: {{"field": "{cue}{v}"}} - is this format ok?',
    "row {num}: {cue}{v} -> import failed, why?",
    "hey so {cue}{v}, does that look right?",
    "请帮我核对一下：{cue}{v}，格式对吗？",
]
DOB_CUES = ("DOB: ", "Date of birth - ", "I was born on ", "my birthday is ", "出生日期：",
            "Geburtsdatum: ", "date de naissance : ", "fecha de nacimiento: ",
            "data de nascimento: ")  # fmt: skip
MONTHS = (
    "January February March April May June July August September October November December".split()
)
NATIONAL_ID_LABELS = {
    "PESEL": "PL", "Aadhaar": "IN", "CPF": "BR", "NRIC": "SG", "DNI": "ES", "BSN": "NL",
    "codice fiscale": "IT", "CCCD": "VN", "NIN": "NG", "Emirates ID": "AE", "주민등록번호": "KR",
}  # fmt: skip
ID_FRAMES = [
    "Onboarding form - {label}: {v}. What else does KYC need?",
    "my {label} number is {v}, is that the right length?",
    "Applicant {label} - {v}\nStatus: pending review",
]


def _bban(rng: random.Random, shape: str) -> str:
    out, num = [], ""
    for ch in shape:
        if ch.isdigit():
            num += ch
            continue
        alphabet = {
            "n": string.digits,
            "a": string.ascii_uppercase,
            "c": string.digits + string.ascii_uppercase,
        }[ch]
        out += [rng.choice(alphabet) for _ in range(int(num))]
        num = ""
    return "".join(out)


def _iban(rng: random.Random, cc: str) -> str:
    bban = _bban(rng, IBAN_BBAN[cc])
    digits = "".join(str(int(ch, 36)) for ch in bban + cc + "00")
    iban = f"{cc}{98 - int(digits) % 97:02d}{bban}"
    if rng.random() < 0.6:
        return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return iban


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def _card(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    n = _luhn_complete(body)
    sep = rng.choice(["", " ", "-", " "])
    if not sep:
        return n
    if length == 15:
        return sep.join([n[:4], n[4:10], n[10:]])
    if length == 14:
        return sep.join([n[:4], n[4:10], n[10:]])
    return sep.join(n[i : i + 4] for i in range(0, length, 4))


def _phone(rng: random.Random, region: str, typ: int) -> phonenumbers.PhoneNumber | None:
    ex = phonenumbers.example_number_for_type(region, typ)
    if ex is None:
        return None
    base = str(ex.national_number)
    for _ in range(200):
        tail = "".join(rng.choice(string.digits) for _ in range(4))
        cand = phonenumbers.PhoneNumber(
            country_code=ex.country_code, national_number=int(base[:-4] + tail)
        )
        if ex.italian_leading_zero:
            cand.italian_leading_zero = True
        if str(cand.national_number) != base and phonenumbers.is_valid_number(cand):
            return cand
    return None


def _phones(rng: random.Random) -> list[str]:
    out = []
    for region in PHONE_NATIONAL + PHONE_INTL:
        for typ in (T.MOBILE, T.FIXED_LINE):
            num = _phone(rng, region, typ)
            if num is None:
                continue
            out.append(phonenumbers.format_number(num, rng.choice([F.INTERNATIONAL, F.E164])))
            if region in PHONE_NATIONAL:
                out.append(phonenumbers.format_number(num, F.NATIONAL))
    return out


def _ascii(s: str) -> str:
    s = s.replace("Ł", "L").replace("ł", "l").replace("Đ", "D").replace("đ", "d")
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


def _emails(rng: random.Random) -> list[str]:
    out = []
    for _ in range(30):
        first = rng.choice(LATIN_NAMES[rng.choice(["NG", "PL", "BR", "IN", "AR"])][0])
        last = rng.choice(LATIN_NAMES[rng.choice(["NG", "PL", "BR", "IN", "AR"])][1])
        style = rng.randrange(4)
        local = [
            f"{first}.{last}",
            f"{first[0]}{last}{rng.randint(1, 99)}",
            f"{last}_{first}",
            f"{first}{rng.randint(1970, 2005)}",
        ][style]
        out.append(f"{_ascii(local).lower()}@{rng.choice(EMAIL_DOMAINS)}")
    out += [f"{rng.randint(10**8, 10**10)}@qq.com", f"{rng.randint(10**8, 10**10)}@163.com"]
    out += ["zofia.wróbel@poczta.pl", "léa.araújo@correio.com.br", "марина@почта.рф"]
    return out


def _ips(rng: random.Random) -> list[str]:
    out = [
        f"{rng.choice([31, 46, 81, 95, 177, 185, 197, 203])}.{rng.randint(0, 255)}."
        f"{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        for _ in range(12)
    ]
    out += [
        f"2a0{rng.randint(1, 9)}:{rng.randint(0x1000, 0xFFFF):x}:{rng.randint(0, 0xFFFF):x}::"
        f"{rng.randint(1, 0xFFFF):x}"
        for _ in range(4)
    ]
    out.append(f"192.168.{rng.randint(0, 255)}.{rng.randint(2, 254)}")
    return out


def _passports(rng: random.Random) -> list[str]:
    def d(k: int) -> str:
        return "".join(rng.choice(string.digits) for _ in range(k))

    def a(k: int) -> str:
        return "".join(rng.choice(string.ascii_uppercase) for _ in range(k))

    no_vowel = "CFGHJKLMNPRTVWXYZ0123456789"
    return [
        d(9),  # US
        d(9),  # GB
        "C" + "".join(rng.choice(no_vowel) for _ in range(8)),  # DE
        d(2) + a(2) + d(5),  # FR
        a(1) + d(7),  # IN
        "E" + d(8),  # CN
        a(2) + d(6),  # BR
        "A" + d(8),  # NG
        a(2) + d(7),  # PL
        a(1) + d(7),  # VN
        a(2) + d(7),  # JP
        "A" + d(8),  # EG
    ]


def _steuer_id(rng: random.Random) -> str:
    while True:
        digits = rng.sample(range(10), 9)
        dup = rng.randrange(1, 9)
        body = digits + [digits[dup]]
        rng.shuffle(body)
        if body[0] == 0:
            continue
        product = 10
        for x in body:
            s = (x + product) % 10 or 10
            product = (s * 2) % 11
        check = (11 - product) % 10
        return "".join(map(str, body)) + str(check)


def _national_id(rng: random.Random, label: str) -> str:
    def d(k: int) -> str:
        return "".join(rng.choice(string.digits) for _ in range(k))

    if label == "PESEL":
        body = f"{rng.randint(50, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{d(4)}"
        w = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
        return body + str((10 - sum(int(c) * k for c, k in zip(body, w, strict=True)) % 10) % 10)
    if label == "Aadhaar":
        n = str(rng.randint(2, 9)) + d(11)
        return f"{n[:4]} {n[4:8]} {n[8:]}"
    if label == "CPF":
        b = [int(c) for c in d(9)]
        for _ in range(2):
            s = sum(x * w for x, w in zip(b, range(len(b) + 1, 1, -1), strict=True))
            b.append((s * 10) % 11 % 10)
        s = "".join(map(str, b))
        return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}"
    if label == "NRIC":
        b = d(7)
        s = sum(int(c) * w for c, w in zip(b, (2, 7, 6, 5, 4, 3, 2), strict=True))
        return "S" + b + "JZIHGFEDCBA"[s % 11]
    if label == "DNI":
        n = rng.randint(10**7, 10**8 - 1)
        return f"{n}{'TRWAGMYFPDXBNJZSQVHLCKE'[n % 23]}"
    if label == "BSN":
        while True:
            b = d(8)
            s = sum(int(c) * w for c, w in zip(b, range(9, 1, -1), strict=True))
            if s % 11 < 10 and b[0] != "0":
                return b + str(s % 11)
    if label == "codice fiscale":
        up = string.ascii_uppercase
        return (
            "".join(rng.choice(up) for _ in range(6))
            + d(2)
            + rng.choice("ABCDEHLMPRST")
            + d(2)
            + rng.choice(up)
            + d(3)
            + rng.choice(up)
        )
    if label == "CCCD":
        return "0" + d(11)
    if label == "NIN":
        return d(11)
    if label == "Emirates ID":
        return f"784-{rng.randint(1960, 2005)}-{d(7)}-{d(1)}"
    return f"{rng.randint(60, 99)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}-{rng.randint(1, 2)}{d(6)}"


def _cn_id(rng: random.Random) -> str:
    w = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    body = (
        f"{rng.choice([320505, 430104, 440106, 330212, 410105, 210202])}{rng.randint(1955, 2006)}"
        f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
    )
    return body + "10X98765432"[sum(int(c) * k for c, k in zip(body, w, strict=True)) % 11]


def _dob(rng: random.Random) -> str:
    y, m, day = rng.randint(1950, 2006), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice(
        [
            f"{day:02d}.{m:02d}.{y}",
            f"{y}-{m:02d}-{day:02d}",
            f"{m:02d}/{day:02d}/{y}",
            f"{day}/{m}/{y}",
            f"{MONTHS[m - 1]} {day}, {y}",
            f"{day} {MONTHS[m - 1]} {y}",
            f"{y}年{m}月{day}日",
        ]
    )


def _b64(obj: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def _secrets(rng: random.Random) -> list[tuple[str, str]]:
    alnum = string.ascii_letters + string.digits
    out = []
    for _ in range(4):
        out.append(
            (
                "AWS_KEY",
                "AKIA"
                + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16)),
            )
        )
        out.append(("GITHUB_TOKEN", "ghp_" + "".join(rng.choice(alnum) for _ in range(36))))
        sig = "".join(rng.choice(alnum + "-_") for _ in range(43))
        payload = {"sub": str(rng.randint(10**5, 10**9)), "iat": rng.randint(1.6e9, 1.8e9)}
        out.append(("JWT", f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(payload)}.{sig}"))
        out.append(("API_KEY", "sk-proj-" + "".join(rng.choice(alnum) for _ in range(48))))
        pw = "".join(rng.choice(alnum + "!$") for _ in range(12))
        scheme = rng.choice(["postgres", "redis", "amqp", "mongodb"])
        out.append(
            ("URL_CREDENTIALS", f"{scheme}://svc_user:{pw}@db{rng.randint(1, 9)}.internal:5432/app")
        )
    return out  # fmt: skip


def _ssns(rng: random.Random) -> list[str]:
    out = []
    while len(out) < 16:
        a, g, s = rng.randint(1, 899), rng.randint(1, 99), rng.randint(1, 9999)
        if a != 666:
            out.append(f"{a:03d}-{g:02d}-{s:04d}")
    return out


def values(rng: random.Random) -> list[tuple[str, str]]:
    vals = [("PHONE", p) for p in _phones(rng)]
    vals += [("IBAN", _iban(rng, cc)) for cc in IBAN_BBAN for _ in range(2)]
    vals += [("CREDIT_CARD", _card(rng, p, n)) for p, n in CARD_NETWORKS for _ in range(3)]
    vals += [("EMAIL", e) for e in _emails(rng)]
    vals += [("IP", ip) for ip in _ips(rng)]
    vals += [("PASSPORT", p) for _ in range(2) for p in _passports(rng)]
    vals += [("SSN", s) for s in _ssns(rng)]
    vals += [("TAX_ID", _steuer_id(rng)) for _ in range(8)]
    vals += _secrets(rng)
    return vals


def _structured(rng: random.Random):
    for kind, v in values(rng):
        frame = rng.choice(STRUCT_FRAMES)
        labels = FIELD_LABELS[kind]
        cue = labels[3] if frame.startswith("请") else rng.choice(labels[:3])
        yield frame.format(cue=cue, v=v, num=rng.randint(1000, 99999)), kind, v
    for _ in range(20):
        v = _dob(rng)
        cue = rng.choice(DOB_CUES)
        frame = rng.choice(STRUCT_FRAMES[:5]) if not cue.startswith("出") else STRUCT_FRAMES[5]
        yield frame.format(cue=cue, v=v, num=rng.randint(1000, 99999)), "DATE_OF_BIRTH", v
    for _ in range(16):
        v = _cn_id(rng)
        frame = rng.choice(["身份证号：{v}\n姓名：待补\n帮我检查格式", "我的身份证是{v}，办卡需要什么材料？",
                            "Chinese ID card: {v} - is the checksum right?"])  # fmt: skip
        yield frame.format(v=v), "CN_ID", v
    for label in NATIONAL_ID_LABELS:
        for _ in range(2):
            v = _national_id(rng, label)
            yield rng.choice(ID_FRAMES).format(label=label, v=v), "NATIONAL_ID", v


def _latin_people(rng: random.Random) -> list[str]:
    out = []
    for given, family in LATIN_NAMES.values():
        if given is None:
            out += family
            continue
        pairs = [(g, s) for g in given for s in family]
        out += [f"{g} {s}" for g, s in rng.sample(pairs, 20)]
    return out


def _people(rng: random.Random):
    names = _latin_people(rng)
    rng.shuffle(names)
    for i, name in enumerate(names):
        frame = EN_NAME_FRAMES[i % len(EN_NAME_FRAMES)]
        yield frame.format(n=name, num=rng.randint(1000, 99999)), "PERSON", name
    for i in range(84):
        name = rng.choice(ZH_SURNAMES) + rng.choice(ZH_GIVEN)
        frame = ZH_NAME_FRAMES[i % len(ZH_NAME_FRAMES)]
        yield frame.format(n=name, num=rng.randint(1000, 99999)), "PERSON", name


def _addresses(rng: random.Random):
    flat = [a for forms in ADDRESSES.values() for a in forms]
    for i in range(len(flat) * 5):
        a = flat[i % len(flat)].format(h=rng.randint(1, 320))
        frame = ADDR_FRAMES[(i * 7 + i // len(flat)) % len(ADDR_FRAMES)]
        yield frame.format(a=a, num=rng.randint(1000, 99999)), "ADDRESS", a
    for i in range(len(ZH_ADDR) * 7):
        a = ZH_ADDR[i % len(ZH_ADDR)].format(h=rng.randint(1, 900))
        frame = ZH_ADDR_FRAMES[(i + i // len(ZH_ADDR)) % len(ZH_ADDR_FRAMES)]
        yield frame.format(a=a), "ADDRESS", a


def cases(seed: int = SEED) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    return [*_structured(rng), *_people(rng), *_addresses(rng)]


STRUCTURED = {
    "PHONE", "EMAIL", "IBAN", "CREDIT_CARD", "IP", "PASSPORT", "SSN", "TAX_ID", "DATE_OF_BIRTH",
    "CN_ID", "NATIONAL_ID", "AWS_KEY", "JWT", "GITHUB_TOKEN", "API_KEY", "URL_CREDENTIALS",
}  # fmt: skip

if __name__ == "__main__":
    from collections import Counter

    rows = cases()
    print(len(rows), dict(Counter(k for _, k, _ in rows)))
