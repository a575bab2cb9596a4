"""Issue 8 case 6: user input that used to end in a bare traceback is now one line naming the file and the fix."""

import json

import pytest
import yaml
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.core.errors import DomaintuneError, RecordError
from pipelines.core.models import base_model_of
from pipelines.core.paths import TASKS_DIR
from pipelines.core.tasks import load_task_file


@pytest.fixture
def runner():
    return CliRunner()


def one_line_error(result, exit_code=1) -> str:
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    return result.output.strip()


def test_deeply_nested_json_input(runner, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000, encoding="utf-8")
    line = one_line_error(runner.invoke(cli, ["data", "--task", "telecom", "--input", str(deep)]))
    assert line.startswith(f"Error: {deep}: file: -: nested too deeply")


def test_estimate_with_zero_params(runner):
    line = one_line_error(runner.invoke(cli, ["estimate", "--params", "0B", "--method", "lora", "--bits", "16"]))
    assert line == "Error: 0B: a parameter count must be positive, like 7B or 0.5B"


@pytest.mark.parametrize("option", ["--cutoff", "--batch", "--lora-rank"])
def test_estimate_refuses_non_positive_sizes(runner, option):
    # Used to print negative gigabytes with exit 0.
    result = runner.invoke(cli, ["estimate", "--params", "7B", "--method", "lora", "--bits", "16", option, "-3"])
    assert result.exit_code == 2 and f"Invalid value for '{option}'" in result.output and "GB" not in result.output


def test_adapter_config_without_base_model(runner, tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 8}), encoding="utf-8")
    with pytest.raises(DomaintuneError, match=r"adapter_config.json: base_model_name_or_path is missing"):
        base_model_of(adapter)
    line = one_line_error(runner.invoke(cli, ["predict", "--task", "telecom", "--adapter", str(adapter)]))
    assert line.startswith(f"Error: {adapter / 'adapter_config.json'}: base_model_name_or_path is missing")


@pytest.mark.parametrize(
    "segments, where",
    [("[{", "line 1 column 3: -: not valid JSON"), ('[{"split": "val"}]', "file: 0: 'n' is a required property"), ('{"n": 1}', "file: (top level): {'n': 1} is not of type 'array'")],
)
def test_malformed_segments_json(runner, tmp_path, segments, where):
    predictions = tmp_path / "predict" / "adapter" / "generated_predictions.jsonl"
    predictions.parent.mkdir(parents=True)
    predictions.write_text(json.dumps({"prompt": "p", "predict": "a", "label": "a"}) + "\n", encoding="utf-8")
    (predictions.parent / "segments.json").write_text(segments, encoding="utf-8")
    line = one_line_error(runner.invoke(cli, ["eval", "--task", "telecom", "--predictions", str(predictions)]))
    assert line.startswith(f"Error: {predictions.parent / 'segments.json'}: {where}") and line.endswith("run it again to rewrite it")


def test_missing_glossary_is_found_when_the_task_loads(tmp_path):
    config = yaml.safe_load((TASKS_DIR / "telecom.yaml").read_text(encoding="utf-8"))
    config["eval"]["glossary"] = "evaluators/glossaries/no_such_file.txt"
    path = tmp_path / "telecom.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DomaintuneError, match=r"eval.glossary: file evaluators/glossaries/no_such_file.txt does not exist"):
        load_task_file(path)


def test_missing_glossary_at_scoring_time_is_a_record_error(tmp_path):
    from evaluators.telecom import load_glossary

    with pytest.raises(RecordError, match=r"no_such_file.txt: file: -: cannot read"):
        load_glossary(tmp_path / "no_such_file.txt")


@pytest.mark.parametrize(
    ("args", "otherwise"),
    [(["predict", "--task", "telecom"], "pass --adapter"), (["serve", "--task", "telecom"], "pass --adapter, or use --base-only")],
)
def test_commands_that_need_a_trained_run_say_how_to_get_one(runner, tmp_path, monkeypatch, args, otherwise):
    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(tmp_path))  # no runs/ at all
    line = one_line_error(runner.invoke(cli, args))
    assert line == f"Error: no trained run of telecom under runs/; train first or {otherwise}"
