"""Each per-day check against hand-made days that break exactly that check."""

import pytest

from evaluators.trajectory_checks import CHECKS, World, check_day
from pipelines.core.schema import load_yaml_validated
from pipelines.trajectory.geo import load_region
from pipelines.trajectory.places import (
    REGION_FILE,
    RULES_FILE,
    Place,
    PlaceTable,
    load_places,
)

BUND = "外滩观景平台"  # a real place across the river: in this test's table, outside the district


@pytest.fixture(scope="module")
def world() -> World:
    table = load_places()
    places = PlaceTable([*table.places, Place(BUND, "park", 121.4902, 31.2337)], {"陆家嘴地铁站": "陆家嘴站"})
    return World(places, load_region(REGION_FILE), load_yaml_validated(RULES_FILE, "trajectory_rules")["personas"])


def text(lines: list[str], persona: str = "商务人群", age: str = "30岁") -> str:
    header = ["# 此人个体基本信息", f"\t[陆家嘴活动人群画像]: {persona}", f"\t[年龄]: {age}", "\t[性别]: 男", "\t[职业]: 基金经理", "# 活动轨迹"]
    return "\n".join([*header, *(f"\t{line}" for line in lines), "# 主观评价", "\t忙碌的一天。"])


# 陆家嘴站 -> 上海中心大厦 is 577 m (3.5 km/h over the 10-minute gap); 星巴克(上海中心店) is 55 m from the tower.
WORKDAY = [
    "[08:10-08:40] 通勤 @ 陆家嘴地铁站 (121.5027, 31.2381)",
    "[08:50-12:00] 工作 @ 上海中心大厦 (121.5055, 31.2335)",
    "[12:00-12:50] 用餐 @ 星巴克(上海中心店) (121.5051, 31.2331)",
    "[12:50-18:30] 工作 @ 上海中心大厦 (121.5055, 31.2335)",
    "[18:40-19:00] 通勤 @ 陆家嘴站 (121.5027, 31.2381)",
]


def edit(lines: list[str], index: int, line: str) -> list[str]:
    return [*lines[:index], line, *lines[index + 1 :]]


def failed(world: World, day_text: str) -> dict[str, list[str]]:
    result = check_day(0, day_text, world)
    return {name: result.problems[name] for name in result.failed}


def test_the_hand_made_workday_passes_every_check(world):
    assert failed(world, text(WORKDAY)) == {}


def test_format_ok_fails_and_a_day_that_does_not_parse_fails_everything(world):
    broken = text(WORKDAY).replace("\t[职业]: 基金经理\n", "")
    problems = failed(world, broken)
    assert list(problems) == list(CHECKS)
    assert problems["format_ok"] == ["line 1: section lacks [职业]: '# 此人个体基本信息'"]


def test_coord_in_region_fails_for_a_point_across_the_river(world):
    # 上海中心大厦 -> 外滩 is 1.5 km; 20-minute gaps keep it at walking speed.
    lines = [*WORKDAY[:2], f"[12:20-12:40] 用餐 @ {BUND} (121.4902, 31.2337)", "[13:00-18:30] 工作 @ 上海中心大厦 (121.5055, 31.2335)", WORKDAY[4]]
    assert failed(world, text(lines)) == {"coord_in_region": [f"[12:20-12:40] 用餐 @ {BUND} (121.4902, 31.2337) is outside 陆家嘴"]}


@pytest.mark.parametrize(
    ("index", "line", "problem"),
    [
        (4, "[18:40-24:30] 通勤 @ 陆家嘴站 (121.5027, 31.2381)", "[18:40-24:30] 通勤 @ 陆家嘴站: goes past 24:00"),
        (4, "[19:00-18:40] 通勤 @ 陆家嘴站 (121.5027, 31.2381)", "[19:00-18:40] 通勤 @ 陆家嘴站: start is not before end"),
        (2, "[11:50-12:50] 用餐 @ 星巴克(上海中心店) (121.5051, 31.2331)", "[11:50-12:50] 用餐 @ 星巴克(上海中心店): starts before the previous activity ends (12:00)"),
    ],
)
def test_temporal_ok(world, index, line, problem):
    assert failed(world, text(edit(WORKDAY, index, line))) == {"temporal_ok": [problem]}


def test_speed_ok_fails_for_half_a_kilometre_in_no_time(world):
    lines = edit(WORKDAY, 2, "[12:00-12:50] 用餐 @ 鼎泰丰(国金中心店) (121.5017, 31.2367)")
    problems = failed(world, text(lines))
    assert list(problems) == ["speed_ok"]
    assert problems["speed_ok"][0] == "上海中心大厦 → 鼎泰丰(国金中心店): 0.51 km in 0 min (inf km/h > 60)"
    assert len(problems["speed_ok"]) == 2  # and back


def test_speed_limit_is_configurable(world):
    # 577 m in 10 minutes is 3.5 km/h
    slow = World(world.places, world.region, world.rules, speed_limit_kmh=3)
    assert failed(slow, text(WORKDAY)) == {"speed_ok": ["陆家嘴地铁站 → 上海中心大厦: 0.58 km in 10 min (3.5 km/h > 3)", "上海中心大厦 → 陆家嘴站: 0.58 km in 10 min (3.5 km/h > 3)"]}


@pytest.mark.parametrize(
    ("index", "line", "problem"),
    [
        (2, "[12:00-12:50] 用餐 @ 无名小馆 (121.5051, 31.2331)", "[12:00-12:50] 用餐 @ 无名小馆: '无名小馆' is not in the place table"),
        # 0.0036 degrees of latitude north of the station: 400 m
        (0, "[08:10-08:40] 通勤 @ 陆家嘴站 (121.5027, 31.2417)", "[08:10-08:40] 通勤 @ 陆家嘴站: (121.5027, 31.2417) is 400 m from the table's (121.5027, 31.2381)"),
    ],
)
def test_place_known(world, index, line, problem):
    assert failed(world, text(edit(WORKDAY, index, line))) == {"place_known": [problem]}


@pytest.mark.parametrize(
    ("lines", "persona", "age", "problem"),
    [
        # 09:00-12:00 and 12:50-13:30 at the office: 220 minutes
        (edit(WORKDAY, 3, "[12:50-13:30] 工作 @ 上海中心大厦 (121.5055, 31.2335)"), "商务人群", "30岁",
         "商务人群 works office hours in an office tower: 220 min of 工作/会议 at office within 09:00-18:00, needs 300"),
        (WORKDAY, "商务人群", "70岁", "商务人群: age 70 is outside 22-65"),
        (WORKDAY, "外星人", "30岁", "persona '外星人' is not in the rule table (商务人群, 游客, 居民, 通勤者, 学生)"),
        (["[10:00-12:00] 购物 @ 正大广场 (121.4987, 31.2373)", "[12:10-13:00] 休闲 @ 陆家嘴中心绿地 (121.5050, 31.2385)"], "游客", "30岁",
         "游客 visits at least one attraction: 0 distinct attraction places, needs 1"),
        (["[07:00-09:00] 居家 @ 汤臣一品 (121.4990, 31.2350)", "[09:10-10:00] 运动 @ 滨江大道 (121.4972, 31.2405)"], "居民", "60岁",
         "居民 starts and ends the day at home: last activity [09:10-10:00] 运动 @ 滨江大道 does not match"),
        (["[07:00-09:00] 居家 @ 汤臣一品 (121.4990, 31.2350)", "[09:10-10:00] 居家 @ 仁恒滨江园 (121.5015, 31.2300)"], "居民", "60岁",
         "居民 starts and ends the day at home: first place '汤臣一品' is not the last '仁恒滨江园'"),
        (["[08:00-12:00] 工作 @ 正大广场 (121.4987, 31.2373)", "[12:00-17:00] 工作 @ 正大广场 (121.4987, 31.2373)", "[17:10-17:30] 通勤 @ 陆家嘴站 (121.5027, 31.2381)"], "通勤者", "30岁",
         "通勤者 arrives and leaves by metro: first activity [08:00-12:00] 工作 @ 正大广场 does not match"),
        (["[07:00-07:20] 通勤 @ 陆家嘴站 (121.5027, 31.2381)", "[07:30-09:30] 学习 @ 上海市东昌中学 (121.5120, 31.2285)"], "学生", "16岁",
         "学生 spends at least three hours at school or studying: 120 min of 上学/学习, needs 180"),
    ],
)
def test_persona_ok(world, lines, persona, age, problem):
    assert failed(world, text(lines, persona, age)) == {"persona_ok": [problem]}
