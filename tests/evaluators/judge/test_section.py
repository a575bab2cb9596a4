import json

import pytest

from evaluators.base import EvalInput
from evaluators.judge.client import JudgeConfig
from evaluators.judge.section import every_call_failed, judge_section
from pipelines.core.errors import DomaintuneError
from pipelines.core.tasks import Task
from pipelines.data.dataset_info import entry_for, register

SECRET = "sk-section-secret"
CASES = ["score3", "score5", "score9", "malformed"]


@pytest.fixture
def inp(tmp_path):
    dataset_dir = tmp_path / "dataset_info"
    dataset_dir.mkdir()
    records = [{"instruction": f"case:{c}", "input": f"问题{i}", "output": f"回答{i}"} for i, c in enumerate(CASES)]
    (dataset_dir / "t_val.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    train = [{"instruction": "case:score7", "input": f"训练{i}", "output": f"训练回答{i}"} for i in range(3)]
    (dataset_dir / "t_train.json").write_text(json.dumps(train, ensure_ascii=False), encoding="utf-8")
    register({"t_val": entry_for("t_val.json", records), "t_train": entry_for("t_train.json", train)}, dataset_dir)
    rows = [{"prompt": "p", "predict": f"<think>\n\n</think>\n\n模型{i}", "label": f"<think>\n\n</think>\n\n回答{i}"} for i in range(4)]
    task = Task("t", {"description": "d", "eval": {"evaluator": "x"}}, tmp_path / "t.yaml")
    return EvalInput(task=task, predictions={"adapter": rows, "base": rows[:2]}, scenarios={}, out_dir=tmp_path / "eval",
                     options={"evaluator": "x", "judge": {}}, sources={}, dataset_dir=dataset_dir)


@pytest.fixture
def config(fake_judge, monkeypatch):
    monkeypatch.setenv("SECTION_KEY", SECRET)
    return JudgeConfig(base_url=fake_judge.base_url, model="judge-m", api_key_env="SECTION_KEY", max_retries=0)


def test_records_and_each_variant_are_judged_and_paired(inp, config, fake_judge):
    inp.out_dir.mkdir()
    metrics, report = judge_section(inp, config)
    sets = metrics["sets"]
    assert list(sets) == ["data_quality (records)", "model_performance (adapter)", "model_performance (base)"]
    assert [(s["items"], s["scored"], s["parse_failures"]) for s in sets.values()] == [(4, 3, 1), (4, 3, 1), (2, 2, 0)]
    assert sets["data_quality (records)"]["overall"] == {"mean": 17 / 3, "min": 3, "max": 9}
    # Both rubrics score the same three records 3, 5, 9: identical item means correlate perfectly.
    assert metrics["pearson"]["pairs"] == 3 and metrics["pearson"]["r"] == pytest.approx(1.0)
    assert "1.000 over 3 items" in report and "parse failures 1" in report
    for png in ("judge_dimensions.png", "judge_distribution.png", "judge_correlation.png"):
        assert (inp.out_dir / png).stat().st_size > 0 and f"]({png})" in report
    # The base model's two answers are the adapter's word for word: same prompt, so the cache answers them.
    assert fake_judge.hits == {"score3": 2, "score5": 2, "score9": 2, "malformed": 2}
    assert (sets["model_performance (base)"]["calls"], sets["model_performance (base)"]["cached"]) == (0, 2)
    prompts = [r["messages"][1]["content"] for r in fake_judge.requests]
    assert any("【模型回答】模型0" in p and "【参考答案】回答0" in p for p in prompts)  # thinking removed
    assert SECRET not in report and SECRET not in json.dumps(metrics)


def test_a_rerun_asks_only_for_what_was_not_scored(inp, config, fake_judge):
    inp.out_dir.mkdir()
    first, _ = judge_section(inp, config)
    hits = sum(fake_judge.hits.values())
    second, _ = judge_section(inp, config)
    # The two unreadable answers (the record and the adapter's answer to it) are asked again; the rest is cached.
    assert sum(fake_judge.hits.values()) - hits == 2 and fake_judge.hits["malformed"] == 4
    assert [(s["calls"], s["cached"]) for s in second["sets"].values()] == [(1, 3), (1, 3), (0, 2)]
    assert second["pearson"] == first["pearson"]
    assert SECRET.encode() not in (inp.out_dir / "judge_cache.sqlite").read_bytes()


def test_the_task_settings_reach_the_calls_and_the_report(inp, config, fake_judge):
    inp.out_dir.mkdir()
    inp.options["judge"] = {"temperature": 0.2, "max_tokens": 300, "response_format": False, "concurrency": 1, "max_items": 1}
    metrics, report = judge_section(inp, config)
    assert {(b["temperature"], b["max_tokens"], "response_format" in b) for b in fake_judge.requests} == {(0.2, 300, False)}
    assert fake_judge.in_flight.most == 1
    assert {k: metrics["settings"][k] for k in ("temperature", "max_tokens", "response_format", "concurrency", "records", "max_items")} == \
        {"temperature": 0.2, "max_tokens": 300, "response_format": False, "concurrency": 1, "records": "val", "max_items": 1}
    assert "Records judged: val (the first 1 of each). Temperature 0.2, max_tokens 300, response_format json_object off, 1 calls at a time" in report


@pytest.mark.parametrize("records, max_items, judged", [
    ("train", 2, ["train#0", "train#1"]),
    ("all", "all", ["train#0", "train#1", "train#2", "val#0", "val#1", "val#2", "val#3"]),
])
def test_the_records_rubric_reads_the_splits_asked_for(inp, config, fake_judge, records, max_items, judged):
    inp.out_dir.mkdir()
    inp.options["judge"] = {"records": records, "max_items": max_items}
    metrics, _ = judge_section(inp, config)
    records_set = metrics["sets"]["data_quality (records)"]
    assert records_set["items"] == len(judged) and fake_judge.hits["score7"] == sum(i.startswith("train") for i in judged)
    assert metrics["sets"]["model_performance (adapter)"]["items"] == (4 if max_items == "all" else 2)
    # Pearson pairs records and answers by validation record: none when only training records are judged.
    assert metrics["pearson"]["pairs"] == (3 if records == "all" else 0)


def test_an_endpoint_answering_html_leaves_a_section_with_every_call_failed(inp, config, fake_judge):
    inp.out_dir.mkdir()
    # Records without a case: marker, as a real task's are: the server answers each with its default, an HTML page.
    records = [{"instruction": "推荐餐厅", "input": f"问题{i}", "output": f"回答{i}"} for i in range(4)]
    (inp.dataset_dir / "t_val.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    inp.predictions = {"adapter": inp.predictions["adapter"]}
    fake_judge.default = "html"
    metrics, report = judge_section(inp, config)
    assert [(s["items"], s["scored"], s["call_failures"]) for s in metrics["sets"].values()] == [(4, 0, 4), (4, 0, 4)]
    assert "call: HTTP 200 with an HTML page, not a chat completion ×4" in report
    assert every_call_failed(metrics) == "HTTP 200 with an HTML page, not a chat completion"
    assert not (inp.out_dir / "judge_dimensions.png").exists()


def test_one_answer_is_enough_not_to_have_failed_every_call():
    summary = {"items": 2, "call_failures": 2, "failure_reasons": {"call: HTTP 500 after 4 retries": 2}}
    assert every_call_failed({"sets": {"a": summary, "b": summary}}) == "HTTP 500 after 4 retries"
    assert every_call_failed({"sets": {"a": summary, "b": {**summary, "call_failures": 1}}}) is None
    assert every_call_failed({"sets": {"a": {"items": 0, "call_failures": 0, "failure_reasons": {}}}}) is None
    # The calls a refused key stopped count for the refusal, which is what the user must fix.
    stopped = {"items": 3, "call_failures": 3, "failure_reasons": {"call: HTTP 401: refused": 1, "call: not sent: HTTP 401: refused": 2}}
    assert every_call_failed({"sets": {"a": stopped, "b": {**stopped, "failure_reasons": {"call: not sent: HTTP 401: refused": 3}}}}) == "HTTP 401: refused"


def test_max_items_limits_the_cost(inp, config, fake_judge):
    inp.out_dir.mkdir()
    inp.options["judge"] = {"max_items": 2}
    metrics, _ = judge_section(inp, config)
    assert [s["items"] for s in metrics["sets"].values()] == [2, 2, 2]
    assert metrics["pearson"] == {"between": ["data_quality", "model_performance (adapter)"], "r": None, "pairs": 2}


def test_predictions_from_another_dataset_build_are_refused(inp, config):
    inp.predictions["adapter"][1] = {**inp.predictions["adapter"][1], "label": "别的回答"}
    inp.sources["adapter"] = "run/predict/adapter/generated_predictions.jsonl"
    with pytest.raises(DomaintuneError, match=r"generated_predictions.jsonl: line 2: label: is not the output of validation record 2"):
        judge_section(inp, config)
