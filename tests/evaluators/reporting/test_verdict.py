"""Verdicts on fixtures: no "beats" without valid baselines, no claimed difference inside the intervals."""

import json
import shutil
from pathlib import Path

from evaluators.base import EvalInput, EvalResult
from evaluators.behavior import evaluate
from evaluators.predictions import load_predictions
from evaluators.reporting.intervals import Interval
from evaluators.reporting.summary import markdown, summarize
from evaluators.reporting.verdict import adapter_vs_base, against_baselines
from pipelines.core.tasks import load_task
from pipelines.data.dataset_info import entry_for, register

BEHAVIOR = Path(__file__).parents[2] / "fixtures" / "behavior"


def test_all_baselines_not_applicable_gives_no_beats_verdict():
    line = against_baselines(0.9, {"markov": None, "repeat_last": None}, {"markov": "no context", "repeat_last": "no context"})
    assert "beats" not in line and line.startswith("no verdict") and "markov: no context" in line


def test_beats_every_baseline_only_when_every_baseline_is_valid():
    assert against_baselines(0.5, {"a": 0.2, "b": 0.3}, {}) == "✅ beats every baseline (+0.2000 over b)"
    partial = against_baselines(0.5, {"a": 0.2, "b": None}, {"b": "empty training split"})
    assert "beats" not in partial and "b: empty training split" in partial
    assert against_baselines(0.1, {"a": 0.2}, {}) == "❌ does not beat baseline a (-0.1000)"
    assert against_baselines(0.5, {}, {}) == ""


def test_overlapping_intervals_are_no_significant_difference():
    line = adapter_vs_base("rouge_l", 0.30, 0.25, Interval(0.20, 0.40), Interval(0.15, 0.35))
    assert line.startswith("rouge_l: no significant difference") and "+0.0500" in line
    apart = adapter_vs_base("rouge_l", 0.30, 0.05, Interval(0.20, 0.40), Interval(0.0, 0.10))
    assert apart.startswith("rouge_l: adapter above base by +0.2500")


def test_summary_of_per_sample_scores():
    # adapter right on 9 of 10 samples, base on 1 of 10: the intervals cannot overlap.
    result = EvalResult(
        metrics={"adapter": {"n": 10, "acc": 0.9}, "base": {"n": 10, "acc": 0.1}},
        report_md="",
        headline=("acc",),
        per_sample={"adapter": {"acc": [1.0] * 9 + [0.0]}, "base": {"acc": [1.0] + [0.0] * 9}},
    )
    summary = summarize(result, ["adapter", "base"])
    adapter = summary["rows"][0]
    assert adapter["values"] == {"acc": 0.9} and adapter["intervals"]["acc"][1] == 1.0
    assert summary["differences"][0].startswith("acc: adapter above base by +0.8000")
    assert "verdict" not in markdown(summary)  # no baselines, no verdict column


def test_behavior_prompts_without_context_make_baselines_not_applicable(tmp_path):
    datasets = tmp_path / "datasets"
    datasets.mkdir()
    shutil.copy(BEHAVIOR / "train.json", datasets / "behavior_train.json")
    register({"behavior_train": entry_for("behavior_train.json", [])}, datasets)
    rows = [{**row, "prompt": "<|im_start|>user\n预测下一条<|im_end|>"} for row in load_predictions(BEHAVIOR / "predictions.jsonl")]
    inp = EvalInput(load_task("behavior"), {"adapter": rows}, {}, tmp_path / "eval", options={"evaluator": "behavior"}, dataset_dir=datasets)
    result = evaluate(inp)

    reason = "10 of 10 validation prompts carry no context line to predict from"
    assert result.metrics["baselines"] == {name: {"not_applicable": reason} for name in ("most_frequent", "repeat_last", "markov")}
    assert "beats" not in result.metrics["verdicts"]["adapter"]
    summary = summarize(result, ["adapter"])
    assert "beats" not in summary["rows"][0]["verdict"]
    assert [r.get("not_applicable") for r in summary["rows"][1:]] == [reason] * 3
    assert f"| baseline: Markov | – | not applicable | not applicable | not applicable | not applicable | not applicable | {reason} |" in result.report_md
    json.dumps(summary)


def test_a_metric_the_model_has_no_value_for_gets_no_verdict():
    # The restaurant task's poi_grounded is None when a model names no restaurant: not a 0 to compare.
    assert against_baselines(None, {"nearest_three": 1.0}, {}) == "no verdict: the model has no value for this metric"
    assert adapter_vs_base("poi_grounded", 0.5, None, None, None) == "poi_grounded: not comparable (no value for the base)"


def test_a_baseline_meeting_the_metric_by_construction_is_not_a_yardstick():
    why = {"rule": "meets grounded by construction (it names only known places)"}
    assert against_baselines(0.4, {"rule": 1.0}, {}, why) == "no verdict: rule meets grounded by construction (it names only known places): not compared"
    # Beside a fair baseline: compared with that one only, and never "beats every baseline".
    assert against_baselines(0.4, {"rule": 1.0, "random": 0.1}, {}, why) == (
        "above the 1 applicable baseline(s) (+0.3000 over random); rule meets grounded by construction (it names only known places): not compared")
    assert against_baselines(0.05, {"rule": 1.0, "random": 0.1}, {}, why).startswith("❌ does not beat baseline random (-0.0500); rule meets")
    mixed = against_baselines(0.4, {"rule": 1.0, "markov": None}, {"markov": "no context"}, why)
    assert mixed == "no verdict: rule meets grounded by construction (it names only known places): not compared; no baseline is applicable (markov: no context)"
