"""A labelled personal-data corpus, English and Chinese, generated (no external data).

``labelled(n, seed)`` yields (text, kind, value, valid): valid values must be redacted; invalid
look-alikes (bad Luhn, bad checksum, no word naming them) must be left alone. Also used by bench/cleaning.py.
"""

from __future__ import annotations

import random
import string

from services.dev.generator import base_prompts

EN_CONTEXT = [
    "My {label} is {v}, can you help me fix my account?",
    "Please send the invoice to {v} by Friday.",
    "{v} — that's what the form says. Is it valid?",
    "why does my script fail when it reads {v} from the config file",
    "I pasted {v} into the settings and now it is broken",
]
# Look-alikes with a bad checksum come without a word naming their type: with one, they are
# redacted anyway (services/clean/pii/context.py).
UNNAMED_CONTEXT = [
    "Please send the invoice to {v} by Friday.",
    "{v} — that's what the form says. Is it valid?",
    "why does my script fail when it reads {v} from the config file",
]
ZH_CONTEXT = [
    "我的{label}是{v},请帮我查一下",
    "请把结果发到{v},谢谢",
    "为什么输入{v}之后报错了?",
]
LABELS = {
    "EMAIL": ("email", "邮箱"),
    "PHONE": ("phone number", "电话"),
    "CREDIT_CARD": ("card number", "银行卡号"),
    "IP": ("server address", "服务器地址"),
    "IBAN": ("IBAN", "国际银行账号"),
    "CN_ID": ("ID number", "身份证号"),
    "SSN": ("SSN", "社保号"),
    "AWS_KEY": ("AWS key", "AWS密钥"),
    "GITHUB_TOKEN": ("GitHub token", "GitHub令牌"),
    "API_KEY": ("API key", "API密钥"),
    "JWT": ("token", "令牌"),
    "PRIVATE_KEY": ("key", "私钥"),
    "URL_CREDENTIALS": ("database URL", "数据库地址"),
}


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def card(rng: random.Random, valid: bool) -> str:
    prefix, length = rng.choice(
        [("4", 16), ("51", 16), ("55", 16), ("34", 15), ("37", 15), ("6011", 16)]
    )
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    check = luhn_digit(body)
    if not valid:
        check = str((int(check) + rng.randint(1, 9)) % 10)
    digits = body + check
    sep = rng.choice(["", " ", "-"])
    return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4)) if sep else digits


def iban(rng: random.Random, valid: bool) -> str:
    country, length = rng.choice([("DE", 22), ("GB", 22), ("FR", 27), ("NL", 18)])
    if country == "GB":
        bban = "NWBK" + "".join(rng.choice(string.digits) for _ in range(14))
    elif country == "NL":
        bban = "ABNA" + "".join(rng.choice(string.digits) for _ in range(10))
    else:
        bban = "".join(rng.choice(string.digits) for _ in range(length - 4))
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    if not valid:
        check = (check + rng.randint(1, 50)) % 97 + 2
    value = f"{country}{check:02d}{bban}"
    return (
        " ".join(value[i : i + 4] for i in range(0, len(value), 4)) if rng.random() < 0.5 else value
    )


def cn_id(rng: random.Random, valid: bool) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    body = (
        f"{rng.randint(110000, 659000)}{rng.randint(1950, 2010)}{rng.randint(1, 12):02d}"
        f"{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    )
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    if not valid:
        check = rng.choice([c for c in "0123456789X" if c != check])
    return body + check


def phone(rng: random.Random) -> str:
    d = lambda n: "".join(rng.choice(string.digits) for _ in range(n))  # noqa: E731
    return rng.choice(
        [
            f"+1 415 555 {d(4)}",
            f"(415) 555-{d(4)}",
            f"415-555-{d(4)}",
            f"+44 20 7946 {d(4)}",
            f"+86 138 {d(4)} {d(4)}",
            f"1{rng.choice('3456789')}{d(9)}",
            f"+49 30 {d(4)} {d(4)}",
            f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}",
        ]
    )


def secret(kind: str, rng: random.Random) -> str:
    alnum = string.ascii_letters + string.digits
    r = lambda n, chars=alnum: "".join(rng.choice(chars) for _ in range(n))  # noqa: E731
    if kind == "AWS_KEY":
        return "AKIA" + r(16, string.ascii_uppercase + string.digits)
    if kind == "GITHUB_TOKEN":
        return rng.choice(["ghp_", "gho_", "ghs_"]) + r(36)
    if kind == "API_KEY":
        return rng.choice(["sk-", "sk-proj-"]) + r(40)
    if kind == "JWT":
        return "eyJhbGciOiJIUzI1NiJ9.eyJ" + r(30) + "." + r(43, alnum + "-_")
    if kind == "PRIVATE_KEY":
        return (
            "-----BEGIN RSA PRIVATE KEY-----\n"
            + r(64)
            + "\n"
            + r(64)
            + "\n-----END RSA PRIVATE KEY-----"
        )
    return f"postgres://admin:{r(12)}@db.internal:5432/prod"


def value(kind: str, rng: random.Random, valid: bool = True) -> str:
    if kind == "EMAIL":
        return f"{rng.choice(['john.doe', 'mary_s', 'wei.zhang', 'a.kumar+test'])}{rng.randint(1, 999)}@{rng.choice(['example.com', 'mail.co.uk', 'qq.com'])}"
    if kind == "PHONE":
        return phone(rng)
    if kind == "CREDIT_CARD":
        return card(rng, valid)
    if kind == "IP":
        if rng.random() < 0.6:
            return ".".join(str(rng.randint(1, 254)) for _ in range(4))
        return ":".join(f"{rng.randint(0, 65535):x}" for _ in range(8))
    if kind == "IBAN":
        return iban(rng, valid)
    if kind == "CN_ID":
        return cn_id(rng, valid)
    if kind == "SSN":
        return f"{rng.randint(1, 665):03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
    return secret(kind, rng)


CHECKSUMMED = ("CREDIT_CARD", "IBAN", "CN_ID")


def labelled(n_per_kind: int, seed: int = 1):
    rng = random.Random(seed)
    for kind, (en, zh) in LABELS.items():
        for i in range(n_per_kind):
            v = value(kind, rng)
            ctx = rng.choice(EN_CONTEXT) if i % 3 else rng.choice(ZH_CONTEXT)
            yield ctx.format(label=zh if ctx in ZH_CONTEXT else en, v=v), kind, v, True
        if kind in CHECKSUMMED:
            for _ in range(n_per_kind):
                v = value(kind, rng, valid=False)
                yield rng.choice(UNNAMED_CONTEXT).format(v=v), kind, v, False


def clean_prompts() -> list[str]:
    """Prompts without personal data, for the false-positive rate."""
    extra = [
        "What is 1234 * 5678?",
        "Convert 2024-05-17 to a weekday.",
        "Explain the difference between IPv4 and IPv6 addresses.",
        "My order number is 12345 and it has not arrived.",
        "Sort these numbers: 42, 17, 8, 99, 23",
        "How many seconds are in 365 days?",
        "Version 3.11.7 of Python broke my build, why?",
        "Write a regex that matches an email address.",
        "在1949年10月1日发生了什么?",
        "What is the time complexity of quicksort, O(n log n)?",
    ]
    return [b.text for b in base_prompts()] + extra
