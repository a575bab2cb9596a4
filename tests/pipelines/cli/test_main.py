"""The CLI: user errors are one line and a non-zero exit, never a traceback; every command has help."""

import pytest
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.cli.options import parse_overrides


@pytest.fixture
def runner():
    return CliRunner()


def test_every_command_has_help_with_an_example(runner):
    for name in cli.commands:
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example:" in result.output, f"`domaintune {name} --help` shows no example"


def test_bad_record_is_one_line_error(runner, fixtures, tmp_path):
    bad = fixtures / "telecom" / "wrong_type.json"
    result = runner.invoke(cli, ["data", "--task", "telecom", "--input", str(bad)])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {bad}: record 2: output: 42 is not of type 'string'"
    assert "Traceback" not in result.output


def test_input_needs_exactly_one_task(runner, fixtures):
    result = runner.invoke(cli, ["data", "--input", str(fixtures / "telecom/good.json")])
    assert result.exit_code == 1 and "give exactly one --task" in result.output


def test_unknown_gpu_tier_is_named(runner):
    result = runner.invoke(cli, ["recipe", "--task", "telecom", "--gpu", "gtx1060"])
    assert result.exit_code == 1 and "gtx1060" in result.output and "4090" in result.output


def test_download_offline_fails_with_one_line(runner, monkeypatch):
    # No model hub is reachable here; point ModelScope at a closed local port to be sure of it.
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", "http://127.0.0.1:9")
    result = runner.invoke(cli, ["download", "--model", "Qwen/Qwen2.5-0.5B-Instruct"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot download Qwen/Qwen2.5-0.5B-Instruct: ModelScope (http://127.0.0.1:9) cannot be reached (")
    assert len(result.output.strip().splitlines()) == 1


def test_overrides_are_typed_like_yaml_but_keep_strategy_words():
    assert parse_overrides(None, None, ["max_steps=3", "learning_rate=1e-3", "bf16=true", "save_strategy=no"]) == {
        "max_steps": 3,
        "learning_rate": "1e-3",
        "bf16": True,
        "save_strategy": "no",
    }


def test_usage_error_exits_2(runner):
    result = runner.invoke(cli, ["data", "--no-such-option"])
    assert result.exit_code == 2


def test_unexpected_error_is_one_line_and_exit_3_unless_debug(runner, monkeypatch):
    # Issue 8 case 6: a bug must not dump a traceback on the user, but --debug must still show it.
    from pipelines.cli import data

    def boom(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(data, "task_names", boom)
    result = runner.invoke(cli, ["data"])
    assert result.exit_code == 3
    assert result.output == "Error: unexpected ZeroDivisionError: division by zero (a bug: rerun with --debug for the traceback and report it)\n"
    debug = runner.invoke(cli, ["--debug", "data"])
    assert isinstance(debug.exception, ZeroDivisionError)


def test_missing_file_is_a_user_error(runner, monkeypatch, tmp_path):
    from pipelines.cli import data

    def missing(*args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", str(tmp_path / "glossary.txt"))

    monkeypatch.setattr(data, "task_names", missing)
    result = runner.invoke(cli, ["data"])
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / 'glossary.txt'}: No such file or directory\n"
