"""Issue 8 case 6: user input that used to end in a bare traceback is now one line naming the file and the fix."""

import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.core.errors import DomaintuneError, RecordError
from pipelines.core.models import base_model_of
from pipelines.core.paths import TASKS_DIR
from pipelines.core.tasks import load_task_file
from pipelines.data.build import build_task

DOMAINTUNE = str(Path(sys.executable).with_name("domaintune"))
PHASE_LINE = re.compile(r"\w+: [\w ]+: [\d,]+ \w+ in [\d.]+ s( \([\d,]+/s\))?")  # e.g. "telecom: read: 17 records in 0.0 s (11,398/s)"


@pytest.fixture
def runner():
    return CliRunner()


def one_line_error(result, exit_code=1) -> str:
    """The error, which must be one line on stderr, after nothing but the progress lines of phases that finished."""
    assert result.exit_code == exit_code, result.output
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.output and lines and not result.stdout.strip(), result.output
    assert all(PHASE_LINE.fullmatch(line) for line in lines[:-1]), result.output
    return lines[-1]


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


def test_disk_full_is_a_user_error_naming_the_file(runner, tmp_path, monkeypatch, fixtures):
    # Issue 20: on a full disk `data` said "unexpected OSError: [Errno 28] No space left on device (a bug ...)".
    from pipelines.data import publish

    def full(path, mode):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(tmp_path))
    monkeypatch.setattr(publish, "open", full, raising=False)
    line = one_line_error(runner.invoke(cli, ["data", "--task", "telecom", "--input", str(fixtures / "telecom/good.json")]))
    staged = rf"{tmp_path}/dataset_info/\.staging-telecom-\d+-\w+"
    assert re.fullmatch(rf"Error: {staged}/telecom_train\.json: no space left on device: "
                        rf"writing it needs \d+ bytes, (\d+ bytes|[\d.]+ [kMG]B) free in {staged}; free some space and run again", line), line
    assert not (tmp_path / "dataset_info/dataset_info.json").exists()


@pytest.mark.parametrize("make", [os.mkfifo, lambda path: os.symlink("/dev/zero", path)])
def test_a_fifo_or_device_as_input_is_refused_at_once(tmp_path, make):
    # Issue 20: a FIFO as --input hung `data` forever; /dev/zero was read until memory ran out.
    raw = tmp_path / "input.json"
    make(raw)
    env = {**os.environ, "DOMAINTUNE_WORKSPACE": str(tmp_path / "workspace")}
    done = subprocess.run([DOMAINTUNE, "data", "--task", "telecom", "--input", str(raw)], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"Error: {raw}: file: -: not a regular file but a ") and done.stderr.endswith("; give a file\n")


def test_a_record_over_the_size_limit_is_refused_with_its_size(runner, tmp_path, monkeypatch):
    # Issue 20: one 50 MB record was built (7 GB peak memory, from its tokenization); a record over
    # source.max_record_bytes (1 MiB unless the task says) stops the build, naming its size, before anything loads it.
    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(tmp_path / "workspace"))
    raw = tmp_path / "qa.jsonl"
    records = [{"instruction": "问", "input": "", "output": "答"}, {"instruction": "长", "input": "", "output": "话" * 700_000}]
    raw.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    size = len(json.dumps(records[1], ensure_ascii=False).encode("utf-8"))
    line = one_line_error(runner.invoke(cli, ["data", "--task", "telecom", "--input", str(raw), "--skip-invalid"]))
    assert line == (f"Error: {raw}: line 2: -: {size:,} bytes, over the limit of 1,048,576 bytes for one record "
                    "(source.max_record_bytes in the task YAML); split or shorten it")
    # A task can set its own limit.
    config = yaml.safe_load((TASKS_DIR / "telecom.yaml").read_text(encoding="utf-8"))
    config["source"]["max_record_bytes"] = 100
    (tmp_path / "telecom.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    long_answer = tmp_path / "qa.json"
    long_answer.write_text(json.dumps([records[0], {**records[0], "output": "答" * 40}], ensure_ascii=False), encoding="utf-8")
    # {"instruction": "问", "input": "", "output": "答" x 40}: 49 bytes + 40 x 3 bytes of UTF-8
    with pytest.raises(RecordError, match=r"qa.json: record 2: -: 169 bytes, over the limit of 100 bytes"):
        build_task(load_task_file(tmp_path / "telecom.yaml"), [long_answer], dataset_dir=tmp_path / "datasets")
