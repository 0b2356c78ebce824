"""A third held-out personal-data set, written before the name and address rules of issue #16's
second pass were tuned on bench/pii_fresh.py, and run once after them (bench/pii.py --holdout).

A different generator from bench/pii_ood.py and bench/pii_fresh.py: given names and surnames of
other cultures' romanisations (Korean, Vietnamese, Turkish, Persian, Kenyan, Nigerian, Polish,
Finnish, Greek, Hungarian, Indonesian, Filipino, Brazilian, Arabic, Hebrew, Indian, Nepali, Irish,
Scottish) and other Chinese surnames and given names, none shared with the other two sets;
sentence templates in other styles (support tickets, e-mails with signatures, forms, chat,
mixed Chinese and English); addresses of 17 countries in their own formats and Chinese addresses
of other provinces. Structured values reuse bench/pii_ood.py's sources (libphonenumber example
numbers of 32 regions, IBAN registry examples, card test numbers, ...) in new templates.
``cases()`` yields (text, kind, value); recall = the value is gone from the redacted text.
"""

from __future__ import annotations

import random

from bench import pii_ood

GIVEN = (
    "Ji-woo Seo-yeon Min-jun Thanh Linh Quang Emre Elif Burak Arash Shirin Dariush Wanjiru Baraka "
    "Achieng Chidi Ngozi Folake Grzegorz Małgorzata Aino Juha Giorgos Eleni Zsófia Bence Budi "
    "Dewi Maricel Jericho João Thiago Khalid Noor Yasmin Yonatan Noa Ananya Vikram Lakshmi Sunita "
    "Bishal Siobhan Declan Eilidh Callum Tariq Zainab Kofi Abena Haruto Sakura"
).split()
SURNAMES = [
    *"Kim Choi Tran Pham Yilmaz Kaya Karimi Tehrani Mwangi Otieno Okonkwo Adebayo Wiśniewski".split(),
    *"Virtanen Korhonen Papadopoulos Nagy Kovács Santoso Wijaya Oliveira Souza Haddad".split(),
    *"Al-Farsi Cohen Levi Iyer Reddy Chatterjee Gurung Shrestha MacLeod Fitzgerald".split(),
    *"Nakamura Sato Boateng Mensah-Bonsu Lindgren".split(),
    "Dela Cruz",
]

ZH_SURNAMES = "傅 洪 贺 龚 邵 孟 秦 雷 汤 尹 黎 戴 孔 常 温 康 施 樊 葛 邢 齐 乔 庞 颜 聂 鲁 岳 翟 殷 詹 耿 焦 俞 柳 祝 宁 符 舒 柯 童 凌 毕 季 裴 霍 盛 欧阳 上官 诸葛 司徒".split()
ZH_GIVEN = (
    "子轩 梓涵 浩然 思远 若曦 一鸣 家豪 欣怡 佳琪 宇航 雅婷 俊杰 晓东 秋菊 春生 建国 志强 海燕 丽华 文博 "
    "诗琪 嘉懿 明哲 婉清 天佑 芷若 博文 雨桐 亦凡 可馨 峻 琳 昊 萱 鹏 莹 帆 蕾 昕 毅"
).split()

EN_NAME_T = [
    # support tickets
    "Ticket #{num}\nCustomer: {n}\nIssue: cannot log in since the last update, please advise",
    "[Support] Requester {n} reports that invoices are sent twice. Priority: high",
    "Case {num} opened by {n} - refund not received after 14 days",
    # e-mails with signatures
    "Could you confirm the delivery date for order {num}?\n\nKind regards,\n{n}\nOperations Manager",
    "Hi all, the slides are attached. Let me know if anything is missing.\n\nBest wishes,\n{n}",
    "Please find the signed contract enclosed.\n\nWarm regards\n{n}\n+ sent from my phone",
    "Dear {n},\nthank you for your application. Rewrite this rejection to sound kinder.",
    # forms
    "Full name: {n}\nDate of visit: next Monday\nReason: annual checkup\nIs this form complete?",
    "Passenger: {n} | Seat 14C | Flight LH{num} - is this booking confirmed?",
    "Applicant name - {n}; position - data analyst. Write a short summary for HR.",
    # chat
    "lol {n} just texted me asking about the party, what should I say back",
    "can u draft a thank-you note to {n} for hosting us last weekend",
    "{n} from the landlord's office called about the lease renewal, what should I ask?",
    "Rewrite this more politely: '{n}, you missed the deadline again.'",
    "Book a follow-up appointment for my dad, {n}, next Tuesday morning",
    "Cc {n} on the reply and make it shorter",
    # mixed Chinese / English
    "我的老板 {n} wants the report by Friday，帮我写个提纲",
    "请帮我给 {n} 回一封英文邮件，说我们下周二可以开会",
]
ZH_NAME_T = [
    "订单问题：收件人写的是{n}，但是电话填错了，怎么改？",
    "工单 {num} 提交人：{n} 问题描述：无法登录App",
    "麻烦通知一下{n}，明天的会议改到下午三点",
    "我同事{n}想问一下发票怎么开",
    "Hi，我是{n}，my account got locked，能帮忙看看吗",
    "明天{n}会来取件，请提前准备好",
    "这是{n}的简历，请帮我润色一下",
    "尊敬的{n}女士：您好！您的包裹已到达，请帮我把这段话改得正式一点",
    "表格：姓名 {n}  性别 男  年龄 32，这样填可以吗",
    "客户{n}反映产品有质量问题，帮我写个回复",
    "请把这份合同转交给{n}经理",
    "帮我约{n}老师周五下午见面，写条短信",
]

ADDRESSES = {
    "US": ["{h} Birch Hollow Road, Asheville, NC 28801", "{h} W Fullerton Ave, Chicago, IL 60614",
           "{h} Magnolia Court, Savannah, GA 31401"],
    "UK": ["Flat 3, {h} Wellington Crescent, Bristol BS8 2AB", "{h} Castle Street, Cardiff CF10 1BS"],
    "CA": ["{h} Queen St W, Toronto, ON M5H 2N2", "{h} Robson Street, Vancouver, BC V6E 1C3"],
    "AU": ["{h} Kookaburra Close, Cairns QLD 4870", "{h} Chapel Street, Melbourne VIC 3141"],
    "IE": ["{h} Grafton Street, Dublin 2"],
    "NZ": ["{h} Cuba Street, Te Aro, Wellington 6011"],
    "IN": ["Flat 402, Lotus Apartments, {h} MG Road, Bengaluru 560001"],
    "SG": ["Blk {h} Ang Mo Kio Avenue 3, #05-67, Singapore 560123"],
    "NL": ["Prinsengracht {h}, 1016 GV Amsterdam"],
    "IT": ["Via Garibaldi {h}, 10122 Torino", "Corso Buenos Aires {h}, 20124 Milano"],
    "PT": ["Rua das Flores {h}, 4050-265 Porto"],
    "BR": ["Rua Oscar Freire {h}, São Paulo - SP, 01426-001"],
    "DE": ["Kastanienallee {h}, 10435 Berlin", "Am Sandtorkai {h}, 20457 Hamburg"],
    "AT": ["Mariahilfer Straße {h}, 1060 Wien"],
    "FR": ["{h} boulevard Saint-Michel, 75005 Paris", "{h} rue Sainte-Catherine, 33000 Bordeaux"],
    "ES": ["Calle de Alcalá {h}, 28014 Madrid"],
    "MX": ["Av. Paseo de la Reforma {h}, Col. Juárez, 06600 Ciudad de México"],
}  # fmt: skip
ADDR_T = [
    "Ticket {num}: package returned to sender. Customer address on file: {a}. What went wrong?",
    "Hi! Moving next month to {a} - can you write a change-of-address note for my bank?",
    "Shipping details\nName: (see order)\nStreet: {a}\nPlease check the format.",
    "pls send the replacement to {a} asap, the first one never came",
    "Write a friendly invite for a housewarming at {a} on Saturday at 6.",
    "We're at {a} now, how far is the nearest train station?",
    "收货地址：{a}，这个英文地址格式对吗？",
    "Our new office: {a}. Update the footer of this email template.",
]
ZH_ADDR = [
    "福建省厦门市思明区鹭江道{h}号",
    "陕西省西安市雁塔区长安南路{h}号2单元301室",
    "重庆市渝中区民族路{h}号",
    "云南省昆明市五华区青年路{h}号",
    "山东省青岛市市南区香港中路{h}号",
    "上海市长宁区愚园路1088弄{h}号",
    "北京市海淀区中关村大街{h}号",
    "黑龙江省哈尔滨市南岗区西大直街{h}号",
    "广西壮族自治区南宁市青秀区民族大道{h}号",
    "河北省石家庄市长安区中山东路{h}号3栋",
]
ZH_ADDR_T = [
    "收货地址：{a}，请尽快发货",
    "请帮我查一下{a}附近有没有24小时药店",
    "我们公司搬到了{a}，帮我写个通知",
    "寄件人地址 {a}，运费多少？",
    "Please deliver to {a}，谢谢",
    "工单{num}：用户反馈{a}一直收不到快递",
    "我家在{a}，周末想找个家政阿姨",
    "表格里的住址栏写{a}可以吗",
]

# structured values of bench/pii_ood.py in new templates: a ticket, a form, an e-mail, a chat line
LABEL = {
    "PHONE": ("Callback number: ", "Phone (mobile) - ", "reach me on ", "联系电话："),
    "EMAIL": ("Reply-To: ", "E-mail address - ", "ping me at ", "邮箱地址："),
    "IBAN": ("Refund to IBAN ", "IBAN - ", "my bank IBAN: ", "退款账户 IBAN："),
    "CREDIT_CARD": ("Card used: ", "Card number - ", "I paid with card ", "付款卡号："),
    "IP": ("Client IP: ", "Source address - ", "my router shows ", "出问题的IP："),
    "PASSPORT": ("Passport no: ", "Passport number - ", "my passport is ", "护照号码："),
    "SSN": ("SSN on file: ", "Social Security No. - ", "my ssn ", "SSN："),
    "TAX_ID": ("Steuer-ID: ", "Tax ID (DE) - ", "my German tax id is ", "德国税号："),
    "DATE_OF_BIRTH": ("DOB: ", "Date of birth - ", "I was born ", "出生日期："),
    "AWS_KEY": ("Key in the log: ", "Access key - ", "my key ", "日志里的key："),
    "JWT": ("Authorization: Bearer ", "Token - ", "the token is ", "令牌："),
    "GITHUB_TOKEN": ("GH token: ", "Token - ", "my token ", "令牌："),
    "URL_CREDENTIALS": ("DSN: ", "Connection string - ", "I connect with ", "连接串："),
}  # fmt: skip
STRUCT_T = [
    "Ticket {num}\n{cue}{v}\nStatus: waiting for customer. Summarize this ticket.",
    "Please fill in the rest of the form:\n{cue}{v}\nCountry: ?",
    "Hello,\n\n{cue}{v} - can you check whether this is correct?\n\nThanks",
    "ugh {cue}{v} and it still fails, any idea why?",
    "帮我检查一下这个字段 {cue}{v}，格式有问题吗",
]


def _people(rng: random.Random):
    pairs = [(g, s) for g in GIVEN for s in SURNAMES]
    rng.shuffle(pairs)
    for i in range(130):
        g, s = pairs[i]
        name = f"{g} {s}"
        yield (
            EN_NAME_T[i % len(EN_NAME_T)].format(n=name, num=rng.randint(1000, 99999)),
            "PERSON",
            name,
        )
    for i in range(80):
        name = rng.choice(ZH_SURNAMES) + rng.choice(ZH_GIVEN)
        yield (
            ZH_NAME_T[i % len(ZH_NAME_T)].format(n=name, num=rng.randint(1000, 99999)),
            "PERSON",
            name,
        )


def _addresses(rng: random.Random):
    flat = [a for forms in ADDRESSES.values() for a in forms]
    for i in range(125):
        a = flat[i % len(flat)].format(h=rng.randint(1, 480))
        t = ADDR_T[(i // len(flat) + i) % len(ADDR_T)]
        yield t.format(a=a, num=rng.randint(1000, 99999)), "ADDRESS", a
    for i in range(80):
        a = ZH_ADDR[i % len(ZH_ADDR)].format(h=rng.randint(1, 600))
        t = ZH_ADDR_T[(i // len(ZH_ADDR) + i) % len(ZH_ADDR_T)]
        yield t.format(a=a, num=rng.randint(1000, 99999)), "ADDRESS", a


def _structured(rng: random.Random):
    for kind, v in pii_ood.values(rng):
        tpl = rng.choice(STRUCT_T)
        cues = LABEL[kind]
        cue = cues[3] if tpl.startswith("帮我") else rng.choice(cues[:3])
        yield tpl.format(cue=cue, v=v, num=rng.randint(1000, 99999)), kind, v
    for cid in pii_ood._cn_ids(rng):  # noqa: SLF001
        tpl = rng.choice(["申请表\n身份证：{v}\n请核对", "客户说他的身份证号码是 {v} ，帮我登记"])
        yield tpl.format(v=cid), "CN_ID", cid
    forms = ["Form field '{label} no.': {v} - valid?", "KYC check, {label}: {v}. Next step?"]
    for label, v in pii_ood.NATIONAL_IDS:
        yield rng.choice(forms).format(label=label, v=v), "NATIONAL_ID", v


def cases(seed: int = 2027) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    return [*_structured(rng), *_people(rng), *_addresses(rng)]


STRUCTURED = pii_ood.STRUCTURED
