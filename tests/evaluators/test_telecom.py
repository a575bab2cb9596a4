"""Telecom metrics against hand-computed values, and the report written from a run folder."""

import json

import pytest
from click.testing import CliRunner

from evaluators.report import evaluate
from evaluators.telecom import bleu_4, rouge_l, score
from pipelines.cli.main import cli
from pipelines.core.tasks import load_task
from pipelines.core.text import first_line, strip_think
from pipelines.data.dataset_info import entry_for, register

GLOSSARY = ["光猫", "LOS", "10086"]


def test_rouge_l_is_lcs_f1_on_tokens():
    # tokens a b c d vs a c d e: LCS a c d = 3, P = R = 3/4, F1 = 0.75
    assert rouge_l("a b c d", "a c d e") == pytest.approx(0.75, abs=1e-6)
    assert rouge_l("", "a b") == 0.0


def test_bleu_4_with_nist_smoothing():
    # p1 = 3/4, p2 = 1/3 (cd), p3 = 0/2 -> 1/(2*2), p4 = 0/1 -> 1/(4*1); BP = 1 (equal lengths)
    # BLEU = (3/4 * 1/3 * 1/4 * 1/4) ** (1/4) = 0.015625 ** 0.25
    assert bleu_4("a b c d", "a c d e") == pytest.approx(0.015625**0.25, rel=1e-9)
    assert bleu_4("a b c d", "a b c d") == pytest.approx(1.0)


def test_think_blocks_are_removed_before_scoring():
    assert strip_think("<think>\n推理\n</think>\n\na b c d") == "a b c d"
    assert strip_think("<think>never closed") == ""
    assert first_line("<think>\n\n</think>\n\n\n  first \nsecond") == "first"
    scored = score([{"predict": "<think>x y</think>a b c d", "label": "<think>\n\n</think>\n\na c d e"}], [])
    assert scored["rouge_l"] == pytest.approx(0.75, abs=1e-6)


def test_term_recall_is_micro_averaged():
    rows = [
        {"predict": "请重启光猫", "label": "光猫重启后仍不行请拨打10086"},  # 1 of 2 terms
        {"predict": "请稍等", "label": "LOS灯亮红"},  # 0 of 1
        {"predict": "好的", "label": "没有术语"},  # no terms: does not count
    ]
    metrics = score(rows, GLOSSARY)
    assert (metrics["terms_expected"], metrics["terms_found"]) == (3, 1)
    assert metrics["term_recall"] == pytest.approx(1 / 3)
    assert metrics["n"] == 3


def write_predictions(path, rows, segments):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    (path.parent / "segments.json").write_text(json.dumps(segments), encoding="utf-8")


def test_report_from_a_run_folder(tmp_path):
    task = load_task("telecom")
    run = tmp_path / "run"
    (run / "adapter").mkdir(parents=True)
    (run / "train.yaml").write_text("model_name_or_path: models/tiny-qwen2\ntemplate: qwen\n")
    (run / "adapter" / "trainer_log.jsonl").write_text(
        '{"current_steps": 1, "loss": 3.0}\n{"current_steps": 2, "loss": 2.0}\n{"current_steps": 2, "eval_loss": 2.5}\n'
    )
    scenarios = json.loads(task.scenarios_path.read_text(encoding="utf-8"))
    segments = [{"split": "val", "dataset": "telecom_val", "n": 2}, {"split": "scenarios", "dataset": "telecom_scenarios", "n": len(scenarios)}]
    val = [{"prompt": "p", "predict": "a b c d", "label": "a c d e"}, {"prompt": "p", "predict": "请重启光猫", "label": "光猫或10086"}]
    scen = [{"prompt": "p", "predict": f"答{i}", "label": s["output"]} for i, s in enumerate(scenarios)]
    write_predictions(run / "predict/adapter/generated_predictions.jsonl", val + scen, segments)
    base_val = [{"prompt": "p", "predict": "", "label": r["label"]} for r in val]
    write_predictions(run / "predict/base/generated_predictions.jsonl", base_val + scen, segments)

    report = evaluate(task, run / "predict/adapter/generated_predictions.jsonl")

    assert report == run / "eval/report.md"
    metrics = json.loads((run / "eval/metrics.json").read_text())
    assert set(metrics) == {"adapter", "base"}
    assert metrics["adapter"]["n"] == 2
    assert metrics["adapter"]["rouge_l"] == pytest.approx((0.75 + rouge_l("请重启光猫", "光猫或10086")) / 2, abs=1e-6)
    assert metrics["adapter"]["term_recall"] == pytest.approx(1 / 2)
    assert metrics["base"] == {"n": 2, "rouge_l": 0.0, "bleu_4": 0.0, "term_recall": 0.0, "terms_expected": 2, "terms_found": 0}
    text = report.read_text()
    assert "Trained model: `models/tiny-qwen2`" in text
    assert "| adapter | 2 | 0." in text and "| base | 2 | 0.0000 | 0.0000 | 0.0000 |" in text
    assert scenarios[0]["instruction"][:20] in text and "答0" in text
    for png in ("loss.png", "metrics.png"):
        assert (run / "eval" / png).read_bytes()[:4] == b"\x89PNG"
        assert f"]({png})" in text


@pytest.fixture
def fifteen_val_records(tmp_path, monkeypatch):
    """A workspace of the test's own whose registered telecom_val has 15 records."""
    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(tmp_path / "workspace"))
    datasets = tmp_path / "workspace/dataset_info"
    datasets.mkdir(parents=True)
    records = [{"instruction": f"问{i}", "input": "", "output": f"答{i}"} for i in range(15)]
    (datasets / "telecom_val.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    register({"telecom_val": entry_for("telecom_val.json", records)}, datasets)
    return records


def test_predict_with_max_samples_then_eval(tmp_path, fifteen_val_records):
    # Issue 20: `predict --set max_samples=3` predicts 3 rows of each dataset; `eval` then stopped with an
    # IndexError in the scenario table (it walked all 12 scenario prompts). The tables follow the rows there are,
    # and the headline says the metrics are of 3 of the 15 validation records.
    task = load_task("telecom")
    scenarios = json.loads(task.scenarios_path.read_text(encoding="utf-8"))
    val = [{"prompt": r["instruction"], "predict": r["output"], "label": r["output"]} for r in fifteen_val_records[:3]]
    scen = [{"prompt": s["instruction"], "predict": f"答{i}", "label": s["output"]} for i, s in enumerate(scenarios[:3])]
    segments = [{"split": "val", "dataset": "telecom_val", "n": 3, "passes": 1}, {"split": "scenarios", "dataset": "telecom_scenarios", "n": 3, "passes": 1}]
    path = tmp_path / "predict/adapter/generated_predictions.jsonl"
    write_predictions(path, val + scen, segments)
    notes = []
    report = evaluate(task, path, notify=notes.append)
    partial = f"{path}: 3 of the 15 validation rows predicted; the metrics cover only those 3"
    assert notes == [partial]
    text = report.read_text(encoding="utf-8")
    assert f"## Headline\n\n**Partial predictions:** {partial}" in text
    assert json.loads((report.parent / "summary.json").read_text(encoding="utf-8"))["partial"] == [partial]
    assert "答2" in text and scenarios[3]["instruction"][:20] not in text
    assert f"_Predicted for the first 3 of the {len(scenarios)} scenario prompts._" in text
    assert json.loads((report.parent / "metrics.json").read_text())["adapter"]["rouge_l"] == pytest.approx(1.0)


def test_a_loose_predictions_file_with_fewer_rows_is_flagged(tmp_path, fifteen_val_records, new_file_mode):
    # Issue 20: 5 rows for a 15-record validation set used to be scored without a word.
    path = tmp_path / "mine.jsonl"
    path.write_text("".join(json.dumps({"prompt": r["instruction"], "predict": r["output"], "label": r["output"]}, ensure_ascii=False) + "\n"
                            for r in fifteen_val_records[:5]), encoding="utf-8")
    result = CliRunner().invoke(cli, ["eval", "--task", "telecom", "--predictions", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Warning: {path}: 5 of the 15 validation rows predicted; the metrics cover only those 5\n")
    summary = json.loads((tmp_path / "eval/summary.json").read_text(encoding="utf-8"))
    assert summary["rows"][0]["n"] == 5 and len(summary["partial"]) == 1
    # Reports, metrics and summaries get the mode of every other file the project writes (they were mkstemp's 0600).
    assert {name: (tmp_path / "eval" / name).stat().st_mode & 0o777 for name in ("metrics.json", "summary.json", "report.md", "report.html")} == dict.fromkeys(
        ("metrics.json", "summary.json", "report.md", "report.html"), new_file_mode)

