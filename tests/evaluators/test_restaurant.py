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
    assert (metrics["n"], metrics["with_context"]) == (3, 2)  # record 3 has no context: not scored
    # adapter: 甲 + 丙 (not a POI), then 乙: 3 names, 2 grounded; 乙 outside the radius and not 川菜.
    assert metrics["adapter"] == {"n": 3, "answers": 2, "named": 2, "names": 3, "poi_grounded": 2 / 3, "within_radius": 1 / 2,
                                  "within_budget": 1.0, "cuisine_match": 1 / 2, "hallucinated": 1 / 2}
    assert metrics["base"] == {"n": 3, "answers": 2, "named": 0, "names": 0, "poi_grounded": None, "within_radius": None,
                               "within_budget": None, "cuisine_match": None, "hallucinated": 0.0}
    # nearest three: both POIs (there are only two) for each of the two answers.
    assert metrics["baselines"]["nearest_three"] == {"answers": 2, "named": 2, "names": 4, "poi_grounded": 1.0, "within_radius": 1 / 2,
                                "within_budget": 1.0, "cuisine_match": 1 / 2, "hallucinated": 0.0}
    assert (metrics["reference"]["names"], metrics["reference"]["within_radius"], metrics["reference"]["hallucinated"]) == (2, 1 / 2, 0.0)


def test_per_sample_pairs_feed_the_headline_intervals(inp):
    result = evaluate(inp)
    assert result.headline == ("poi_grounded", "within_radius", "within_budget", "cuisine_match")
    # adapter, record by record: 甲 + 丙 (1 of 2 grounded), 乙 (1 of 1, outside the radius), no context.
    assert result.per_sample["adapter"]["poi_grounded"] == [[1, 2], [1, 1], [0, 0]]
    assert result.per_sample["adapter"]["within_radius"] == [[1, 1], [0, 1], [0, 0]]
    assert set(result.per_sample) == {"adapter", "base"}
    # Each model's n reaches the headline table, which then brackets the adapter's values with intervals.
    from evaluators.reporting.summary import summarize

    rows = {row["name"]: row for row in summarize(result, ["adapter", "base"])["rows"]}
    assert (rows["adapter"]["n"], rows["base"]["n"]) == (3, 3)
    low, high = rows["adapter"]["intervals"]["poi_grounded"]
    assert low <= 2 / 3 <= high
    assert "poi_grounded" not in rows["base"]["intervals"]  # base names no restaurant: no share to bracket


def test_report_chart_and_offenders_file(inp):
    result = evaluate(inp)
    assert "| adapter | 2 | 2 | 3 | 0.667 | 0.500 | 1.000 | 0.500 | 0.500 |" in result.report_md
    assert "| base | 2 | 0 | 0 | - | - | - | - | 0.000 |" in result.report_md
    assert (inp.out_dir / "restaurant_grounding.png").stat().st_size > 0
    offenders = pd.read_csv(inp.out_dir / "grounding_results.csv", keep_default_na=False)
    adapter = offenders[offenders["set"] == "adapter"]
    assert list(adapter["not_in_pois"]) == ["丙(三店)", "", ""]  # 丁 has no context to be checked against


def test_predictions_of_another_build_are_refused(inp):
    inp.predictions["adapter"][1]["label"] = "别的回答"
    with pytest.raises(RecordError, match=r"adapter.jsonl: line 2: label: is not the output of validation record 1"):
        evaluate(inp)


def test_a_missing_sidecar_says_how_to_rebuild(inp):
    (inp.dataset_dir / "restaurant_val.meta.jsonl").unlink()
    with pytest.raises(DomaintuneError, match=r"restaurant_val.meta.jsonl: 0 lines for 3 predictions; run `domaintune data --task restaurant`"):
        evaluate(inp)
