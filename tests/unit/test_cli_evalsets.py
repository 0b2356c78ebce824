"""``flywheel evalsets add`` refuses a bad file in one line before it connects to anything."""

from __future__ import annotations

import os

import pytest

from services.state import evalsets
from streams.cli import main


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in list(os.environ):
        if var.upper().startswith("FLYWHEEL_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("FLYWHEEL_STATE_DIR", str(tmp_path / "state"))
    # nothing listens here: a command that reached Redis would fail differently
    monkeypatch.setenv("FLYWHEEL_REDIS_URL", "redis://127.0.0.1:1/0")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b'{"answer": "4"}\n', "line 1: no question, prompt or text field"),
        (b'{"id": 1, "question": "a"}\n{"id": 1, "question": "b"}\n', "item id '1' appears"),
    ],
)
def test_a_bad_file_is_one_line_and_exit_1(tmp_path, capsys, content, message):
    path = tmp_path / "set.jsonl"
    path.write_bytes(content)
    assert main(["evalsets", "add", "bench", str(path)]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("flywheel evalsets: ") and message in line


def test_a_file_above_the_limit_is_refused_before_it_is_read(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(evalsets, "MAX_FILE_BYTES", 10)
    monkeypatch.setattr("streams.cli.evalsets.MAX_FILE_BYTES", 10)
    path = tmp_path / "big.jsonl"
    path.write_bytes(b'{"question": "far more than ten bytes"}\n')
    assert main(["evalsets", "add", "bench", str(path)]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert "file too large" in line


def test_a_missing_file_and_a_bad_name(tmp_path, capsys):
    assert main(["evalsets", "add", "bench", str(tmp_path / "none.jsonl")]) == 1
    assert "no such file" in capsys.readouterr().err
    path = tmp_path / "ok.jsonl"
    path.write_bytes(b'{"question": "What is the boiling point of water?"}\n')
    assert main(["evalsets", "add", "bad name", str(path)]) == 1
    assert "bad name" in capsys.readouterr().err


def test_redis_down_is_one_line(tmp_path, capsys):
    assert main(["evalsets", "list"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("flywheel evalsets: Redis")
