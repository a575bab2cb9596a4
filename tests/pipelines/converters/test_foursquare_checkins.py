"""Foursquare TSMC2014-layout check-ins -> trajectory days, on a small fixture written for these tests:
tests/fixtures/trajectory/checkins_tsmc.txt (users u1, u2 in Lujiazui on 2012-04-03, UTC+8)."""

from dataclasses import replace

import pytest

from evaluators.trajectory import load_world
from evaluators.trajectory_checks import check_day
from pipelines.core.errors import DomaintuneError, RecordError
from pipelines.core.registry import CONVERTERS
from pipelines.core.tasks import load_task
from pipelines.data.formats import input_formats
from pipelines.trajectory.checkins import load_categories
from pipelines.trajectory.places import load_places

OPTIONS = {
    "polygon": "data/trajectory/lujiazui.geojson",
    "places": "data/trajectory/places.yaml",
    "rules": "data/trajectory/persona_rules.yaml",
    "categories": "data/trajectory/foursquare_categories.yaml",
    "personas": "tests/fixtures/trajectory/checkin_users.csv",
    "defaults": {"age": 30, "gender": "未知", "occupation": "未知"},
}
COMMENT = "\t（由签到数据整理，无主观评价。）"

# u1, not in the personas file: 商务人群 by the rules (office 09:00-11:50 and 13:10-17:10 is 410 min >= 300).
#   08:05 Subway at 陆家嘴站: + 15 min stay = 08:20, and leaving by 08:30 - 10 min walk (577 m) = 08:20 -> 08:05-08:20
#   08:32, 10:10 Office by 上海中心大厦 (14 m): one stay from 08:30, to 12:00 - 10 min walk (507 m)   -> 08:30-11:50
#   12:03 Chinese Restaurant by 鼎泰丰(国金中心店): + 60 min = 13:00                                -> 12:00-13:00
#   13:12 Office: + 240 min = 17:10, before 18:40 - 10 min                                          -> 13:10-17:10
#   18:41 Subway: + 15 min                                                                          -> 18:40-18:55
U1 = """# 此人个体基本信息
\t[陆家嘴活动人群画像]: 商务人群
\t[年龄]: 30岁
\t[性别]: 未知
\t[职业]: 未知
# 活动轨迹
\t[08:05-08:20] 通勤 @ 陆家嘴站 (121.5027, 31.2381)
\t[08:30-11:50] 工作 @ 上海中心大厦 (121.5055, 31.2335)
\t[12:00-13:00] 用餐 @ 鼎泰丰(国金中心店) (121.5017, 31.2367)
\t[13:10-17:10] 工作 @ 上海中心大厦 (121.5055, 31.2335)
\t[18:40-18:55] 通勤 @ 陆家嘴站 (121.5027, 31.2381)
# 主观评价
""" + COMMENT

# u2, 游客 from the personas file. The 12:20 restaurant has no table restaurant within 300 m: a new place named
# by its category and venue id. The 23:50 hotel stay (20 min) ends after midnight.
U2 = """# 此人个体基本信息
\t[陆家嘴活动人群画像]: 游客
\t[年龄]: 35岁
\t[性别]: 女
\t[职业]: 教师
# 活动轨迹
\t[09:00-09:20] 出行 @ 浦东香格里拉大酒店 (121.4982, 31.2386)
\t[09:30-10:30] 游览 @ 东方明珠 (121.4998, 31.2397)
\t[12:20-13:20] 用餐 @ 餐厅(a1b2c3) (121.5150, 31.2300)
\t[23:50-00:10] 出行 @ 浦东香格里拉大酒店 (121.4982, 31.2386)
# 主观评价
""" + COMMENT


def convert(paths, options=OPTIONS, skip_invalid=False):
    return CONVERTERS.get("foursquare_checkins").fn(paths, options, skip_invalid)


@pytest.fixture
def checkins(fixtures):
    return fixtures / "trajectory" / "checkins_tsmc.txt"


def write(tmp_path, lines: list[str], name: str = "checkins.txt"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_check_ins_become_days_per_user_and_local_day(checkins):
    conversion = convert([checkins])
    assert [e.record["output"] for e in conversion.examples] == [U1, U2]
    assert [(e.group, e.order) for e in conversion.examples] == [("u1", "2012-04-03"), ("u2", "2012-04-03")]
    assert conversion.examples[0].record["instruction"].startswith("请基于真实世界信息")
    # Left out and counted: the Bar (no category), the New York check-in, u1's one-stay 2012-04-04.
    assert dict(conversion.skipped) == {
        "check-in category 'Bar' is not in the category table (not in any day)": 1,
        "check-in outside 陆家嘴 (not in any day)": 1,
        "user-day with fewer than 2 stays in the district (left out)": 1,
    }


def test_converted_days_pass_the_evaluators_checks_and_a_new_place_is_not_in_the_table(checkins):
    world = replace(load_world(load_task("trajectory").eval), clock_step_min=5)
    u1, u2 = (check_day(0, example.record["output"], world) for example in convert([checkins]).examples)
    assert u1.failed == []
    # The new restaurant passes place_known only once it is added to the place table (eval.places).
    assert u2.problems["place_known"] == ["[12:20-13:20] 用餐 @ 餐厅(a1b2c3): '餐厅(a1b2c3)' is not in the place table and no table place is within 300 m"]
    assert u2.failed == ["place_known"]


def test_a_user_no_persona_fits_is_refused_with_each_personas_reason(tmp_path):
    path = write(tmp_path, [
        "u9\tv1\tc\tMall\t31.2373\t121.4987\t480\tTue Apr 03 02:00:00 +0000 2012",
        "u9\tv2\tc\tCoffee Shop\t31.2362\t121.5022\t480\tTue Apr 03 04:00:00 +0000 2012",
    ])
    with pytest.raises(RecordError) as err:
        convert([path])
    message = str(err.value)
    assert message.startswith(f"{path}: line 1: userId: 2012-04-03: user u9: no persona's rules hold (商务人群: works office hours")
    assert message.endswith("give the user a persona in the personas file")
    assert len(convert([path], skip_invalid=True).examples) == 0


def test_fields_neither_the_file_nor_the_defaults_give_are_refused(checkins):
    options = {key: value for key, value in OPTIONS.items() if key != "defaults"}
    with pytest.raises(RecordError, match=r"checkins_tsmc.txt: line 2: userId: 2012-04-03: user u1 has no age, gender, occupation: give it in the personas file or in source.options.defaults"):
        convert([checkins], options)


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("u1\tv\tc\tOffice\t121.5056\t31.2336\t480\tTue Apr 03 00:32:40 +0000 2012", "latitude",
         "(121.5056, 31.2336) are swapped: (31.2336, 121.5056) is in 陆家嘴; put latitude in column 5 and longitude in column 6"),
        ("u1\tv\tc\tOffice\t31.2336\t121.5056\t480\t2012-04-03 00:32:40", "utcTimestamp", "'2012-04-03 00:32:40' is not like 'Tue Apr 03 18:00:09 +0000 2012'"),
        ("u1\tv\tc\tOffice\t31.2336\t121.5056\t+8h\tTue Apr 03 00:32:40 +0000 2012", "timezoneOffset", "'+8h' is not an integer"),
        ("u1\tv\tc\tOffice\t31.2336\t121.5056\t480", "-", "expected 8 columns (userId, venueId, venueCategoryId, venueCategory, latitude, longitude, timezoneOffset, utcTimestamp), got 7"),
    ],
)
def test_a_bad_row_names_file_line_and_column(tmp_path, row, field, reason):
    good = "u1\tv0\tc\tSubway\t31.2381\t121.5027\t480\tTue Apr 03 00:05:09 +0000 2012"
    path = write(tmp_path, [good, row])
    with pytest.raises(RecordError) as err:
        convert([path])
    assert str(err.value) == f"{path}: line 2: {field}: {reason}"
    skipped = convert([path], skip_invalid=True)
    assert skipped.invalid == 1 and skipped.skipped_records() == f"{path}: line 2"


def test_comma_separated_copies_with_a_header_read_the_same(checkins, tmp_path):
    lines = checkins.read_text(encoding="utf-8").splitlines()
    path = write(tmp_path, [line.replace("\t", ",") for line in lines], "checkins.csv")
    assert [e.record["output"] for e in convert([path]).examples] == [U1, U2]


def test_a_category_naming_no_type_of_the_place_table_is_refused(tmp_path):
    path = tmp_path / "categories.yaml"
    path.write_text("categories:\n  Office: {activity: 工作, place_type: skyscraper, name: 办公楼, stay_min: 60}\n", encoding="utf-8")
    with pytest.raises(DomaintuneError, match=r"categories\.Office\.place_type: 'skyscraper' is no type of the place table"):
        load_categories(path, load_places())


def test_formats_lists_the_converter():
    [fmt] = [f for f in input_formats() if f.name == "foursquare_checkins"]
    assert fmt.summary.startswith("Foursquare check-ins in the TSMC2014 layout")
    assert {"polygon", "places", "rules", "categories", "personas", "defaults"} <= set(fmt.options)


def test_a_check_in_within_one_clock_step_of_the_stay_before_it_is_left_out_and_counted(tmp_path):
    path = write(tmp_path, [
        "u1\tv1\tc\tSubway\t31.2381\t121.5027\t480\tTue Apr 03 00:05:00 +0000 2012",  # 08:05
        "u1\tv2\tc\tCoffee Shop\t31.2362\t121.5022\t480\tTue Apr 03 00:07:00 +0000 2012",  # 08:07: same 5-minute step
        "u1\tv3\tc\tOffice\t31.2336\t121.5056\t480\tTue Apr 03 00:30:00 +0000 2012",  # 08:30
    ])
    conversion = convert([path], {**OPTIONS, "personas": "tests/fixtures/trajectory/checkin_users.csv"}, skip_invalid=True)
    assert conversion.skipped["check-in within one clock step of the stay before it, at another place (left out)"] == 1
    assert conversion.invalid == 1  # u1 keeps no persona's rules on 08:05-08:20 and 08:30-12:30: refused, skipped
