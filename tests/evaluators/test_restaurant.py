"""The restaurant evaluator on three hand-made validation records: sidecar contexts joined by position."""

import json

import pandas as pd
import pytest

from evaluators.base import EvalInput
from evaluators.restaurant import evaluate
from pipelines.core.errors import DomaintuneError, RecordError
from pipelines.core.tasks import load_task
from pipelines.data.dataset_info import entry_for, register
from pipelines.data.sidecar import write_meta

# 甲 is near, affordable and 川菜; 乙 is affordable but 1500 m away (radius 1000) and 粤菜.
CONTEXT = {"radius_m": 1000, "budget": [50, 150], "preferences": ["川菜"], "pois": [
    {"name": "甲(一店)", "cuisine": "川菜", "distance_m": 300, "avg_price": 80},
    {"name": "乙(二店)", "cuisine": "粤菜", "distance_m": 1500, "avg_price": 120}]}
RECORDS = [
    {"instruction": "推荐餐厅", "input": "我在A", "output": "为您推荐以下1家餐厅：1. 甲(一店) - 人均80元"},
    {"instruction": "推荐餐厅", "input": "我在B", "output": "为您推荐以下1家餐厅：1. 乙(二店) - 人均120元"},
    {"instruction": "推荐餐厅", "input": "我在C", "output": "为您推荐以下1家餐厅：1. 丁(四店)"},
]
ADAPTER = ["1. 甲(一店) - 川菜；2. 丙(三店) - 湘菜", "<think>\n\n</think>\n\n1. 乙（二店）", "1. 丁(四店)"]


def rows(predicts):
    return [{"prompt": r["input"], "predict": p, "label": r["output"]} for r, p in zip(RECORDS, predicts)]


@pytest.fixture
def inp(tmp_path):
    dataset_dir = tmp_path / "dataset_info"
    dataset_dir.mkdir()
    (dataset_dir / "restaurant_val.json").write_text(json.dumps(RECORDS, ensure_ascii=False), encoding="utf-8")
    register({"restaurant_val": entry_for("restaurant_val.json", RECORDS)}, dataset_dir)
    write_meta(dataset_dir, "restaurant_val", [{"id": "a", "context": CONTEXT}, {"id": "b", "context": CONTEXT}, {"id": "c"}])
    out = tmp_path / "eval"
    out.mkdir()
    task = load_task("restaurant")
    return EvalInput(task=task, predictions={"adapter": rows(ADAPTER), "base": rows(["胡言乱语"] * 3)}, scenarios={}, out_dir=out,
                     options=task.eval, sources={"adapter": "adapter.jsonl", "base": "base.jsonl"}, dataset_dir=dataset_dir)


def test_grounding_of_each_variant_and_baseline_by_hand(inp):
    metrics = evaluate(inp).metrics
    assert (metrics["n"], metrics["with_context"], metrics["with_pois"]) == (3, 2, 2)  # record 3 has no context: not scored
    # adapter: 甲 + 丙 (not a POI), then 乙: 3 names, 2 grounded; 乙 outside the radius and not 川菜. Prompt by prompt
    # (over all prompts): grounded 1/2 and 1/1, within the radius 1/1 and 0/1, budget 1/1 and 1/1, cuisine 1/1 and 0/1.
    assert metrics["adapter"] == {"n": 3, "answers": 2, "named": 2, "names": 3, "poi_grounded": 2 / 3, "within_radius": 1 / 2,
                                  "within_budget": 1.0, "cuisine_match": 1 / 2, "hallucinated": 1 / 2, "answered": 1.0,
                                  "poi_grounded_all": 3 / 4, "within_radius_all": 1 / 2, "within_budget_all": 1.0, "cuisine_match_all": 1 / 2}
    # base names no restaurant: nothing to measure over answered prompts, 0 over all of them.
    assert metrics["base"] == {"n": 3, "answers": 2, "named": 0, "names": 0, "poi_grounded": None, "within_radius": None,
                               "within_budget": None, "cuisine_match": None, "hallucinated": 0.0, "answered": 0.0,
                               "poi_grounded_all": 0.0, "within_radius_all": 0.0, "within_budget_all": 0.0, "cuisine_match_all": 0.0}
    # nearest three: both POIs (there are only two) for each of the two answers.
    nearest = metrics["baselines"]["nearest_three"]
    assert {k: v for k, v in nearest.items() if k != "by_construction"} == {
        "answers": 2, "named": 2, "names": 4, "poi_grounded": 1.0, "within_radius": 1 / 2, "within_budget": 1.0, "cuisine_match": 1 / 2,
        "hallucinated": 0.0, "answered": 1.0, "poi_grounded_all": 1.0, "within_radius_all": 1 / 2, "within_budget_all": 1.0, "cuisine_match_all": 1 / 2}
    assert set(nearest["by_construction"]) == {"answered", "poi_grounded", "poi_grounded_all"}
    assert (metrics["reference"]["names"], metrics["reference"]["within_radius"], metrics["reference"]["hallucinated"]) == (2, 1 / 2, 0.0)


def test_per_sample_scores_feed_the_headline_intervals(inp):
    result = evaluate(inp)
    assert result.headline == ("poi_grounded_all", "answered", "within_radius_all", "within_budget_all", "cuisine_match_all")
    # adapter, record by record: 甲 + 丙 (1 of 2 grounded), 乙 (1 of 1, outside the radius), no context (not counted).
    assert result.per_sample["adapter"]["poi_grounded_all"] == [[0.5, 1], [1.0, 1], [0, 0]]
    assert result.per_sample["adapter"]["within_radius_all"] == [[1.0, 1], [0.0, 1], [0, 0]]
    assert result.per_sample["base"]["answered"] == [[0.0, 1], [0.0, 1], [0, 0]]
    assert set(result.per_sample) == {"adapter", "base"}
    # Each model's n reaches the headline table, which then brackets the values with intervals.
    from evaluators.reporting.summary import summarize

    summary = summarize(result, ["adapter", "base"])
    rows = {row["name"]: row for row in summary["rows"]}
    assert (rows["adapter"]["n"], rows["base"]["n"]) == (3, 3)
    low, high = rows["adapter"]["intervals"]["poi_grounded_all"]
    assert low <= 3 / 4 <= high
    assert rows["base"]["intervals"]["poi_grounded_all"] == [0.0, 0.0]
    # The baseline's 1.0 is its construction, not a yardstick: no verdict on poi_grounded_all against it.
    assert rows["adapter"]["verdict"].startswith("no verdict: nearest_three meets poi_grounded_all by construction")
    assert rows["nearest_three"]["by_construction"].keys() == {"poi_grounded_all", "answered"}


def test_report_chart_and_offenders_file(inp):
    result = evaluate(inp)
    assert "| adapter | 2 | 2 | 3 | 1.000 | 0.667 | 0.750 | 0.500 | 0.500 | 1.000 | 1.000 | 0.500 | 0.500 | 0.500 |" in result.report_md
    assert "| base | 2 | 0 | 0 | 0.000 | - | 0.000 | - | 0.000 | - | 0.000 | - | 0.000 | 0.000 |" in result.report_md
    assert (inp.out_dir / "restaurant_grounding.png").stat().st_size > 0
    offenders = pd.read_csv(inp.out_dir / "grounding_results.csv", keep_default_na=False)
    adapter = offenders[offenders["set"] == "adapter"]
    assert list(adapter["not_in_pois"]) == ["丙(三店)", "", ""]  # 丁 has no context to be checked against


def test_predictions_of_another_build_are_refused(inp):
    inp.predictions["adapter"][1]["label"] = "别的回答"
    with pytest.raises(RecordError, match=r"adapter.jsonl: line 2: label: is not the output of validation record 2"):
        evaluate(inp)


def test_a_missing_sidecar_says_how_to_rebuild(inp):
    (inp.dataset_dir / "restaurant_val.meta.jsonl").unlink()
    with pytest.raises(DomaintuneError, match=r"restaurant_val.meta.jsonl: 0 lines for 3 predictions; run `domaintune data --task restaurant`"):
        evaluate(inp)


def test_refusals_count_against_every_headline_metric(restaurant_workspace, tmp_path, monkeypatch):
    """The issue's case on the shipped validation set: 10 of the agent's own answers and 40 refusals."""
    import json as json_

    from evaluators.report import evaluate as write_report

    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(restaurant_workspace))
    val = json_.loads((restaurant_workspace / "dataset_info/restaurant_val.json").read_text(encoding="utf-8"))
    assert len(val) == 50
    refusal = "抱歉，我无法推荐。"
    rows = [{"prompt": f"<|im_start|>user\n{r['input']}<|im_end|>", "predict": r["output"] if i < 10 else refusal, "label": r["output"]}
            for i, r in enumerate(val)]
    predictions = tmp_path / "generated_predictions.jsonl"
    predictions.write_text("".join(json_.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    write_report(load_task("restaurant"), predictions)

    metrics = json_.loads((tmp_path / "eval/metrics.json").read_text(encoding="utf-8"))["adapter"]
    # Over the answers that name places the ten are perfect; over all 50 prompts each refusal scores 0.
    assert (metrics["answered"], metrics["poi_grounded"], metrics["hallucinated"]) == (0.2, 1.0, 0.0)
    assert metrics["poi_grounded_all"] == pytest.approx(0.2)
    summary = json_.loads((tmp_path / "eval/summary.json").read_text(encoding="utf-8"))
    adapter, nearest = summary["rows"]
    assert summary["metrics"] == ["poi_grounded_all", "answered", "within_radius_all", "within_budget_all", "cuisine_match_all"]
    assert all(value < 0.5 for value in adapter["values"].values()), adapter["values"]  # no perfect headline
    # The rule names three POIs for every prompt: grounded and answering by construction, so no verdict against it.
    assert nearest["values"]["poi_grounded_all"] == 1.0 and nearest["by_construction"]["answered"]
    assert adapter["verdict"] == ("no verdict: nearest_three meets poi_grounded_all by construction "
                                  "(it names three of the agent's own POIs for every prompt): not compared")
    html = (tmp_path / "eval/report.html").read_text(encoding="utf-8")
    worst = html[html.index("<h3>Worst</h3>"):html.index("<h3>Best</h3>")]
    assert worst.count(refusal) == 3  # the refusals are the worst samples
    report = (tmp_path / "eval/report.md").read_text(encoding="utf-8")
    assert "| adapter | 50 | 10 | " in report and "1.0000 (by construction)" in report
