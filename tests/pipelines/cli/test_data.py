"""`domaintune data` (what `make data` runs): every task is built; failures are reported per task, naming the
task's YAML file, and make the exit code non-zero (issue 8 case 8)."""

import json
import shutil

import pytest
import yaml
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.core import tasks
from pipelines.core.paths import TASKS_DIR


@pytest.fixture
def task_dir(tmp_path, monkeypatch):
    """Tasks: a good telecom, one whose converter does not exist, and one whose raw file is malformed."""
    out = tmp_path / "tasks"
    out.mkdir()
    shutil.copy(TASKS_DIR / "telecom.yaml", out / "telecom.yaml")
    config = yaml.safe_load((TASKS_DIR / "telecom.yaml").read_text(encoding="utf-8"))
    (out / "aaa_unknown.yaml").write_text(yaml.safe_dump({**config, "name": "aaa_unknown", "source": {**config["source"], "converter": "nope"}}, allow_unicode=True), encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_text("[{", encoding="utf-8")
    (out / "bad_input.yaml").write_text(yaml.safe_dump({**config, "name": "bad_input", "source": {"converter": "alpaca", "paths": [str(bad)]}}, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(tasks, "TASKS_DIR", out)
    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(tmp_path / "workspace"))
    return out


def test_every_task_is_built_and_each_failure_is_named(task_dir, tmp_path):
    result = CliRunner().invoke(cli, ["data"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith(f"aaa_unknown: FAILED ({task_dir / 'aaa_unknown.yaml'}): ") and "unknown converter 'nope'" in result.output
    assert any(line.startswith(f"bad_input: FAILED ({task_dir / 'bad_input.yaml'}): {tmp_path / 'bad.json'}: line 1 column 3") for line in lines)
    assert lines[-1] == "Error: 2 of 3 task(s) failed: aaa_unknown, bad_input (each reported above)"
    # The good task after the broken one was still built.
    info = json.loads((tmp_path / "workspace/dataset_info/dataset_info.json").read_text(encoding="utf-8"))
    assert {"telecom_train", "telecom_val"} <= set(info)


def test_jsonl_with_raw_line_separators_inside_strings_is_built(tmp_path, monkeypatch, fixtures, new_file_mode):
    # Issue 20: U+2028, U+2029 and U+0085 are legal raw inside a JSON string; `data` used to split the line there
    # and stop with "Unterminated string".
    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(tmp_path / "workspace"))
    records = json.loads((fixtures / "telecom/good.json").read_text(encoding="utf-8"))
    records[0]["output"] = "请检查尾纤\u2028后重启\u2029光猫\u0085。"
    raw = tmp_path / "qa.jsonl"
    raw.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    result = CliRunner().invoke(cli, ["data", "--task", "telecom", "--input", str(raw)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("telecom: 5 records read, 0 exact duplicates removed")  # record 0 no longer repeats record 2
    datasets = tmp_path / "workspace/dataset_info"
    built = [r["output"] for name in ("telecom_train", "telecom_val") for r in json.loads((datasets / f"{name}.json").read_text(encoding="utf-8"))]
    assert records[0]["output"] in built
    # Files the project writes get one mode, 0666 less the umask (stats files used to be mkstemp's 0600).
    assert {oct(p.stat().st_mode & 0o777) for p in datasets.iterdir() if p.is_file()} == {oct(new_file_mode)}

