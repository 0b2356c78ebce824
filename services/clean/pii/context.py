"""Context words: the words just before a value that name what it is.

A checksum that fails usually means a look-alike (an order number that happens to have 16
digits), but a user who writes "my card number is ..." or "我的身份证号是..." and mistypes a digit
has still disclosed it. So a value whose checksum fails is redacted anyway when one of its
type's words stands within ``WINDOW`` characters before it (Presidio's context enhancement, as a
yes/no rule). The look-back is bounded, so the cost per candidate is constant.
"""

from __future__ import annotations

WINDOW = 48

KEYWORDS: dict[str, tuple[str, ...]] = {
    "CREDIT_CARD": (
        "card", "credit", "debit", "visa", "mastercard", "amex", "卡号", "信用卡", "银行卡",
        "karte", "carte", "tarjeta", "cartão", "カード",
    ),
    "IBAN": (
        "iban", "bank account", "account number", "account no", "konto", "kontonummer",
        "bankverbindung", "rib", "compte", "cuenta", "conto", "rekening", "rachunek", "账号",
        "账户", "口座",
    ),
    "NATIONAL_ID": (
        "dni", "nie", "codice fiscale", "pesel", "cpf", "bsn", "burgerservicenummer",
        "personnummer", "aadhaar", "rrn", "주민등록번호", "id number", "nir", "sécurité sociale",
    ),
    "CN_ID": ("身份证", "证件号", "id number", "id no", "id card", "identity"),
    "SSN": ("ssn", "social security", "社保", "社会保障"),
}  # fmt: skip


def named(text: str, start: int, kind: str) -> bool:
    """True when a word naming ``kind`` appears in the ``WINDOW`` characters before ``start``."""
    words = KEYWORDS.get(kind)
    if not words:
        return False
    before = text[max(0, start - WINDOW) : start].casefold()
    return any(w in before for w in words)
