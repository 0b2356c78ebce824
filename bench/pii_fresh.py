"""A second held-out set of names and addresses, written after bench/pii_ood.py and before the
name rules of the pattern and NER tiers were revised. Its misses were then used to write the
second pass of name rules (issue #16), so it is no longer held out: bench/pii_holdout.py is.

Other given names and surnames than pii_ood.py (none shared), other sentence templates, with a
cue ("my name is"), with a weaker context (a contact verb) and with none at all. Reported by
bench/pii.py next to the out-of-distribution set, so a rule that only fits pii_ood.py's
templates shows as a gap between the two. ``cases()`` yields (text, kind, value).
"""

from __future__ import annotations

import random

FIRST = (
    "Olivia James Amara Kenji Lucía Arjun Zoe Yusuf Hannah Diego Leila Samuel Nadia Ethan Ines "
    "Omar Clara Viktor Emma Thabo"
).split()
LAST = (
    "Thompson Mensah Yamamoto Herrera Sharma Lindqvist Demir Bauer Moreau Castillo Ali Walker "
    "Kowalczyk Petrov Reyes Fischer Okoye Larsen Bianchi Evans"
).split()
ZH = "郑凯 宋雨 韩梅梅 冯刚 邓超越 曹雪 彭磊 曾琳 肖勇 田甜 袁野 潘婷 蒋涛 蔡文 杜鹏 叶青 程曦 苏晴 魏东 吕方".split()

EN_CUE = [
    "Hello! My name is {n}, I ordered a lamp last week and it arrived broken.",
    "Hi there, {n} here. Could you help me reset my password?",
    "Thanks for the help so far. Best regards, {n}",
    "Dear support team, I am {n} and I would like to cancel my subscription.",
]
EN_FREE = [
    "Write a short birthday message for my colleague {n}.",
    "Translate this note into French: {n} will pick up the keys on Friday.",
    "My sister {n} is visiting next week, suggest some things to do in Lisbon.",
    "Summarize the email {n} sent me this morning about the budget.",
    "Should I invite {n} to the team offsite? We had a conflict last month.",
    "Help me reply to {n}, who wants to move our meeting to Thursday.",
]
ZH_T = [
    "您好，我叫{n}，我的快递一直没有更新",
    "帮我给{n}写一张生日贺卡",
    "我是{n}，想改一下收货信息",
    "联系人{n}，请尽快回电",
]
EN_ADDR = [
    "221 Lakeview Drive, Portland, OR 97201",
    "17 Queen Street, Edinburgh EH2 1JX",
    "5 Harbour Road, Auckland",
    "980 Pine Avenue, Denver, CO 80202",
    "44 Mill Lane, Leeds LS1 4AP",
]
ADDR_T = [
    "Can you send the invoice to {a}?",
    "We just moved to {a}, which internet providers serve that area?",
    "my shipping address is {a}",
]
ZH_ADDR = ["江苏省南京市鼓楼区中山路18号", "湖北省武汉市洪山区珞喻路1037号", "天津市和平区南京路66号5楼"]
ZH_ADDR_T = ["快递请送到{a}", "我家住在{a}，附近有地铁吗？"]


def cases(seed: int = 3) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    out: list[tuple[str, str, str]] = []
    for i, first in enumerate(FIRST):
        name = f"{first} {LAST[(i * 7) % len(LAST)]}"
        out.append((rng.choice(EN_CUE).format(n=name), "PERSON", name))
        name = f"{first} {LAST[(i * 3 + 1) % len(LAST)]}"
        out.append((EN_FREE[i % len(EN_FREE)].format(n=name), "PERSON", name))
    for i, name in enumerate(ZH):
        out.append((ZH_T[i % len(ZH_T)].format(n=name), "PERSON", name))
    for a in EN_ADDR:
        out += [(t.format(a=a), "ADDRESS", a) for t in ADDR_T]
    for a in ZH_ADDR:
        out += [(t.format(a=a), "ADDRESS", a) for t in ZH_ADDR_T]
    return out
