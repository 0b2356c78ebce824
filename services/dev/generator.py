"""A realistic synthetic chat log (there is no hub to download one from).

Many topics in English and Chinese; base prompts drawn with Zipf-like popularity, so popular ones
repeat exactly; light edits (case, punctuation, spacing, typos); paraphrase-like variants of the
same request; personal data pasted into prompts; junk; one flooding user; optionally malformed
messages. Deterministic for a seed. Each event's ``meta.gen`` says what the generator made, so
benchmarks can score decisions (the pipeline ignores it).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass

# (paraphrase forms, slot values). Forms of one entry ask the same thing in other words.
EN_TEMPLATES: list[tuple[list[str], list[str]]] = [
    (
        ["How do I {x}?", "What's the best way to {x}?", "Can you explain how to {x}?"],
        [
            "reverse a linked list in Python",
            "center a div with CSS",
            "read a CSV file with pandas",
            "set up a Python virtual environment",
            "write a unit test with pytest",
            "merge two git branches",
            "parse JSON in Go",
            "sort a dictionary by value in Python",
            "make an HTTP request in Rust",
            "connect to PostgreSQL from Node.js",
            "debounce a function in JavaScript",
            "profile a slow SQL query",
            "deploy a Flask app to a server",
            "write a Dockerfile for Django",
        ],
    ),
    (
        [
            "Write a short poem about {x}.",
            "Compose a brief poem on {x}.",
            "Give me a few lines of verse about {x}.",
        ],
        [
            "autumn leaves",
            "the ocean at night",
            "a lonely lighthouse",
            "city rain",
            "my grandmother's kitchen",
            "the first snow",
            "a cat watching birds",
            "long train journeys",
            "coffee in the morning",
        ],
    ),
    (
        [
            "Explain {x} in simple terms.",
            "Can you explain {x} like I'm five?",
            "What is {x}, in plain words?",
        ],
        [
            "quantum entanglement",
            "inflation",
            "how vaccines work",
            "blockchain",
            "photosynthesis",
            "the Pythagorean theorem",
            "compound interest",
            "black holes",
            "machine learning overfitting",
            "the stock market",
            "climate change feedback loops",
            "public key cryptography",
        ],
    ),
    (
        ["Give me a recipe for {x}.", "How do I cook {x}?", "What's a good recipe for {x}?"],
        [
            "vegetarian lasagna",
            "banana bread",
            "chicken curry",
            "miso soup",
            "sourdough bread",
            "pad thai",
            "chocolate chip cookies",
            "a quick weeknight stir fry",
            "french onion soup",
        ],
    ),
    (
        [
            "Plan a {x} itinerary.",
            "Help me plan a {x} trip.",
            "Suggest a schedule for a {x} vacation.",
        ],
        [
            "3-day Tokyo",
            "week-long Italy",
            "weekend Paris",
            "5-day Iceland road",
            "2-day Barcelona",
            "10-day Peru hiking",
            "family-friendly Orlando",
        ],
    ),
    (
        ["What's the difference between {x}?", "How do {x} differ?", "Compare {x}."],
        [
            "TCP and UDP",
            "a list and a tuple in Python",
            "stocks and bonds",
            "viruses and bacteria",
            "weather and climate",
            "SQL and NoSQL databases",
            "RAM and storage",
            "baking soda and baking powder",
        ],
    ),
    (
        [
            "Write a cover letter for a {x} position.",
            "Draft a cover letter for a job as a {x}.",
            "Help me write a cover letter applying for {x} roles.",
        ],
        [
            "junior data analyst",
            "nurse",
            "software engineer",
            "marketing manager",
            "high school teacher",
            "product designer",
        ],
    ),
    (
        ["Summarize the plot of {x}.", "Give me a short summary of {x}.", "What happens in {x}?"],
        [
            "Pride and Prejudice",
            "Moby Dick",
            "The Great Gatsby",
            "1984 by George Orwell",
            "Hamlet",
            "The Lord of the Rings",
        ],
    ),
    (
        [
            "Translate '{x}' into French.",
            "How do you say '{x}' in French?",
            "French translation of '{x}', please.",
        ],
        [
            "where is the train station",
            "I would like a coffee",
            "thank you very much for your help",
            "the meeting is postponed until Monday",
            "my luggage is lost",
        ],
    ),
    (
        ["Give me tips to {x}.", "How can I {x}?", "Any advice on how to {x}?"],
        [
            "sleep better",
            "stay focused while studying",
            "reduce stress at work",
            "save money on groceries",
            "run my first marathon",
            "learn a language faster",
            "keep houseplants alive",
        ],
    ),
]

ZH_TEMPLATES: list[tuple[list[str], list[str]]] = [
    (
        ["写一首关于{x}的诗", "请以{x}为题写一首短诗", "帮我写几句关于{x}的诗"],
        ["秋天", "大海", "故乡", "月亮", "春雨", "长城"],
    ),
    (
        ["如何用Python{x}?", "Python怎么{x}?", "请问用Python{x}的方法是什么?"],
        ["读取Excel文件", "发送HTTP请求", "处理日期和时间", "连接MySQL数据库", "画折线图"],
    ),
    (
        ["请解释一下{x}", "{x}是什么意思?", "能通俗地讲讲{x}吗?"],
        ["量子计算", "通货膨胀", "区块链", "光合作用", "机器学习", "相对论"],
    ),
    (
        ["{x}有什么好玩的地方?", "去{x}旅游有哪些推荐?", "{x}值得去的景点有哪些?"],
        ["北京", "成都", "杭州", "西安", "厦门", "重庆"],
    ),
    (
        ["推荐几本关于{x}的书", "有哪些讲{x}的好书?", "想了解{x},读什么书好?"],
        ["历史", "心理学", "经济学", "编程", "哲学"],
    ),
]

JUNK = [
    "",
    "   ",
    "hi",
    "hello",
    "test",
    "1",
    "?",
    "asdfghjkl",
    "qwertyuiop asdf",
    "😀😀😀",
    "https://example.com",
    "ok",
    "\u200b\u200b",
    "lol",
]
PII_SNIPPETS = [
    "My email is {name}@example.com, {p}",
    "Call me at +1 415 555 {n4}. {p}",
    "My card 4111 1111 1111 1111 was charged twice, {p}",
    "我的手机号是138{n8},{p}",
    "server 10.0.{n1}.{n2} is down, {p}",
]
NAMES = ["john.doe", "mary.smith", "wei.zhang", "a.kumar", "l.garcia"]
BAD_MESSAGES = [
    b"{not json",
    b"[1, 2, 3]",
    b'{"event_id": "x"}',
    b'{"event_id": "y", "prompt": 42}',
    b"\xff\xfe\xfa invalid utf-8",
    b'"just a string"',
    b'{"prompt": "no id"}',
]


@dataclass(frozen=True)
class Base:
    group: int  # template x slot: paraphrases share a group
    form: int
    text: str
    lang: str


def base_prompts() -> list[Base]:
    out: list[Base] = []
    group = 0
    for lang, templates in (("en", EN_TEMPLATES), ("zh", ZH_TEMPLATES)):
        for forms, slots in templates:
            for slot in slots:
                for f, form in enumerate(forms):
                    out.append(Base(group, f, form.format(x=slot), lang))
                group += 1
    return out


def _edit(text: str, rng: random.Random) -> str:
    choice = rng.randrange(5)
    if choice == 0:
        return text.lower()
    if choice == 1:
        return text.rstrip("?.!") + rng.choice(["", "!!", " ?", "..."])
    if choice == 2:
        return "  " + text.replace(" ", "  ", 1) + " \n"
    if choice == 3 and len(text) > 6:
        i = rng.randrange(1, len(text) - 2)
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return rng.choice(["please ", "Hey, ", "quick question: "]) + text


class ChatLogGenerator:
    """Yields ``(bytes, meta)`` per message: ``meta["kind"]`` is what it is."""

    def __init__(self, seed: int = 7, bad_rate: float = 0.0, zipf_s: float = 1.1) -> None:
        self.rng = random.Random(seed)
        self.bad_rate = bad_rate
        self.bases = base_prompts()
        self.rng.shuffle(self.bases)
        self.weights = [1.0 / (rank + 1) ** zipf_s for rank in range(len(self.bases))]
        self.users = [f"user-{i:04d}" for i in range(500)]

    def events(self, n: int, prefix: str = "ev") -> Iterator[tuple[bytes, dict]]:
        rng = self.rng
        for i in range(n):
            event_id = f"{prefix}-{i:07d}"
            roll = rng.random()
            if roll < self.bad_rate:
                yield rng.choice(BAD_MESSAGES), {"kind": "malformed"}
                continue
            user = rng.choice(self.users)
            source = "synthetic" if rng.random() < 0.15 else "real"
            base = rng.choices(self.bases, self.weights)[0]
            roll = rng.random()
            if roll < 0.35:
                kind, text = "repeat", base.text
            elif roll < 0.55:
                kind, text = "edit", _edit(base.text, rng)
            elif roll < 0.70:
                kind, text = "paraphrase", self._paraphrase(base)
            elif roll < 0.80:
                kind, text = (
                    "pii",
                    rng.choice(PII_SNIPPETS).format(
                        name=rng.choice(NAMES),
                        n4=f"{rng.randrange(10**4):04d}",
                        n8=f"{rng.randrange(10**8):08d}",
                        n1=rng.randrange(256),
                        n2=rng.randrange(256),
                        p=base.text,
                    ),
                )
            elif roll < 0.88:
                kind, text = "junk", rng.choice(JUNK)
            elif roll < 0.95:
                kind, user = "flood", "user-flood"
                text = (
                    f"Give me {rng.randrange(3, 9)} ideas for a birthday party theme"
                    + rng.choice(["", "!", " please"])
                )
            else:
                kind, text = "unique", self._unique(rng)
            event = {
                "event_id": event_id,
                "prompt": text,
                "user_id": user,
                "source": source,
                "session_id": f"s-{rng.randrange(10**6)}",
                "channel": rng.choice(["web", "ios", "android"]),
                "ts": 1_700_000_000_000 + i * 50,
                "meta": {"gen": {"kind": kind, "group": base.group}},
            }
            yield (
                json.dumps(event, ensure_ascii=False).encode(),
                {"kind": kind, "group": base.group},
            )

    def _paraphrase(self, base: Base) -> str:
        same = [b for b in self.bases if b.group == base.group and b.form != base.form]
        return self.rng.choice(same).text if same else base.text

    def _unique(self, rng: random.Random) -> str:
        a, b = rng.randrange(10, 999), rng.randrange(10, 999)
        item = rng.choice(["apples", "marbles", "tickets", "books", "coins", "stamps"])
        name = rng.choice(["Ana", "Ben", "Chen", "Dara", "Eli", "Fatima"])
        return (
            f"{name} has {a} {item} and buys {b} more, then gives away a third of them. "
            f"How many {item} does {name} keep?"
        )


def unique_prompts(n: int, seed: int = 11) -> list[str]:
    """``n`` distinct, mutually dissimilar-enough prompts for throughput benchmarks."""
    rng = random.Random(seed)
    subjects = [s for _, slots in EN_TEMPLATES for s in slots]
    verbs = [
        "Explain",
        "Describe",
        "Write a story about",
        "List facts about",
        "Critique",
        "Teach me",
        "Write a haiku about",
        "Give pros and cons of",
        "Make a quiz about",
        "Debate",
    ]
    out = []
    for i in range(n):
        out.append(
            f"{rng.choice(verbs)} {rng.choice(subjects)} for case #{i} "
            f"with {rng.randrange(1, 10**6)} {rng.choice(['details', 'steps', 'examples'])}."
        )
    return out
