"""Metrics on a 10-row fixture whose every verdict is worked out by hand.

predictions.jsonl: row i has label E_i and the prompt's last context line E_(i-1) of one session
(E0 start chrome, E1 switch GitHub, E2 visit github.com, E3 usage chrome 60 s, E4 close chrome, E5 start Code,
E6 switch Code, E7 file main.py, E8 visit docs.python.org, E9 and E10 file main.py).
    row 1  the label itself                            exact
    row 2  right line, 5 s late                        partial at 0 s, exact at 5 s
    row 3  right line, 6 s late                        partial at 0 s and 5 s, exact within 60 s
    row 4  the label after a <think> block             exact
    row 5  empty                                       invalid
    row 6  no timestamp                                invalid
    row 7  unknown action text                         invalid
    row 8  broken parenthesis                          invalid
    row 9  file_access of another file                 wrong
    row 10 right file, other directory                 partial
train.json: start chrome -> switch GitHub (twice), switch GitHub -> visit github.com, visit github.com -> usage 60 s.
"""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from evaluators.base import EVALUATORS, EvalInput
from evaluators.behavior import evaluate, fit_baselines
from evaluators.predictions import load_predictions
from pipelines.behavior.events import parse_line
from pipelines.core.errors import DomaintuneError, RecordError
from pipelines.core.tasks import load_task
from pipelines.data.dataset_info import entry_for, register

FIXTURES = Path(__file__).parents[1] / "fixtures" / "behavior"


@pytest.fixture
def dataset_dir(tmp_path) -> Path:
    directory = tmp_path / "datasets"
    directory.mkdir()
    shutil.copy(FIXTURES / "train.json", directory / "behavior_train.json")
    register({"behavior_train": entry_for("behavior_train.json", [])}, directory)
    return directory


def run(tmp_path, dataset_dir, predictions: dict, **options):
    inp = EvalInput(load_task("behavior"), predictions, {}, tmp_path / "eval", options={"evaluator": "behavior", **options}, dataset_dir=dataset_dir)
    return evaluate(inp)


@pytest.fixture
def rows():
    return load_predictions(FIXTURES / "predictions.jsonl")


def test_registered():
    assert EVALUATORS.get("behavior").fn is evaluate


def test_model_metrics_by_hand(tmp_path, dataset_dir, rows):
    m = run(tmp_path, dataset_dir, {"adapter": rows}).metrics["adapter"]
    assert m["counts"] == {"exact": 2, "partial": 3, "wrong": 1, "invalid": 4}
    assert (m["n"], m["exact"], m["partial"], m["invalid"]) == (10, 0.2, 0.3, 0.4)
    assert m["overall"] == pytest.approx((2 + 0.5 * 3) / 10)
    assert m["exact_lenient"] == 0.4  # rows 2 and 3 are within a minute too
    by_event = {event: (e["n"], e["exact"], e["partial"], e["invalid"]) for event, e in m["by_event"].items()}
    assert by_event == {
        "app_start": (1, 0, 0, 1),  # row 5
        "app_close": (1, 1, 0, 0),  # row 4
        "window_switch": (2, 0.5, 0, 0.5),  # rows 1, 6
        "web_visit": (2, 0, 0.5, 0.5),  # rows 2, 8
        "file_access": (3, 0, 1 / 3, 1 / 3),  # rows 7, 9, 10
        "app_usage": (1, 0, 1, 0),  # row 3
    }


def test_time_tolerance_boundary_is_inclusive(tmp_path, dataset_dir, rows):
    m = run(tmp_path, dataset_dir, {"adapter": rows}, time_tolerance_s=5).metrics["adapter"]
    assert m["counts"] == {"exact": 3, "partial": 2, "wrong": 1, "invalid": 4}  # row 2 (5 s) turns exact, row 3 (6 s) stays
    assert m["overall"] == pytest.approx((3 + 0.5 * 2) / 10)


def test_baselines_by_hand(tmp_path, dataset_dir, rows):
    baselines = run(tmp_path, dataset_dir, {"adapter": rows}).metrics["baselines"]
    # most frequent = switch GitHub at E_(i-1)'s time: right action only in row 1, 2 s early.
    assert baselines["most_frequent"]["counts"] == {"exact": 0, "partial": 1, "wrong": 9, "invalid": 0}
    # repeat last: only row 10 (E9 == E10 but a minute earlier) has the right action.
    assert baselines["repeat_last"]["counts"] == {"exact": 0, "partial": 1, "wrong": 9, "invalid": 0}
    # Markov knows three transitions, all on chrome (rows 1-3); Code states fall back to "switch GitHub".
    assert baselines["markov"]["counts"] == {"exact": 0, "partial": 3, "wrong": 7, "invalid": 0}
    assert baselines["markov"]["overall"] == pytest.approx(0.15)
    assert baselines["markov"]["exact_lenient"] == 0.3  # 2 s, 58 s and 60 s early: all within a minute
    assert baselines["most_frequent"]["exact_lenient"] == baselines["repeat_last"]["exact_lenient"] == 0.1


def test_verdicts_report_and_files(tmp_path, dataset_dir, rows):
    empty = [{**row, "predict": ""} for row in rows]
    result = run(tmp_path, dataset_dir, {"adapter": rows, "base": empty})
    assert result.metrics["verdicts"] == {
        "adapter": "✅ beats every baseline (+0.2000 over markov)",
        "base": "❌ does not beat baseline markov (-0.1500)",
    }
    table = result.report_md
    assert "| **adapter** | 10 | 0.2000 | 0.4000 | 0.3000 | 0.4000 | 0.3500 | **✅ beats every baseline (+0.2000 over markov)** |" in table
    assert "| **base** | 10 | 0.0000 | 0.0000 | 0.0000 | 1.0000 | 0.0000 | **❌ does not beat baseline markov (-0.1500)** |" in table
    assert "| baseline: Markov | 10 | 0.0000 | 0.3000 | 0.3000 | 0.0000 | 0.1500 | baseline |" in table
    assert "| reference: seed Qwen3-0.6B, fine-tuned | 572 | 0.1923 | – | 0.3776 | 0.1503 | 0.3811 | seed report, its own data |" in table
    assert "![overall score per model and baseline](behavior_overall.png)" in table

    out = tmp_path / "eval"
    assert (out / "behavior_overall.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "behavior_overall.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv = pd.read_csv(out / "prediction_results.csv", keep_default_na=False)
    assert list(csv.columns) == ["variant", "prompt_tail", "prediction", "reference", "verdict"]
    adapter = csv[csv.variant == "adapter"]
    assert list(adapter.verdict) == ["exact", "partial", "partial", "exact", "invalid", "invalid", "invalid", "invalid", "wrong", "partial"]
    assert adapter.prompt_tail.iloc[0] == "2025-06-02 09:00:00 - 启动应用: chrome.exe"  # "<|im_end|>" removed
    assert adapter.prediction.iloc[3] == rows[3]["label"]  # the think block is gone
    assert list(csv[csv.variant == "base"].verdict) == ["invalid"] * 10
    json.dumps(result.metrics)  # metrics.json must serialise


def test_baseline_ties_go_to_the_alphabetically_first():
    start = "2025-06-02 09:00:00 - 启动应用: a.exe"
    train = [{"input": start, "output": f"2025-06-02 09:00:01 - 切换到窗口: {title} (应用: a.exe)"} for title in ("B", "A")]
    markov = fit_baselines(train)["markov"]
    guess = markov(parse_line("2025-06-03 10:00:00 - 启动应用: a.exe"))
    assert (guess.ts, guess.event, guess.fields) == ("2025-06-03 10:00:00", "window_switch", {"app": "a.exe", "title": "A"})


def test_unparseable_label_and_missing_training_split_are_one_line_errors(tmp_path, dataset_dir, rows):
    broken = [*rows[:2], {**rows[2], "label": "oops"}]
    with pytest.raises(RecordError) as exc:
        run(tmp_path, dataset_dir, {"adapter": broken})
    assert str(exc.value) == "adapter predictions: line 3: label (ts): line does not start with a 'YYYY-MM-DD HH:MM:SS - ' timestamp"
    inp = EvalInput(load_task("behavior"), {"adapter": broken}, {}, tmp_path / "eval", options={"evaluator": "behavior"}, sources={"adapter": Path("p.jsonl")}, dataset_dir=dataset_dir)
    with pytest.raises(RecordError, match=r"^p\.jsonl: line 3: label \(ts\): "):
        evaluate(inp)
    with pytest.raises(DomaintuneError, match="dataset 'behavior_train' is not registered"):
        run(tmp_path, tmp_path / "nowhere", {"adapter": rows})
    with pytest.raises(DomaintuneError, match="no behavior predictions to score"):
        run(tmp_path, dataset_dir, {"adapter": rows, "base": []})
    with pytest.raises(DomaintuneError) as exc:
        run(tmp_path, dataset_dir, {"adapter": rows}, time_tolerance_s="5s")
    assert str(exc.value) == "eval.time_tolerance_s must be a number of seconds >= 0, got '5s'"


def test_thinking_labels_are_read_like_predictions(tmp_path, dataset_dir, rows):
    # A Qwen3 template with thinking on puts an empty <think> block in front of every label as well.
    thinking = [{**row, "label": "<think>\n\n</think>\n\n" + row["label"]} for row in rows]
    plain = run(tmp_path / "plain", dataset_dir, {"adapter": rows}).metrics["adapter"]
    assert run(tmp_path / "think", dataset_dir, {"adapter": thinking}).metrics["adapter"] == plain
