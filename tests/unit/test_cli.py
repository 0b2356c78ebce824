"""The command line's answers to an operator's mistakes: one line on stderr and a non-zero exit,
never a traceback (docs/operations.md, "Command-line errors"); and help text on every option."""

from __future__ import annotations

import argparse
import json
import os
import time

import pytest

from services.dev.devstack import free_port
from services.settings.load import SettingsError, load_settings, unknown_variables
from streams.cli import build_parser, main


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No FLYWHEEL_* variable of the machine, and no dev stack found in the state directory."""
    for var in list(os.environ):
        if var.upper().startswith("FLYWHEEL_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("FLYWHEEL_STATE_DIR", str(tmp_path / "state"))


def run(capsys, *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    return code, capsys.readouterr().err.splitlines()


# --- settings ----------------------------------------------------------------------------------


def test_a_value_out_of_range_is_one_line_with_the_variable_value_and_form(monkeypatch, capsys):
    monkeypatch.setenv("FLYWHEEL_NEAR_DUP_THRESHOLD", "2")
    code, err = run(capsys, "topics")
    assert code == 2
    [line] = err
    assert line.startswith("flywheel: FLYWHEEL_NEAR_DUP_THRESHOLD=2: expected a number")
    assert "<= 1" in line


def test_a_comma_list_says_a_json_list_is_expected(monkeypatch, capsys):
    monkeypatch.setenv("FLYWHEEL_LANG_ALLOW", "en,zh")
    code, [line] = run(capsys, "topics")
    assert code == 2
    assert "FLYWHEEL_LANG_ALLOW=en,zh" in line and "JSON list" in line and '["en", "zh"]' in line


def test_every_bad_variable_is_named_and_secrets_are_not_shown(monkeypatch):
    monkeypatch.setenv("FLYWHEEL_LOG_LEVEL", "loud")
    monkeypatch.setenv("FLYWHEEL_PARTITIONS", "four")
    with pytest.raises(SettingsError) as info:
        load_settings(user_hash_key=["not", "text"])
    lines = sorted(str(info.value).splitlines())
    assert lines == [
        "FLYWHEEL_LOG_LEVEL=loud: expected one of debug, info, warn, error",
        "FLYWHEEL_PARTITIONS=four: expected an integer >= 1",
        "FLYWHEEL_USER_HASH_KEY=<hidden>: expected text",
    ]


def test_a_rule_across_settings_names_the_variables(monkeypatch):
    monkeypatch.setenv("FLYWHEEL_MIN_CHARS", "50")
    monkeypatch.setenv("FLYWHEEL_MAX_CHARS", "20")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value) == (
        "FLYWHEEL_MIN_CHARS=50, FLYWHEEL_MAX_CHARS=20: min_chars must be below max_chars"
    )


def test_an_unknown_variable_is_warned_about_with_the_closest_name(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("FLYWHEEL_NEAR_DUP_TRESHOLD", "0.9")
    monkeypatch.setenv("FLYWHEEL_ZZZ", "1")
    code, err = run(capsys, "generate", "-n", "1", "--out", str(tmp_path / "log.jsonl"))
    assert code == 0
    assert err == [
        "flywheel: warning: FLYWHEEL_NEAR_DUP_TRESHOLD is not a Flywheel setting, ignored; "
        "did you mean FLYWHEEL_NEAR_DUP_THRESHOLD?",
        "flywheel: warning: FLYWHEEL_ZZZ is not a Flywheel setting, ignored",
    ]
    assert unknown_variables({"FLYWHEEL_NEAR_DUP_THRESHOLD": "0.9", "PATH": "/bin"}) == []


# --- broker, files -----------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["topics"], ["lag", "--once"], ["export", "--out", "{out}"]])
def test_broker_unreachable_is_one_line_after_the_timeout(monkeypatch, capsys, tmp_path, command):
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("FLYWHEEL_KAFKA_BOOTSTRAP", address)
    argv = [a.format(out=tmp_path / "out.jsonl") for a in command]
    start = time.monotonic()
    code, err = run(capsys, "--connect-timeout", "0.5", *argv)
    assert time.monotonic() - start >= 0.5
    assert code == 1
    [line] = err
    assert address in line and "within 0.5 s" in line and "`flywheel dev up`" in line
    assert not (tmp_path / "out.jsonl").exists()


def test_a_missing_replay_file_is_one_line(capsys, tmp_path):
    code, err = run(capsys, "replay", str(tmp_path / "nope.jsonl"))
    assert (code, err) == (1, [f"flywheel replay: no such file: {tmp_path / 'nope.jsonl'}"])


def test_a_gateway_log_names_the_lines_it_cannot_convert_and_counts_them(capsys, tmp_path):
    """Nothing to produce, so no broker is needed; each line's number and reason, not its text."""
    log = tmp_path / "gateway.jsonl"
    embedding = '{"request": {"model": "e", "input": "private words"}, "response": {}}'
    log.write_text(f"{embedding}\nnot json at all\n\n[1, 2]\n", encoding="utf-8")
    code = main(["replay", "--format", "openai", "--quiet", str(log)])
    out, err = capsys.readouterr()
    assert code == 0
    assert err.splitlines() == [
        "flywheel replay: log line 1: the request has no messages (not a chat.completions call)",
        "flywheel replay: log line 2: not JSON (Expecting value)",
        "flywheel replay: log line 4: not a JSON object",
    ]
    assert "private" not in err + out
    assert json.loads(out) == {"produced": 0, "lines": 3, "not_converted": 3}


def test_options_for_another_format_are_one_line(capsys, tmp_path):
    log = tmp_path / "events.jsonl"
    log.write_text("{}\n", encoding="utf-8")
    code, err = run(capsys, "replay", "--requests", str(log), str(log))
    assert (code, err) == (1, ["flywheel replay: --requests is for --format openai"])
    out = str(tmp_path / "out.jsonl")
    code, err = run(capsys, "export", "--format", "argilla", "--with-response", "--out", out)
    assert (code, err) == (
        1,
        ["flywheel export: --with-response is for --format chat, not argilla"],
    )


@pytest.mark.parametrize("where", ["missing/out.jsonl", "."])
def test_an_unwritable_export_path_is_one_line(capsys, tmp_path, where):
    code, err = run(capsys, "export", "--out", str(tmp_path / where))
    assert code == 1
    [line] = err
    assert line.startswith("flywheel export: cannot write")


def test_an_unwritable_generate_output_is_one_line(capsys, tmp_path):
    code, err = run(capsys, "generate", "-n", "1", "--out", str(tmp_path / "no" / "log.jsonl"))
    assert code == 1 and len(err) == 1 and "cannot write" in err[0]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["-n", "-5"], "negative"),
        (["--bad-rate", "5"], "between 0 and 1"),
        (["--bad-rate", "-0.1"], "between 0 and 1"),
        (["--bad-rate", "nan"], "between 0 and 1"),
    ],
)
def test_generate_refuses_impossible_counts_and_rates(capsys, argv, says):
    with pytest.raises(SystemExit) as info:
        main(["generate", *argv])
    assert info.value.code == 2
    assert says in capsys.readouterr().err


# --- help --------------------------------------------------------------------------------------


def _parsers(parser: argparse.ArgumentParser, path: str = "flywheel"):
    yield path, parser
    for action in parser._actions:  # noqa: SLF001 - argparse exposes its tree no other way
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for name, child in action.choices.items():
                yield from _parsers(child, f"{path} {name}")


def test_every_option_of_every_subcommand_has_help():
    walked = list(_parsers(build_parser()))
    assert len(walked) > 10  # the tree was walked
    missing = [
        f"{path} {action.option_strings or action.dest}"
        for path, parser in walked
        for action in parser._actions  # noqa: SLF001
        if not isinstance(action, argparse._SubParsersAction | argparse._HelpAction)  # noqa: SLF001
        and (not action.help or action.help == argparse.SUPPRESS)
    ]
    assert missing == []


# --- topic centroids ---------------------------------------------------------------------------


def test_centroids_from_a_missing_file_is_one_line(capsys, tmp_path):
    code, err = run(capsys, "centroids", str(tmp_path / "nope.jsonl"), "--out", "t.npz")
    assert (code, err) == (1, [f"flywheel centroids: no such file: {tmp_path / 'nope.jsonl'}"])


def test_centroids_name_the_line_that_is_not_a_prompt(capsys, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"prompt": "hello there"}\n\n{"text": "no prompt"}\n')
    code, err = run(capsys, "centroids", str(prompts), "--out", str(tmp_path / "t.npz"))
    assert (code, err) == (
        1,
        [f"flywheel centroids: {prompts}:3: expected a JSON object with a prompt"],
    )
    assert not (tmp_path / "t.npz").exists()


def test_centroids_refuse_fewer_than_two_clusters(capsys, tmp_path):
    code, err = run(capsys, "centroids", str(tmp_path / "p.jsonl"), "--out", "t.npz", "--k", "1")
    assert (code, err) == (1, ["flywheel centroids: --k 1: expected at least 2 clusters"])
