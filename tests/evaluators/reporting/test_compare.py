"""`compare` on two runs the test makes with different settings marks exactly those settings."""

import json

import pytest
import yaml

from evaluators.report import evaluate
from evaluators.reporting.compare import DIFFERS, compare
from pipelines.core.errors import DomaintuneError
from pipelines.core.tasks import load_task
from pipelines.data.build import build_task
from pipelines.data.fingerprint import dataset_hashes

RECIPE = {"model_name_or_path": "models/tiny-qwen2", "finetuning_type": "lora", "lora_rank": 8, "learning_rate": 1.0e-4, "num_train_epochs": 3, "template": "qwen"}


def make_run(root, name, predict, loss, **settings):
    """A run folder as train, predict and eval leave it: recipe, versions, hashes, loss log, scored predictions."""
    run = root / name
    (run / "adapter").mkdir(parents=True)
    recipe = {**RECIPE, **settings, "output_dir": str(run / "adapter")}
    (run / "train.yaml").write_text("# telecom on cpu: test\n" + yaml.safe_dump(recipe), encoding="utf-8")
    (run / "versions.json").write_text(json.dumps({"python": "3.11.9", "llamafactory": "0.9.5"}))
    (run / "datasets.json").write_text(json.dumps(dataset_hashes(["telecom_train", "telecom_val"])))
    (run / "adapter/trainer_log.jsonl").write_text("".join(json.dumps({"current_steps": i + 1, "loss": v}) + "\n" for i, v in enumerate(loss)))
    predictions = run / "predict/adapter/generated_predictions.jsonl"
    predictions.parent.mkdir(parents=True)
    rows = [{"prompt": "p", "predict": predict, "label": "请重启光猫"}, {"prompt": "p", "predict": predict, "label": "拨打10086"}]
    predictions.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    evaluate(load_task("telecom"), predictions)
    return run


@pytest.fixture
def runs(tmp_path, monkeypatch, fixtures):
    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(tmp_path))
    build_task(load_task("telecom"), [fixtures / "telecom/good.json"])
    return [
        make_run(tmp_path, "telecom-cpu-a", "请重启光猫", [3.0, 2.0]),
        make_run(tmp_path, "telecom-cpu-b", "您好", [3.0, 2.5, 2.2], learning_rate=5.0e-4, lora_rank=16),
    ]


def test_compare_marks_exactly_the_settings_that_differ(runs, tmp_path):
    result = compare(runs, tmp_path / "out")
    # Same data, versions and tier; output_dir names the run itself, so it is never compared.
    assert result.differing == ["learning_rate", "lora_rank"]
    marked = [line.split(" | ")[1] for line in result.markdown.splitlines() if line.startswith(f"| {DIFFERS} |")]
    assert marked == ["learning_rate", "lora_rank"]
    assert "| lora_rank | 8 | 16 |" in result.markdown and "| learning_rate | 0.0001 | 0.0005 |" in result.markdown
    assert "## Settings (2 differ, marked ≠)" in result.markdown


def test_compare_lines_up_metrics_and_writes_one_html_page(runs, tmp_path):
    result = compare(runs, tmp_path / "out")
    # Run a says 请重启光猫 for both samples: ROUGE-L 1 and 0, term recall 1 of 2 terms.
    assert "| telecom-cpu-a | adapter | 2 | 0.5000 [0.0000, 1.0000] |" in result.markdown
    assert "| telecom-cpu-b | adapter | 2 | 0.0000 [0.0000, 0.0000] |" in result.markdown
    page = result.html.read_text(encoding="utf-8")
    assert page.count('<tr class="differs">') == 2
    assert 'src="data:image/png;base64,' in page and "http" not in page.split("<body>")[1]


def test_compare_needs_two_run_folders(runs, tmp_path):
    with pytest.raises(DomaintuneError, match="at least two"):
        compare(runs[:1], tmp_path / "out")
    with pytest.raises(DomaintuneError, match="not a run folder"):
        compare([runs[0], tmp_path], tmp_path / "out")


def test_the_compare_command_prints_its_tables_whole(runs, tmp_path):
    from click.testing import CliRunner

    from pipelines.cli.main import cli

    result = CliRunner().invoke(cli, ["compare", *map(str, runs), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # Off a terminal: a line for the phase, then each table as Markdown, the same rows as compare.md.
    assert lines[0].startswith("comparing 2 runs: 2 settings differ (")
    assert "| telecom-cpu-a | adapter | 2 | 0.5000 [0.0000, 1.0000] |" in result.output
    assert f"| {DIFFERS} | lora_rank | 8 | 16 |" in lines and "Settings (2 differ, marked ≠)" in lines
    assert lines[-1] == f"html: {tmp_path / 'out' / 'compare.html'}"
