"""Evaluation-set files: what is read from them, what is refused in one line, the stored form."""

from __future__ import annotations

import json

import numpy as np
import pytest

from services.state import evalsets
from services.state.evalsets import (
    BadEvalset,
    decode_items,
    decode_vectors,
    encode_items,
    encode_vectors,
    parse_evalset,
)


def jsonl(*rows: dict) -> bytes:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()


def test_json_lines_with_ids_and_without():
    got = parse_evalset("s", jsonl({"id": 7, "question": "What is 2+2?"}, {"question": "Why?"}))
    assert got.items == [("7", "What is 2+2?"), ("2", "Why?")]


def test_the_first_field_of_question_prompt_text_is_read_case_insensitively():
    got = parse_evalset("s", jsonl({"Prompt": "Write a poem", "text": "ignored"}))
    assert got.items == [("1", "Write a poem")]


def test_csv_with_a_header_naming_the_field():
    raw = ",Question,A,B\n0,在农业生产中的基本生产资料是,土地,劳动力\n1,下列哪一项正确,甲,乙\n".encode()
    got = parse_evalset("cmmlu", raw)
    assert got.items == [("1", "在农业生产中的基本生产资料是"), ("2", "下列哪一项正确")]


def test_items_are_normalized_and_redacted():
    got = parse_evalset("s", jsonl({"question": "  Mail  bob@example.com   now\u200b "}))
    assert got.items == [("1", "Mail {{EMAIL}} now")]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty file"),
        (b"  \n\n", "empty file"),
        (b"\xff\xfe{}", "not UTF-8"),
        (jsonl({"answer": "4"}), "line 1: no question, prompt or text field"),
        (jsonl({"question": "ok"}) + b"\n[1]", "line 2: not a JSON object"),
        (jsonl({"question": "ok"}) + b"\n{oops", "line 2: not JSON"),
        (b"a,b\n1,2\n", "neither JSON lines nor a CSV header"),
        (jsonl({"id": 1, "question": "a b"}, {"id": 1, "question": "c d"}), "item id '1' appears"),
        (jsonl({"question": "   "}), "no item with text"),
    ],
)
def test_bad_files_are_refused_in_one_line(raw, message):
    with pytest.raises(BadEvalset) as exc:
        parse_evalset("s", raw)
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)


def test_too_large_files_and_items_are_refused(monkeypatch):
    monkeypatch.setattr(evalsets, "MAX_FILE_BYTES", 100)
    with pytest.raises(BadEvalset, match="file too large"):
        parse_evalset("s", jsonl({"question": "x" * 200}))
    monkeypatch.setattr(evalsets, "MAX_ITEM_CHARS", 10)
    monkeypatch.setattr(evalsets, "MAX_FILE_BYTES", 1000)
    with pytest.raises(BadEvalset, match="longer than 10 characters"):
        parse_evalset("s", jsonl({"question": "x" * 20}))


@pytest.mark.parametrize("name", ["", "a b", "x/y", "-lead", "n" * 65])
def test_bad_names_are_refused(name):
    with pytest.raises(BadEvalset, match="bad name"):
        parse_evalset(name, jsonl({"question": "fine"}))


def test_items_and_vectors_round_trip():
    items = [("a/1", "What is 2+2?"), ("b", "在农业生产中")]
    assert decode_items(encode_items(items)) == items
    vecs = np.array([[0.6, 0.8], [0.0, 0.0]], dtype=np.float32)
    back = decode_vectors(encode_vectors(vecs), 2)
    assert np.allclose(back, vecs, atol=1e-3)  # zero rows (unreadable items) stay zero
