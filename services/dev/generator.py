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
from pathlib import Path

# Templates as data (services/dev/data/templates.json): per topic, paraphrase forms that ask the
# same thing in other words, with their slot values; junk prompts; personal-data snippets.
_DATA = json.loads(
    (Path(__file__).with_name("data") / "templates.json").read_text(encoding="utf-8")
)

EN_TEMPLATES: list[tuple[list[str], list[str]]] = [(f, v) for f, v in _DATA["en_templates"]]

ZH_TEMPLATES: list[tuple[list[str], list[str]]] = [(f, v) for f, v in _DATA["zh_templates"]]

JUNK: list[str] = _DATA["junk"]
PII_SNIPPETS: list[str] = _DATA["pii_snippets"]
NAMES: list[str] = _DATA["names"]
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
