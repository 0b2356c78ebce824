"""A blind set of people's names (issue #16, fifth set): written and committed with its "before"
figures (bench/pii_results.jsonl) before the name dictionary tier existed, and then only run,
never tuned on: its misses are not printed.

The sealed set (bench/pii_sealed.py) had been measured once when the name rules were last
changed, and its seven name groups were known; this set takes groups none of the other sets
use (Turkish, Kenyan, Ghanaian, Ethiopian, Filipino, Indonesian, Japanese and Korean in
romanisation, Russian and Ukrainian transliterated, Mexican, Persian, Hungarian, Greek, Thai),
written here from general knowledge rather than from a package's lists, in sentence frames of
its own: chat requests that name a person without any cue ("forward this to …"), meeting notes,
roster lines, table rows, JSON, quoted speech, names at the start of a message, surname-first
order, and a few lowercased names the way people type in chat.

``cases(seed)`` yields (text, kind, value) with kind ``PERSON``; bench/pii.py ``--blind`` runs it.
"""

from __future__ import annotations

import random

SEED = 5303

# given names, family names; order "family given" where the culture writes it so in English text
GROUPS: dict[str, tuple[list[str], list[str], bool]] = {
    "turkish": (
        ["Mehmet", "Ayşe", "Emre", "Zeynep", "Burak", "Elif", "Oğuz", "Selin", "Kerem", "Derya"],
        [
            "Yılmaz",
            "Kaya",
            "Demir",
            "Çelik",
            "Şahin",
            "Öztürk",
            "Aydın",
            "Arslan",
            "Doğan",
            "Kılıç",
        ],
        False,
    ),
    "kenyan": (
        ["Wanjiru", "Kamau", "Achieng", "Otieno", "Njeri", "Kipchoge", "Wambui", "Mutua", "Chebet"],
        ["Mwangi", "Odhiambo", "Kariuki", "Wekesa", "Kiprono", "Njoroge", "Ochieng", "Mutiso"],
        False,
    ),
    "ghanaian": (
        ["Kwame", "Akosua", "Kofi", "Ama", "Yaw", "Abena", "Kwabena", "Efua", "Kojo", "Adjoa"],
        ["Mensah", "Owusu", "Boateng", "Asante", "Appiah", "Ofori", "Darko", "Amoah", "Agyeman"],
        False,
    ),
    "ethiopian": (
        ["Abebe", "Tigist", "Dawit", "Selamawit", "Yohannes", "Meron", "Tesfaye", "Hiwot"],
        ["Bekele", "Tadesse", "Girma", "Haile", "Alemu", "Wolde", "Kebede", "Desta"],
        False,
    ),
    "filipino": (
        ["Maricel", "Jomar", "Rowena", "Jericho", "Lourdes", "Reynaldo", "Analyn", "Dindo"],
        ["Dela Cruz", "Bautista", "Villanueva", "Macapagal", "Santos", "Mercado", "Pangilinan"],
        False,
    ),
    "indonesian": (
        ["Budi", "Siti", "Agus", "Dewi", "Eko", "Rina", "Bambang", "Wulan", "Hendra", "Putri"],
        ["Santoso", "Wijaya", "Hidayat", "Kusuma", "Saputra", "Nugroho", "Setiawan", "Pratama"],
        False,
    ),
    "japanese": (
        ["Hiroshi", "Yuki", "Takeshi", "Aiko", "Kenji", "Haruka", "Daisuke", "Naoko", "Ren"],
        ["Tanaka", "Suzuki", "Takahashi", "Watanabe", "Yamamoto", "Nakamura", "Kobayashi", "Sato"],
        True,
    ),
    "korean": (
        ["Min-jun", "Seo-yeon", "Ji-hoon", "Ha-eun", "Do-yun", "Soo-ah", "Jae-won", "Yu-na"],
        ["Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Yoon", "Jang", "Han", "Shin"],
        True,
    ),
    "russian_ukrainian": (
        ["Dmitri", "Svetlana", "Oleksandr", "Yulia", "Sergei", "Natalia", "Bohdan", "Oksana"],
        ["Ivanov", "Petrova", "Shevchenko", "Kovalenko", "Smirnov", "Bondarenko", "Volkova"],
        False,
    ),
    "mexican": (
        ["Guadalupe", "Alejandro", "Ximena", "Jesús", "Mariana", "Rodrigo", "Itzel", "Fernando"],
        ["Hernández", "García", "Martínez", "López", "González", "Ramírez", "Cervantes", "Ortega"],
        False,
    ),
    "persian": (
        ["Reza", "Shirin", "Mehdi", "Parisa", "Arash", "Niloufar", "Kourosh", "Leila", "Babak"],
        ["Hosseini", "Ahmadi", "Rezaei", "Moradi", "Karimi", "Jafari", "Tehrani", "Sadeghi"],
        False,
    ),
    "hungarian": (
        ["Zsófia", "Bence", "Réka", "Levente", "Katalin", "Gergely", "Eszter", "Ádám"],
        ["Nagy", "Kovács", "Tóth", "Szabó", "Horváth", "Varga", "Kiss", "Molnár", "Farkas"],
        True,
    ),
    "greek": (
        ["Giorgos", "Eleni", "Dimitris", "Katerina", "Nikos", "Sofia", "Yannis", "Despina"],
        ["Papadopoulos", "Georgiou", "Nikolaidis", "Konstantinou", "Pappas", "Alexiou"],
        False,
    ),
    "thai": (
        ["Somchai", "Siriporn", "Anan", "Kanya", "Prasert", "Wanida", "Thanawat", "Ploy"],
        ["Saetang", "Srisuk", "Chaiyaporn", "Wongsawat", "Rattanakul", "Boonmee", "Kaewkla"],
        False,
    ),
}

# {n} is the name; no frame carries a naming cue ("my name is", "Name:") of the kinds the other
# sets use a lot: people name colleagues, customers and relatives in passing.
FRAMES = [
    "Can you forward this thread to {n} before the standup?",
    "Draft a polite reminder to {n} that the invoice is two weeks overdue.",
    "{n} asked whether the refund went through, what should I tell them?",
    "Meeting notes 14 March: {n} will own the migration, deadline end of Q2.",
    "Write a short thank-you card for {n}, who covered my shifts last week.",
    "Is it rude to cc {n} on the reply to the vendor?",
    "Summarise what {n} said in the call: the shipment is delayed by ten days.",
    "Roster for Saturday - morning: {n}; afternoon: open.",
    "| 2024-03-02 | {n} | onboarding | done |",
    '{{"assignee": "{n}", "status": "blocked", "priority": 2}}',
    "My landlord {n} keeps ignoring my messages about the broken heater.",
    'Translate into Spanish: "{n} will pick you up at the airport at 6."',
    "Help me respond to {n}, who left a one-star review about slow delivery.",
    "Our new intern {n} starts Monday; write a welcome message for the team channel.",
    "Ticket reopened by {n} - the login page still times out on mobile.",
    "Please add {n} to the guest list for the dinner on Friday.",
    "I need a reference letter for {n}, who worked for us for three years as an analyst.",
    "{n}: hey, are we still on for the review tomorrow?",
    "Write a condolence note to {n} whose father passed away last week.",
    "Compare the two quotes, the one from {n} is cheaper but slower.",
    "My daughter's teacher {n} wants a meeting, how do I prepare?",
    "Booking under {n}, two adults, check-in 12 May - can you confirm?",
    "Make the tone friendlier: '{n}, your report is late again.'",
    "Who should I escalate to if {n} does not answer by noon?",
]
LOWER_FRAMES = [
    "tell {n} i will be late lol",
    "can u remind {n} about the keys",
    "ask {n} if the package arrived",
]


def _name(rng: random.Random, group: str) -> str:
    given, family, family_first = GROUPS[group]
    g, f = rng.choice(given), rng.choice(family)
    if family_first and rng.random() < 0.5:
        return f"{f} {g}"
    return f"{g} {f}"


def cases(seed: int = SEED) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    rows: list[tuple[str, str, str]] = []
    for i in range(280):
        group = list(GROUPS)[i % len(GROUPS)]
        name = _name(rng, group)
        if i % 14 == 13:
            name = name.lower()
            frame = LOWER_FRAMES[(i // 14) % len(LOWER_FRAMES)]
        else:
            frame = FRAMES[(i * 5 + i // len(FRAMES)) % len(FRAMES)]
        rows.append((frame.format(n=name), "PERSON", name))
    return rows


if __name__ == "__main__":
    print(len(cases()), "names in", len(GROUPS), "groups")
