"""Shared preambles are learned from the stream and left out of what the model reads."""

from __future__ import annotations

import asyncio
from collections import Counter

from services.embed.preamble import MemoryCounts, Preambles, cuts, digest

PRE = (
    "System: you are Atlas, the travel assistant of Northwind Journeys, with the tools "
    "search_flights and get_weather. User:"
)


class MemCounts:
    def __init__(self) -> None:
        self.c: Counter[str] = Counter()
        self.fields: list[str] = []

    async def incr(self, fields):
        self.fields.extend(fields)
        out = []
        for f in fields:
            self.c[f] += 1
            out.append(self.c[f])
        return out


def strip(p: Preambles, texts: list[str]) -> list[str]:
    return asyncio.run(p.strip(texts))


def test_cuts_fall_on_word_boundaries_and_leave_enough_text():
    text = PRE + " Is it going to rain in Lisbon in June, with a toddler?"
    cs = cuts(text)
    assert cs and all(text[c - 1].isspace() for c in cs)
    assert all(len(text) - c >= 24 for c in cs)
    assert cuts("short prompt") == []


def test_a_preamble_is_stripped_once_enough_prompts_began_with_it():
    counts = MemCounts()
    p = Preambles(counts, min_count=3)
    qs = [f"{PRE} question number {i} about the weather in Lisbon in June?" for i in range(5)]
    assert strip(p, qs[:2]) == qs[:2]  # not yet known
    for o in strip(p, qs[2:]):  # the batch that brings it to 3 strips all of its prompts
        assert "Northwind" not in o and o.endswith("in June?")


def test_counts_hold_hashes_never_text():
    counts = MemCounts()
    strip(Preambles(counts, min_count=2), [PRE + " how do I get a refund for my cancelled trip?"])
    assert counts.fields and all(len(f) == 20 and "Atlas" not in f for f in counts.fields)
    assert digest("abc") == digest("abc") != digest("abd")


def test_different_texts_are_left_whole():
    p = Preambles(MemCounts(), min_count=2)
    texts = [f"Prompt {i}: " + "word " * 30 + f"unique tail {i}" for i in range(3)]
    assert strip(p, texts) == texts  # "Prompt 0:", "Prompt 1:"... differ from the start


def test_a_text_without_spaces_has_no_cut():
    assert cuts("x" * 100_000) == []  # each level scans forward once: linear in the text


def test_only_the_shared_boilerplate_is_stripped_not_a_common_question_start():
    p = Preambles(MemoryCounts(), min_count=4)
    start = "Find me the cheapest flight from Lisbon to Osaka in March, "
    tails = ["with a toddler and a stroller.", "for our honeymoon, two options.",
             "on a student budget, keep it short.", "with a large dog, compare costs."]  # fmt: skip
    rain = [f"{PRE} Is it going to rain in Lisbon in {m}, with a toddler?" for m in ("May", "June")]
    texts = [t for tail in tails for t in (f"{PRE} {start}{tail}", *rain)]  # interleaved
    out = strip(p, texts)
    for o in out[4:]:  # the boilerplate (or most of it) goes, the whole question stays
        assert "Northwind" not in o and ("Find me the cheapest" in o or "Is it going" in o)
