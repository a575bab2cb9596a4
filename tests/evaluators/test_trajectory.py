"""The registered trajectory evaluator on small hand-built prediction sets."""

import pytest

from evaluators.base import EVALUATORS, EvalInput
from pipelines.core.errors import RecordError
from pipelines.core.tasks import load_task
from pipelines.trajectory.generate import generate_days
from pipelines.trajectory.grammar import render

REFERENCES = [render(day) for day in generate_days(10, seed=3)]


def run(tmp_path, predicts: list[str], labels: list[str] = REFERENCES):
    task = load_task("trajectory")
    rows = [{"prompt": "p", "predict": predict, "label": label} for predict, label in zip(predicts, labels * len(predicts))]
    inp = EvalInput(task=task, predictions={"adapter": rows}, scenarios={}, out_dir=tmp_path, options=task.eval, sources={"adapter": tmp_path / "p.jsonl"})
    return EVALUATORS.get("trajectory").fn(inp)


def test_references_scored_as_predictions_pass_everything_and_match_themselves(tmp_path):
    result = run(tmp_path, REFERENCES)
    adapter = result.metrics["adapter"]
    assert {k: adapter[k] for k in ("days", "parsed", "format_ok", "coord_in_region", "temporal_ok", "speed_ok", "persona_ok", "place_known", "all_ok")} == {
        "days": 10, "parsed": 10, "format_ok": 1.0, "coord_in_region": 1.0, "temporal_ok": 1.0, "speed_ok": 1.0, "persona_ok": 1.0, "place_known": 1.0, "all_ok": 1.0,
    }
    assert all(adapter[f"jsd_{name}"] == 0 for name in ("trip_distance", "activity_duration", "radius_of_gyration", "distinct_places", "activity_by_hour"))
    assert adapter["duplicate_share"] == 0
    assert result.metrics["reference"]["all_ok"] == 1.0
    assert "Every day passes every check." in result.report_md
    assert (tmp_path / "trajectory_map.png").stat().st_size > 10_000
    assert (tmp_path / "trajectory_distributions_adapter.png").exists()


def test_bad_days_are_counted_and_listed_with_reasons(tmp_path):
    broken = REFERENCES[1].replace("(121.", "(122.", 1)  # one point 95 km east: outside, and unknown there, and too fast
    predicts = [REFERENCES[0], REFERENCES[0], "胡言乱语", broken]
    result = run(tmp_path, predicts, REFERENCES[:4])
    adapter = result.metrics["adapter"]
    assert (adapter["days"], adapter["parsed"], adapter["format_ok"], adapter["all_ok"]) == (4, 3, 0.75, 0.5)
    lines = sum(len(text.split("\n# 主观评价")[0].split("# 活动轨迹\n")[1].splitlines()) for text in (REFERENCES[0], REFERENCES[0], broken))
    assert adapter["coord_in_region"] == pytest.approx(1 - 1 / lines)
    assert adapter["duplicate_share"] == pytest.approx(1 / 3)  # of the three parsed days, one repeats another
    assert result.metrics["reference"]["days"] == 4
    # One entry per day behind each headline share; the pooled ones as [points passing, points].
    assert result.headline[0] == "all_ok"
    scores = result.per_sample["adapter"]
    assert scores["all_ok"] == [1.0, 1.0, 0.0, 0.0]
    assert scores["format_ok"] == [1.0, 1.0, 0.0, 1.0]
    per_day = len(REFERENCES[0].split("\n# 主观评价")[0].split("# 活动轨迹\n")[1].splitlines())
    assert scores["coord_in_region"][:3] == [[per_day, per_day], [per_day, per_day], [0, 0]]
    found = sum(pair[0] for pair in scores["coord_in_region"])
    assert found / sum(pair[1] for pair in scores["coord_in_region"]) == pytest.approx(adapter["coord_in_region"])
    assert found == lines - 1
    # With n, the headline table gets a bootstrap interval around each value.
    from evaluators.reporting.summary import summarize

    row = summarize(result, ["adapter"])["rows"][0]
    assert row["n"] == 4
    assert set(row["intervals"]) == set(result.headline)
    low, high = row["intervals"]["all_ok"]
    assert 0 <= low < 0.5 < high <= 1
    worst = result.report_md.split("## Worst offenders: adapter")[1]
    assert "| 3 | - | format_ok, coord_in_region, temporal_ok, speed_ok, persona_ok, place_known |" in worst
    assert "| 4 |" in worst and "is outside 陆家嘴" in worst


def test_a_reference_that_does_not_parse_names_its_line(tmp_path):
    with pytest.raises(RecordError, match=r"p\.jsonl: line 2: label: the reference day does not parse: line 1: text before the first section"):
        run(tmp_path, REFERENCES[:2], [REFERENCES[0], "坏标签"])
