"""Names by cue and context (names.py, names_zh.py): English and Chinese names after a word
that names or takes a person, before a form of address, after a relative, "Dear", a sign-off,
in form and ticket fields, after contact verbs, quoted and greeted names, Latin letters beyond
Latin-1, Chinese field labels, possessives and time words, Latin names in Chinese sentences,
titled names near a first-person word; what must stay. Their linear time: test_pii_linear.py."""

from __future__ import annotations

import pytest

from services.clean.pii import redact


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Hi, my name is Maria Gonzalez and I need help", "Maria Gonzalez"),
        ("你好，我叫欧阳娜娜，想问一下退款", "欧阳娜娜"),
    ],
)
def test_names_after_a_naming_cue(text, value):
    out, kinds = redact(text)
    assert value not in out and "{{PERSON}}" in out and "PERSON" in kinds, out


@pytest.mark.parametrize(
    "text",
    [
        "This is Python code, I am Learning it",
        "我是学生，想学编程",
        "布朗先生住在美国，那里有一家大工厂。",
        "During 5 hours a spider catches 9 flies.",
        "Who was Albert Einstein?",
    ],
)
def test_look_alikes_without_a_cue_are_left_alone(text):
    assert redact(text) == (text, [])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("帮我给林晓写一封道歉信", "林晓"),
        ("麻烦通知一下韩立新，会议取消了", "韩立新"),
        ("我客户邓佳说发票没收到", "邓佳"),
        ("请帮我回复高远先生，说周一可以", "高远"),
        ("尊敬的白雪女士：您好！请帮我润色这封信", "白雪"),
        ("Hi there, Lucas Moreno here. My parcel is late.", "Lucas Moreno"),
        ("My colleague Aiko Watanabe needs access to the drive.", "Aiko Watanabe"),
        ("our landlord, Peter Quinn, wants the rent early", "Peter Quinn"),
        ("Dear Rosa Delgado,\nplease find attached the invoice.", "Rosa Delgado"),
        ("Please contact Ivan Horvat about the delivery", "Ivan Horvat"),
        ("See you then.\n\nKind regards\nMarta Nilsen", "Marta Nilsen"),
        ("Thanks again!\nCheers,\nTom\n", "Tom"),
    ],
)
def test_names_in_more_contexts(text: str, value: str) -> None:
    out, kinds = redact(text)
    assert value not in out and "PERSON" in kinds, out


@pytest.mark.parametrize(
    "text",
    [
        "请给方法加注释",
        "给出一个例子",
        "我和平时一样早起",
        "用安东尼和马克的名字创造一个笑话。",
        "Dear Sir or Madam, I am writing to complain.",
        "Dear Hiring Manager, I am applying for the role.",
        "Please contact Customer Service for help",
        "Click here to continue. Sample Code here is broken.",
        "Best,\nThe Team",
        "my sister is visiting next week",
    ],
)
def test_what_stays(text: str) -> None:
    assert "PERSON" not in redact(text)[1], redact(text)


def test_a_long_chinese_passage_is_not_searched_for_names_without_a_cue() -> None:
    story = "他把钥匙交给了你的英语老师。" * 20 + "西蒙找到了我，并把我交给高远先生。"
    assert "PERSON" not in redact(story)[1]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Order 5512\nCustomer: Wiremu Tane\nStatus: shipped", "Wiremu Tane"),
        ("Traveler: Oksana Melnyk | Gate B12", "Oksana Melnyk"),
        ("Account holder - Ravi Subramanian; branch - Chennai", "Ravi Subramanian"),
        ('{"contact_name": "Astrid Holm", "tier": 2}', "Astrid Holm"),
        ("Ansprechpartner: Jörg Brandtner\nAbteilung: Einkauf", "Jörg Brandtner"),
        ("Bug 881 reported by Ilse De Wit, needs triage", "Ilse De Wit"),
        ("Cc Mateus Lacerda and keep it short", "Mateus Lacerda"),
        ("please write a thank-you card to Hemi Walker for the flowers", "Hemi Walker"),
        ("ok Tamar Shapiro just called me about the keys, what now", "Tamar Shapiro"),
        ("Rewrite: 'Oskar Nyberg, you forgot the invoice again.'", "Oskar Nyberg"),
        ("Hi Sione Latu,\nthe parcel is at the depot.", "Sione Latu"),
        ("Regards,\nŁucja Wójcik", "Łucja Wójcik"),
        ("Best,\nĐoàn Văn Hậu", "Đoàn Văn Hậu"),
        ("From: Selin Öztürk-Aydın\nSubject: invoice", "Selin Öztürk-Aydın"),
        ("快递单上收件人写的是闵晓峰，帮我查一下", "闵晓峰"),
        ("报修单 申请人：罗雅静 地点：三楼", "罗雅静"),
        ("帮我看看唐明远的推荐信写得怎么样", "唐明远"),
        ("下午许国梁要来开会，帮我订个会议室", "许国梁"),
        ("请帮我给 Hamid Rostami 发个提醒", "Hamid Rostami"),
    ],
)
def test_names_in_fields_and_contexts(text: str, value: str) -> None:
    out, kinds = redact(text)
    assert value not in out, out
    assert "PERSON" in kinds


@pytest.mark.parametrize(
    "text",
    [
        'President Obama said, "We are the change that we seek."',
        "On August 10, 1519, Ferdinand Magellan departs from Seville",
        "ref GB82 WEST 1234 5698 7654 33 in the log",
        "Windows 10, 2019 Server edition is what I run",
        "Customer: Premium\nPlan: yearly",
        "Customer Service Team: please reply within a day",
        "我需要为我的朋友John Doe创建一个新的联系人。",
        "明天高铁会晚点吗？帮我查一下",
        "Dear Sir or Madam, I am writing to complain",
        "Name: N/A",
        "Hello World, this is my first program",
        "Summarize the chapter where Harry Potter meets Ron Weasley",
    ],
)
def test_what_stays_a_person_or_an_address(text: str) -> None:
    out, kinds = redact(text)
    assert not {"PERSON", "ADDRESS"} & set(kinds), out


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("I have an appointment with Dr. Patel tomorrow, can you remind me?", "Patel"),
        ("My landlord Mrs. Okafor wants the rent two days early.", "Okafor"),
        ("Please tell Prof. Lindgren that I will be late.", "Lindgren"),
    ],
)
def test_a_titled_name_near_a_first_person_word_is_a_person(text, name):
    out, kinds = redact(text)
    assert name not in out and kinds == ["PERSON"]


@pytest.mark.parametrize(
    "text",
    [
        "Mr. Sanchez has 30 students in his class. How many pencils does he need?",
        "I need directions. " + "The road is long and winding. " * 4 + "Dr. Seuss wrote it.",
    ],
)
def test_a_titled_name_without_a_first_person_word_nearby_is_left_alone(text):
    assert redact(text) == (text, [])
