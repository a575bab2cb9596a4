"""The report refuses predictions of a run whose datasets were rebuilt since it trained (issue 8 case 4)."""

import json

import pytest

from evaluators.report import evaluate
from pipelines.core.errors import DomaintuneError
from pipelines.core.tasks import load_task
from pipelines.data.build import build_task

STALE = "0" * 64  # the hash of a build that is no longer there


@pytest.fixture
def run(tmp_path, monkeypatch, fixtures):
    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(tmp_path))
    build_task(load_task("telecom"), [fixtures / "telecom/good.json"])
    run = tmp_path / "runs" / "telecom-cpu-1"
    (run / "predict/adapter").mkdir(parents=True)
    (run / "train.yaml").write_text("model_name_or_path: models/tiny-qwen2\n")
    (run / "datasets.json").write_text(json.dumps({"telecom_val": STALE}))
    rows = [{"prompt": "p", "predict": "a", "label": "a"}]
    (run / "predict/adapter/generated_predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return run


def test_changed_data_is_refused(run):
    with pytest.raises(DomaintuneError, match=r"telecom_val \(run: 000000000000, registered now: [0-9a-f]{12}\)"):
        evaluate(load_task("telecom"), run / "predict/adapter/generated_predictions.jsonl")
    assert not (run / "eval").exists()


def test_allowed_changed_data_is_said_in_the_report(run):
    report = evaluate(load_task("telecom"), run / "predict/adapter/generated_predictions.jsonl", allow_changed_data=True)
    text = report.read_text(encoding="utf-8")
    assert "**Warning: the datasets changed since the run" in text and "Used anyway (--allow-changed-data)" in text


def test_eval_command_refuses_and_allows(run):
    from click.testing import CliRunner

    from pipelines.cli.main import cli

    args = ["eval", "--task", "telecom", "--predictions", str(run / "predict/adapter/generated_predictions.jsonl")]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 1 and "--allow-changed-data" in refused.output and "Traceback" not in refused.output
    allowed = CliRunner().invoke(cli, [*args, "--allow-changed-data"])
    assert allowed.exit_code == 0, allowed.output
    assert "Used anyway (--allow-changed-data)" in (run / "eval/report.md").read_text(encoding="utf-8")
