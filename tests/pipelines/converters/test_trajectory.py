import json

import pytest

from pipelines.core.errors import RecordError
from pipelines.core.registry import CONVERTERS
from pipelines.trajectory.generate import SAMPLE_SET

TASK_OPTIONS = {"polygon": "data/trajectory/lujiazui.geojson", "synonyms": "data/trajectory/synonyms.yaml"}


def write(tmp_path, records):
    path = tmp_path / "days.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


def test_shipped_days_convert_to_alpaca_records():
    conversion = CONVERTERS.get("trajectory").fn([SAMPLE_SET], TASK_OPTIONS, False)
    assert len(conversion.examples) == 300
    record = conversion.examples[0].record
    assert set(record) == {"instruction", "input", "output"} and record["output"].startswith("# 此人个体基本信息")


def test_a_bad_day_names_file_record_and_the_offending_line(tmp_path):
    good = json.loads(SAMPLE_SET.read_text(encoding="utf-8"))[:2]
    bad = dict(good[1], output=good[1]["output"].replace(" @ ", " at ", 1))
    path = write(tmp_path, [good[0], bad])
    with pytest.raises(RecordError) as err:
        CONVERTERS.get("trajectory").fn([path], {}, False)
    offending = bad["output"].splitlines()[6].strip()
    assert str(err.value) == f"{path}: record 2: output: line 7: expected an activity line '[HH:MM-HH:MM] 活动 @ 地点 (经度, 纬度)': {offending!r}"


def test_skip_invalid_counts_the_bad_days(tmp_path):
    good = json.loads(SAMPLE_SET.read_text(encoding="utf-8"))[:3]
    path = write(tmp_path, [good[0], dict(good[1], output="随便写写"), good[2]])
    conversion = CONVERTERS.get("trajectory").fn([path], {}, True)
    assert len(conversion.examples) == 2
    assert list(conversion.skipped) == ["output: line 1: text before the first section '# 此人个体基本信息': '随便写写'"]


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("(121.5074, 31.2346)", "(31.2346, 121.5074)",
         "[09:00-11:55] 工作 @ 上海环球金融中心: (31.2346, 121.5074) has latitude and longitude swapped; write (经度, 纬度) = (121.5074, 31.2346)"),
        ("(121.5074, 31.2346)", "(121.4902, 31.2337)",
         "[09:00-11:55] 工作 @ 上海环球金融中心: (121.4902, 31.2337) is outside 陆家嘴; fix the coordinates, or give source.options.polygon a district that covers them"),
        ("[09:00-11:55]", "[11:55-09:00]", "[11:55-09:00] 工作 @ 上海环球金融中心: start is not before end; write the end after the start"),
        ("[12:10-13:10]", "[11:50-13:10]",
         "[11:50-13:10] 用餐 @ 外婆家(正大广场店): starts before the previous activity ends (11:55); order the activities by time without overlap"),
    ],
)
def test_wrong_days_are_refused_at_data_naming_record_line_and_what_to_do(tmp_path, old, new, problem):
    good = json.loads(SAMPLE_SET.read_text(encoding="utf-8"))[:3]
    assert old in good[0]["output"]
    bad = dict(good[0], output=good[0]["output"].replace(old, new, 1))
    path = write(tmp_path, [good[1], good[2], bad])
    line = next(n for n, text in enumerate(bad["output"].splitlines(), start=1) if new in text)
    with pytest.raises(RecordError) as err:
        CONVERTERS.get("trajectory").fn([path], TASK_OPTIONS, False)
    assert str(err.value) == f"{path}: record 3: output: line {line}: {problem}"


def test_without_a_polygon_only_impossible_latitudes_count_as_swapped(tmp_path):
    good = json.loads(SAMPLE_SET.read_text(encoding="utf-8"))[:1]
    swapped = dict(good[0], output=good[0]["output"].replace("(121.5074, 31.2346)", "(31.2346, 121.5074)", 1))
    with pytest.raises(RecordError, match=r"record 1: output: line 8: .*latitude and longitude swapped"):
        CONVERTERS.get("trajectory").fn([write(tmp_path, [swapped])], {}, False)


def test_days_after_midnight_extra_fields_and_label_synonyms_are_accepted(tmp_path):
    good = json.loads(SAMPLE_SET.read_text(encoding="utf-8"))[0]
    output = good["output"].replace("[18:35-18:50]", "[23:45-00:15]").replace("[陆家嘴活动人群画像]", "[人群画像]").replace("\t[职业]", "\t[居住地]: 浦东新区\n\t[职业]")
    conversion = CONVERTERS.get("trajectory").fn([write(tmp_path, [dict(good, output=output)])], TASK_OPTIONS, False)
    assert [e.record["output"] for e in conversion.examples] == [output]  # trained on as written


def test_data_command_refuses_swapped_coordinates_in_one_line(tmp_path):
    from click.testing import CliRunner

    from pipelines.cli.main import cli

    good = json.loads(SAMPLE_SET.read_text(encoding="utf-8"))[:4]
    good[3] = dict(good[3], output=good[3]["output"].replace("(121.", "(XX.", 1).replace(", 31.", ", 121.", 1).replace("(XX.", "(31.", 1))
    path = write(tmp_path, good)
    result = CliRunner().invoke(cli, ["data", "--task", "trajectory", "--input", str(path)])
    assert result.exit_code == 1
    [message] = result.output.strip().splitlines()
    assert message.startswith(f"Error: {path}: record 4: output: line 7: ") and "has latitude and longitude swapped; write (经度, 纬度) = (121." in message
