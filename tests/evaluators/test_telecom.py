"""Telecom metrics against hand-computed values, and the report written from a run folder."""

import json

import pytest

from evaluators.report import evaluate
from evaluators.telecom import bleu_4, rouge_l, score
from pipelines.core.tasks import load_task
from pipelines.core.text import first_line, strip_think

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
