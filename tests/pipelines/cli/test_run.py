"""`domaintune eval`: the headline table in the terminal, and eval options overridden for one eval."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from evaluators.reporting.summary import cell
from pipelines.cli.main import cli
from pipelines.core.paths import REPO_ROOT
from pipelines.data.dataset_info import entry_for, register


@pytest.fixture
def predictions(tmp_path, monkeypatch, fixtures):
    """The behavior fixture (10 rows scored by hand in tests/evaluators/test_behavior.py) in a temporary workspace."""
    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(tmp_path))
    datasets = tmp_path / "dataset_info"
    datasets.mkdir()
    shutil.copy(fixtures / "behavior/train.json", datasets / "behavior_train.json")
    register({"behavior_train": entry_for("behavior_train.json", [])}, datasets)
    path = tmp_path / "preds/generated_predictions.jsonl"
    path.parent.mkdir()
    shutil.copy(fixtures / "behavior/predictions.jsonl", path)
    return path


def metrics_of(predictions):
    return json.loads((predictions.parent / "eval/metrics.json").read_text(encoding="utf-8"))


def test_eval_prints_the_headline_table_and_the_html_path(predictions):
    result = CliRunner().invoke(cli, ["eval", "--task", "behavior", "--predictions", str(predictions)])
    assert result.exit_code == 0, result.output
    # 2 exact + 3 partial of 10: overall 0.35; Markov, the best baseline, 0.15.
    assert "0.3500" in result.output and "beats every baseline (+0.2000 over markov)" in result.output
    assert "baseline: markov" in result.output
    assert result.output.strip().splitlines()[-1] == f"report: {predictions.parent / 'eval/report.md'}"
    assert f"html: {predictions.parent / 'eval/report.html'}" in result.output
    assert metrics_of(predictions)["time_tolerance_s"] == 0


@pytest.mark.parametrize("option", [["--time-tolerance", "5"], ["--set", "eval.time_tolerance_s=5"]])
def test_eval_options_overridden_for_one_eval(predictions, option):
    result = CliRunner().invoke(cli, ["eval", "--task", "behavior", "--predictions", str(predictions), *option])
    assert result.exit_code == 0, result.output
    metrics = metrics_of(predictions)
    # Row 2 is 5 s late: exact within 5 s (the boundary is inclusive), so 3 exact and 2 partial.
    assert metrics["time_tolerance_s"] == 5
    assert metrics["adapter"]["counts"]["exact"] == 3
    assert "Eval options overridden for this eval: {'time_tolerance_s': 5" in (predictions.parent / "eval/report.md").read_text(encoding="utf-8")


def test_bad_eval_overrides_are_one_line_errors(predictions):
    unknown = CliRunner().invoke(cli, ["eval", "--task", "behavior", "--predictions", str(predictions), "--set", "eval.tolerance=5"])
    assert unknown.exit_code == 1
    assert unknown.output.startswith("Error: eval options of task behavior with the overrides: ") and "'tolerance' was unexpected" in unknown.output
    assert "Traceback" not in unknown.output
    unprefixed = CliRunner().invoke(cli, ["eval", "--task", "behavior", "--predictions", str(predictions), "--set", "time_tolerance_s=5"])
    assert unprefixed.exit_code == 2 and "eval overrides are written eval.KEY=VALUE" in unprefixed.output


def test_predictions_with_raw_line_separators_inside_strings_are_scored(predictions):
    # Issue 20: LLaMA-Factory writes predictions with ensure_ascii=False, so a window title's raw U+2028 reaches
    # the file as is; `eval` used to split the line there ("Unterminated string"). Row 0 stays an exact match.
    rows = [json.loads(line) for line in predictions.read_text(encoding="utf-8").split("\n") if line]
    for field in ("predict", "label"):
        assert "GitHub" in rows[0][field]
        rows[0][field] = rows[0][field].replace("GitHub", "Git\u2028Hub\u2029x\u0085y")
    predictions.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    result = CliRunner().invoke(cli, ["eval", "--task", "behavior", "--predictions", str(predictions)])
    assert result.exit_code == 0, result.output
    metrics = metrics_of(predictions)["adapter"]
    assert metrics["counts"]["exact"] == 2 and "0.3500" in result.output  # as scored by hand without the separators


def test_an_eval_piped_to_a_file_shows_every_interval_whole(predictions, tmp_path):
    # Issue 24: piped, the headline table used to be cut ("0.1234 [0.10…", the n column shrunk to nothing).
    out = tmp_path / "eval.txt"
    with open(out, "w", encoding="utf-8") as file:
        subprocess.run([str(Path(sys.executable).with_name("domaintune")), "eval", "--task", "behavior", "--predictions", str(predictions)],
                       cwd=REPO_ROOT, stdout=file, stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "40"}, check=True)
    text = out.read_text(encoding="utf-8")
    summary = json.loads((predictions.parent / "eval/summary.json").read_text(encoding="utf-8"))
    rows = [row for row in summary["rows"] if row["intervals"]]
    assert rows and "…" not in text
    for row in summary["rows"]:
        # The Markdown row of report.md: the label, n, then each metric's value with its interval, whole.
        n = row["n"] if row["n"] is not None else "–"
        assert f"| {row['name'] if row['kind'] == 'model' else 'baseline: ' + row['name']} | {n} | " + " | ".join(cell(row, m) for m in summary["metrics"]) + " |" in text
    assert text.strip().splitlines()[-1] == f"report: {predictions.parent / 'eval/report.md'}"
