import json

import pytest

from pipelines.core.errors import RecordError
from pipelines.core.registry import CONVERTERS
from pipelines.trajectory.generate import SAMPLE_SET


def write(tmp_path, records):
    path = tmp_path / "days.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


def test_shipped_days_convert_to_alpaca_records():
    conversion = CONVERTERS.get("trajectory").fn([SAMPLE_SET], {}, False)
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
