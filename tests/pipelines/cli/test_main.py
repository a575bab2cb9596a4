"""The CLI: user errors are one line and a non-zero exit, never a traceback; every command has help."""

import click
import pytest
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.cli.options import checked_overrides, parse_overrides


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
    assert result.output.strip() == f"Error: {bad}: record 3: output: 42 is not of type 'string'"
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


def test_unexpected_error_is_one_line_and_exit_3_and_debug_adds_the_traceback(runner, monkeypatch):
    # Issue 8 case 6: a bug must not dump a traceback on the user, but --debug must still show it.
    # Issue 20: with --debug the exit code stays 3 (it used to become Python's 1).
    from pipelines.cli import data

    def boom(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(data, "task_names", boom)
    result = runner.invoke(cli, ["data"])
    assert result.exit_code == 3
    assert result.output == "Error: unexpected ZeroDivisionError: division by zero (a bug: rerun with --debug for the traceback and report it)\n"
    debug = runner.invoke(cli, ["--debug", "data"])
    assert debug.exit_code == 3
    assert "Traceback (most recent call last)" in debug.output and 'raise ZeroDivisionError("division by zero")' in debug.output
    assert debug.output.endswith("Error: unexpected ZeroDivisionError: division by zero (a bug: report it with the traceback above)\n")


def test_missing_file_is_a_user_error(runner, monkeypatch, tmp_path):
    from pipelines.cli import data

    def missing(*args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", str(tmp_path / "glossary.txt"))

    monkeypatch.setattr(data, "task_names", missing)
    result = runner.invoke(cli, ["data"])
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / 'glossary.txt'}: No such file or directory\n"


# Issue 20: `--set` used to escape the run (output_dir trained into another folder and left the run without
# adapter/), an unknown key failed 19 s into llamafactory-cli without being named, a malformed value was exit 3.
TRAIN = ["train", "--task", "telecom", "--gpu", "cpu", "--model", "tiny"]


@pytest.mark.parametrize(
    "item, problem",
    [
        ("output_dir=/tmp/elsewhere", "output_dir: cannot be set with --set: the adapter and predictions stay in the run folder"),
        ("dataset_dir=/tmp/data", "dataset_dir: cannot be set with --set: datasets are read from the workspace's dataset_info/"),
        ("logging_dir=/tmp/logs", "logging_dir: cannot be set with --set: the run's logs stay in its folder"),
        ("deepspeed=ds.json", "deepspeed: cannot be set with --set: the plan writes the tier's DeepSpeed config"),
        ("adapter_name_or_path=/tmp/a", "adapter_name_or_path: cannot be set with --set: train starts a new adapter"),
        ("lerning_rate=1e-4", "lerning_rate: unknown key (did you mean learning_rate or logging_strategy?)"),
        ("max_steps=ten", "max_steps: 'ten' is not int"),
        ("max_samples=-3", "max_samples: -3 is less than the minimum of 1"),
        ("learning_rate=[1", "'learning_rate=[1': '[1' is not a YAML value (expected ',' or ']', but got '<stream end>'); quote it to pass text"),
    ],
)
def test_set_is_checked_before_anything_starts(runner, tmp_path, monkeypatch, item, problem):
    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(tmp_path))
    result = runner.invoke(cli, [*TRAIN, "--set", item])
    assert result.exit_code == 2, result.output
    assert f"Error: Invalid value for '--set': {problem}" in " ".join(result.output.split())
    assert not (tmp_path / "runs").exists()  # no run folder was started


def test_set_names_every_problem_and_reads_numbers_as_the_field_types_them():
    with pytest.raises(click.BadParameter) as caught:
        checked_overrides(None, None, ["output_dir=x", "max_stepz=3"])
    assert caught.value.message.startswith("output_dir: cannot be set with --set: ") and "; max_stepz: unknown key (did you mean max_steps" in caught.value.message
    # YAML 1.1 reads 1e-4 as text; the float field gets the number, as a YAML 1.2 reader would give it.
    assert checked_overrides(None, None, ["learning_rate=1e-4", "max_steps=3", "save_strategy=no"]) == {"learning_rate": 1e-4, "max_steps": 3, "save_strategy": "no"}


@pytest.mark.parametrize("args", [["preview", "--dataset", "telecom_train", "-n", "-5"], ["serve", "--task", "telecom", "--port", "-1"], ["webui", "--port", "70000"]])
def test_negative_counts_and_impossible_ports_are_usage_errors(runner, args):
    # Issue 20: `preview -n -5` used to exit 0 and print every sample but the last five.
    result = runner.invoke(cli, args)
    assert result.exit_code == 2 and "Invalid value for" in result.output, result.output
