"""The registered trajectory evaluator on small hand-built prediction sets."""

import csv
import json

import pytest
from shapely.geometry import shape

from evaluators.base import EVALUATORS, EvalInput
from evaluators.trajectory_population import FEATURES
from pipelines.core.errors import RecordError
from pipelines.core.tasks import load_task
from pipelines.trajectory.generate import generate_days
from pipelines.trajectory.grammar import render

DAYS = generate_days(10, seed=3)
REFERENCES = [render(day) for day in DAYS]
CHECKS_AND_ALL = ("format_ok", "coord_in_region", "temporal_ok", "speed_ok", "persona_ok", "place_known", "all_ok")


def run(tmp_path, predicts: list[str], labels: list[str] = REFERENCES, training: list[str] | None = None):
    """The evaluator on rows (predict, label); `training`: days of a registered training split beside them."""
    task = load_task("trajectory")
    rows = [{"prompt": "p", "predict": predict, "label": label} for predict, label in zip(predicts, labels * len(predicts))]
    datasets = tmp_path / "datasets"
    datasets.mkdir(exist_ok=True)
    if training is not None:
        (datasets / "trajectory_train.json").write_text(json.dumps([{"instruction": "i", "input": "", "output": t} for t in training], ensure_ascii=False), encoding="utf-8")
        (datasets / "dataset_info.json").write_text(json.dumps({"trajectory_train": {"file_name": "trajectory_train.json"}}), encoding="utf-8")
    inp = EvalInput(task=task, predictions={"adapter": rows}, scenarios={}, out_dir=tmp_path, options=task.eval, sources={"adapter": tmp_path / "p.jsonl"}, dataset_dir=datasets)
    return EVALUATORS.get("trajectory").fn(inp)


def test_references_scored_as_predictions_pass_everything_and_match_themselves(tmp_path):
    result = run(tmp_path, REFERENCES)
    adapter = result.metrics["adapter"]
    assert {k: adapter[k] for k in ("days", "parsed", "format_ok", "coord_in_region", "temporal_ok", "speed_ok", "persona_ok", "place_known", "all_ok")} == {
        "days": 10, "parsed": 10, "format_ok": 1.0, "coord_in_region": 1.0, "temporal_ok": 1.0, "speed_ok": 1.0, "persona_ok": 1.0, "place_known": 1.0, "all_ok": 1.0,
    }
    assert all(adapter[f"jsd_{name}"] == 0 for name in FEATURES)
    assert adapter["duplicate_share"] == 0
    assert result.metrics["reference"]["all_ok"] == 1.0
    assert result.metrics["clock_step_min"] == 5  # the generator's grid, read from the references
    # No training split registered: no noise floor, no memorisation share, and the report says why.
    assert result.metrics["noise_floor"] is None and adapter["memorisation_share"] is None
    assert "No training split is registered" in result.report_md
    assert result.warnings == [] and "## Sanity row\n\nThe validation references, scored as predictions, pass every check" in result.report_md
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


def test_a_reference_failing_its_own_checks_is_a_warning_and_leads_the_report(tmp_path):
    alien = REFERENCES[1].replace("[陆家嘴活动人群画像]: 游客", "[陆家嘴活动人群画像]: 外星人")
    result = run(tmp_path, REFERENCES[:2], [REFERENCES[0], alien])
    reference = result.metrics["reference"]
    assert (reference["persona_ok"], reference["all_ok"], reference["speed_ok"]) == (0.5, 0.5, 1.0)
    assert result.warnings == [(
        "sanity row: the validation references score persona_ok 0.500, all_ok 0.500 (every check should be 1.0 on them): "
        "a data or evaluator problem, not the model's; report.md lists the failing reference days"
    )]
    assert result.report_md.startswith("## Sanity row: the references fail")
    assert "| 2 | 外星人 | persona_ok | persona '外星人' is not in the rule table" in result.report_md.split("## Per-day checks")[0]


def test_per_persona_breakdown_of_every_check(tmp_path):
    # DAYS take the personas in turn: 商务人群, 游客, 居民, 通勤者, 学生, twice. Day 2 (游客) gets an age out of range.
    broken = REFERENCES[1].replace(f"[年龄]: {DAYS[1].age}岁", "[年龄]: 99岁")
    assert broken != REFERENCES[1]
    result = run(tmp_path, [REFERENCES[0], broken, *REFERENCES[2:5]])
    by_persona = result.metrics["adapter"]["by_persona"]
    assert list(by_persona) == ["商务人群", "游客", "居民", "通勤者", "学生"]
    assert {name: by_persona["商务人群"][name] for name in CHECKS_AND_ALL} == dict.fromkeys(CHECKS_AND_ALL, 1.0)
    assert (by_persona["游客"]["days"], by_persona["游客"]["persona_ok"], by_persona["游客"]["speed_ok"], by_persona["游客"]["all_ok"]) == (1, 0.0, 1.0, 0.0)
    assert result.metrics["adapter"]["all_ok"] == pytest.approx(4 / 5)
    assert set(result.metrics["reference"]["by_persona"]) == {"商务人群", "游客", "居民", "通勤者", "学生"}
    assert "### By persona" in result.report_md


def test_synonyms_and_extra_fields_are_read_before_every_metric(tmp_path):
    day = REFERENCES[0]
    reworded = day.replace(" 用餐 @ ", " 午餐 @ ").replace("\t[职业]:", "\t[居住地]: 浦东新区\n\t[职业]:")
    assert reworded != day
    result = run(tmp_path, [reworded], [day])
    adapter = result.metrics["adapter"]
    assert adapter["all_ok"] == 1.0 and adapter["jsd_activity_by_hour"] == 0
    assert adapter["extra_fields"] == {"居住地": 1}
    assert "[居住地] in 1 days" in result.report_md


def test_noise_floor_and_memorisation_against_the_training_split(tmp_path):
    training = REFERENCES[5:]
    # Two generated days copy training days, one is a reference day: memorisation 2/3.
    result = run(tmp_path, [REFERENCES[5], REFERENCES[6], REFERENCES[0]], REFERENCES[:5], training=training)
    assert result.metrics["adapter"]["memorisation_share"] == pytest.approx(2 / 3)
    floor = result.metrics["noise_floor"]
    assert set(floor) == {f"jsd_{name}" for name in FEATURES}
    assert all(0 <= value <= 1 for value in floor.values())
    table = result.report_md.split("## Population realism")[1]
    assert "The noise floor scores the 5 training days against the references" in table
    assert f"| jsd_step_interval | {result.metrics['adapter']['jsd_step_interval']:.3f} | {floor['jsd_step_interval']:.3f} |" in table


def test_geojson_and_stops_csv_hold_every_parsed_day(tmp_path):
    result = run(tmp_path, [REFERENCES[0], "胡言乱语", REFERENCES[2]], REFERENCES[:3])
    collection = json.loads((tmp_path / "trajectory_days_adapter.geojson").read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert [f["properties"]["row"] for f in features] == [1, 3]  # the line that does not parse has no geometry
    line = shape(features[0]["geometry"])
    assert line.geom_type == "LineString"
    assert list(line.coords) == [(a.lon, a.lat) for a in DAYS[0].activities]
    props = features[0]["properties"]
    assert props["persona"] == DAYS[0].persona and props["all_ok"] is True and props["speed_ok"] is True
    assert props["activities"] == [a.activity for a in DAYS[0].activities]
    assert props["match_rules"] == ["name"] * len(DAYS[0].activities)
    reference = json.loads((tmp_path / "trajectory_days_reference.geojson").read_text(encoding="utf-8"))
    assert len(reference["features"]) == 3
    with open(tmp_path / "trajectory_stops.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    adapter_rows = [r for r in rows if r["variant"] == "adapter"]
    assert len(adapter_rows) == len(DAYS[0].activities) + len(DAYS[2].activities)
    first = adapter_rows[0]
    a = DAYS[0].activities[0]
    assert (first["row"], first["stop"], first["activity"], first["place"], float(first["lon"]), first["matched_place"], first["match_rule"], first["match_m"]) == (
        "1", "1", a.activity, a.place, a.lon, a.place, "name", "0")
    assert "`trajectory_stops.csv`" in result.report_md
    assert result.metrics["adapter"]["place_rules"] == {"name": len(adapter_rows), "alias": 0, "normalised": 0, "nearest": 0, "none": 0}


def test_eval_prints_the_sanity_warning_on_the_terminal_and_atop_report_md(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from pipelines.cli.main import cli

    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(tmp_path / "workspace"))
    alien = REFERENCES[1].replace("[陆家嘴活动人群画像]: 游客", "[陆家嘴活动人群画像]: 外星人")
    predictions = tmp_path / "generated_predictions.jsonl"
    rows = [{"prompt": "p", "predict": REFERENCES[0], "label": label} for label in (REFERENCES[0], alien)]
    predictions.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    result = CliRunner().invoke(cli, ["eval", "--task", "trajectory", "--predictions", str(predictions), "-o", str(tmp_path / "eval")])
    assert result.exit_code == 0, result.output
    assert "Warning: sanity row: the validation references score persona_ok 0.500" in " ".join(result.output.split())
    report = (tmp_path / "eval/report.md").read_text(encoding="utf-8")
    assert report.index("**Warning: sanity row:") < report.index("## Headline")
    assert "sanity row" in (tmp_path / "eval/report.html").read_text(encoding="utf-8").split("<h2>Headline</h2>")[0]
    assert json.loads((tmp_path / "eval/summary.json").read_text(encoding="utf-8"))["warnings"][0].startswith("sanity row:")
