"""Addresses by shape and cue (addresses.py): continental street + number + postcode + city
lines, US directionals, flats and blocks, UK/Canadian postcodes kept whole, Chinese addresses,
Latin addresses after a Chinese cue. Their linear time: test_pii_linear.py."""

from __future__ import annotations

import re

import pytest

from services.clean.pii import redact


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("ship it to 742 Evergreen Terrace, Springfield", "742 Evergreen Terrace"),
        (
            "我的地址是上海市浦东新区世纪大道100号，快递到了吗",
            "上海市浦东新区世纪大道100号",
        ),
        ("请寄到广东省深圳市南山区科技园路1号3栋502室", "南山区科技园路1号"),
    ],
)
def test_addresses_by_shape_and_cue(text, value):
    out, kinds = redact(text)
    assert value not in out and "{{ADDRESS}}" in out and "ADDRESS" in kinds, out


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Send it to Schönhauser Allee 36, 10435 Berlin please", "Schönhauser Allee 36, 10435 Berlin"),
        ("Adres: Damrak 1, 1012 LG Amsterdam", "Damrak 1, 1012 LG Amsterdam"),
        ("ship to Avenida da Liberdade 110, 1269-046 Lisboa today", "Avenida da Liberdade 110, 1269-046 Lisboa"),
        ("Rua Augusta 50, Centro, Curitiba - PR, 80020-010", "Rua Augusta 50, Centro, Curitiba - PR, 80020-010"),
        ("we live at 88 E Oak St, Portland, OR 97204", "88 E Oak St, Portland, OR 97204"),
        ("Flat 7, 21 Albert Road, Glasgow G42 8DN is my new place", "Flat 7, 21 Albert Road, Glasgow G42 8DN"),
        ("Blk 9 Tampines Avenue 5, #03-12, Singapore 529653", "Blk 9 Tampines Avenue 5, #03-12, Singapore 529653"),
        ("office: 40 King Street, Waterloo, ON N2J 2X1", "40 King Street, Waterloo, ON N2J 2X1"),
        ("寄到 Kungsgatan 4, 111 43 Stockholm，谢谢", "Kungsgatan 4, 111 43 Stockholm"),
        ("收货地址：12 Baker Road, Leeds LS6 2AB，可以吗", "12 Baker Road, Leeds LS6 2AB"),
    ],
)  # fmt: skip
def test_addresses_whole(text: str, value: str) -> None:
    out, kinds = redact(text)
    for part in re.findall(r"\w+", value):
        if part not in re.sub(re.escape(value), "", text):
            assert part not in re.findall(r"\w+", out), (part, out)
    assert "ADDRESS" in kinds
