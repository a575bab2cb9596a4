"""Each per-day check: valid days written by hand pass all six, hand-made days that break one check fail exactly it."""

import json
from dataclasses import replace

import pytest

from evaluators.trajectory import load_world
from evaluators.trajectory_checks import CHECKS, World, check_day, clock_step
from pipelines.core.tasks import load_task
from pipelines.trajectory.generate import SAMPLE_SET
from pipelines.trajectory.grammar import parse
from pipelines.trajectory.places import Place, PlaceTable
from pipelines.trajectory.synonyms import Synonyms

BUND = "外滩观景平台"  # a real place across the river: in this test's table, outside the district


@pytest.fixture(scope="module")
def world() -> World:
    """The shipped task's world (places, district, rules, synonyms) on the shipped 5-minute grid, plus the Bund."""
    shipped = load_world(load_task("trajectory").eval)
    table = shipped.places
    places = PlaceTable([*table.places, Place(BUND, "park", 121.4902, 31.2337)], table.aliases, table.normaliser)
    return replace(shipped, places=places, clock_step_min=5)


def text(lines: list[str], persona: str = "商务人群", age: str = "30岁", extra: tuple[str, ...] = ()) -> str:
    header = ["# 此人个体基本信息", f"\t[陆家嘴活动人群画像]: {persona}", f"\t[年龄]: {age}", "\t[性别]: 男", "\t[职业]: 基金经理", *(f"\t{e}" for e in extra), "# 活动轨迹"]
    return "\n".join([*header, *(f"\t{line}" for line in lines), "# 主观评价", "\t忙碌的一天。"])


# 陆家嘴站 -> 上海中心大厦 is 577 m (3.5 km/h over the 10-minute gap); 星巴克(上海中心店) is 55 m from the tower.
WORKDAY = [
    "[08:10-08:40] 通勤 @ 陆家嘴地铁站 (121.5027, 31.2381)",
    "[08:50-12:00] 工作 @ 上海中心大厦 (121.5055, 31.2335)",
    "[12:00-12:50] 用餐 @ 星巴克(上海中心店) (121.5051, 31.2331)",
    "[12:50-18:30] 工作 @ 上海中心大厦 (121.5055, 31.2335)",
    "[18:40-19:00] 通勤 @ 陆家嘴站 (121.5027, 31.2381)",
]

# Valid days as a person would write them, one per persona: zero-gap walks on the 5-minute grid, short and
# branch names, activity and persona synonyms, an extra persona field, a day ending after midnight.
VALID_DAYS = {
    "商务人群": (text([
        "[08:10-08:40] 通勤 @ 陆家嘴地铁站 (121.5027, 31.2381)",
        "[08:40-12:00] 上班 @ 上海中心 (121.5055, 31.2335)",  # 577 m straight after the commute: its arrival
        "[12:00-13:00] 午餐 @ 国金中心商场 (121.5020, 31.2365)",  # 471 m, zero gap: 5.7 km/h over the clock step
        "[13:00-18:30] 工作 @ 上海中心大厦 (121.5055, 31.2335)",
        "[18:30-19:10] 散步 @ 中心绿地 (121.5050, 31.2385)",
        "[19:10-19:30] 通勤 @ 陆家嘴站 (121.5027, 31.2381)",
    ], persona="白领", extra=("[居住地]: 浦东新区",))),
    "游客": (text([
        "[09:00-09:20] 出行 @ 香格里拉大酒店 (121.4982, 31.2386)",
        "[09:20-11:30] 参观 @ 东方明珠塔 (121.4998, 31.2397)",
        "[11:30-12:30] 午饭 @ 鼎泰丰国金中心店 (121.5017, 31.2367)",  # a branch written without brackets
        "[12:30-14:00] 逛街 @ 上海正大广场 (121.4987, 31.2373)",
        "[14:00-23:40] 观光 @ 滨江大道 (121.4972, 31.2405)",
        "[23:40-00:10] 出行 @ 浦东香格里拉大酒店 (121.4982, 31.2386)",  # ends after midnight
    ], persona="游客", age="35岁")),
    "居民": (text([
        "[06:00-07:30] 在家 @ 汤臣一品 (121.4990, 31.2350)",
        "[07:30-08:30] 晨练 @ 滨江大道 (121.4972, 31.2405)",  # 635 m, zero gap: 7.6 km/h
        "[08:30-21:00] 居家 @ 汤臣一品 (121.4990, 31.2350)",
    ], persona="本地居民", age="66岁", extra=("[居住地]: 陆家嘴",))),
    "通勤者": (text([
        "[07:50-08:20] 乘地铁 @ 陆家嘴站 (121.5027, 31.2381)",
        "[08:20-12:00] 上班 @ 正大广场 (121.4987, 31.2373)",
        "[12:00-12:40] 午餐 @ 小杨生煎正大广场店 (121.4989, 31.2371)",
        "[12:40-17:30] 工作 @ 正大广场 (121.4987, 31.2373)",
        "[17:30-18:00] 通勤 @ 陆家嘴地铁站 (121.5027, 31.2381)",
    ], persona="通勤族", age="28岁")),
    "学生": (text([
        "[07:00-07:30] 通勤 @ 东昌路站 (121.5105, 31.2318)",
        "[07:30-12:00] 上课 @ 东昌中学 (121.5120, 31.2285)",
        "[12:00-13:00] 午餐 @ 东昌中学 (121.5120, 31.2285)",
        "[13:00-16:30] 上学 @ 上海市东昌中学 (121.5120, 31.2285)",
        "[16:50-18:30] 自习 @ Manner咖啡（国金中心店） (121.5022, 31.2362)",
    ], persona="中学生", age="16岁")),
}


def edit(lines: list[str], index: int, line: str) -> list[str]:
    return [*lines[:index], line, *lines[index + 1 :]]


def failed(world: World, day_text: str) -> dict[str, list[str]]:
    result = check_day(0, day_text, world)
    return {name: result.problems[name] for name in result.failed}


@pytest.mark.parametrize("persona", list(VALID_DAYS))
def test_hand_written_valid_days_of_every_persona_pass_all_six_checks(world, persona):
    result = check_day(0, VALID_DAYS[persona], world)
    assert result.failed == [], result.problems
    assert result.day.persona == persona  # the persona synonym is read as its canonical name


def test_the_valid_days_use_every_rule_the_issue_names(world):
    days = {persona: check_day(0, day, world) for persona, day in VALID_DAYS.items()}
    assert days["商务人群"].day.extra_fields == (("居住地", "浦东新区"),)
    assert [a.activity for a in days["商务人群"].day.activities] == ["通勤", "工作", "用餐", "工作", "休闲", "通勤"]
    assert [m.rule for m in days["商务人群"].matches] == ["alias", "alias", "normalised", "name", "alias", "name"]
    assert days["游客"].day.activities[-1].end == 24 * 60 + 10
    assert [m.place.name for m in days["游客"].matches][2] == "鼎泰丰(国金中心店)"


def test_the_shipped_days_pass_every_check(world):
    shipped = load_world(load_task("trajectory").eval)
    texts = [record["output"] for record in json.loads(SAMPLE_SET.read_text(encoding="utf-8"))]
    step = clock_step([parse(t) for t in texts])
    assert step == 5
    assert [(i + 1, r.problems) for i, r in enumerate(check_day(i, t, replace(shipped, clock_step_min=step)) for i, t in enumerate(texts)) if r.failed] == []


def test_clock_step_is_the_grid_of_the_readings():
    def day(*clocks: str):
        return parse(text([f"[{a}-{b}] 工作 @ 上海中心大厦 (121.5055, 31.2335)" for a, b in zip(clocks[::2], clocks[1::2])]))

    assert clock_step([day("08:10", "08:40", "09:00", "12:00")]) == 10
    assert clock_step([day("08:10", "08:40"), day("09:05", "12:00")]) == 5
    assert clock_step([day("08:03", "08:40")]) == 1
    assert clock_step([]) == 0


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
    assert failed(world, text(lines)) == {"coord_in_region": [f"[12:20-12:40] 用餐 @ {BUND}: (121.4902, 31.2337) is outside 陆家嘴"]}


def test_coord_in_region_names_swapped_coordinates(world):
    problems = failed(world, text(edit(WORKDAY, 1, "[08:50-12:00] 工作 @ 上海中心大厦 (31.2335, 121.5055)")))
    assert problems["coord_in_region"] == ["[08:50-12:00] 工作 @ 上海中心大厦: (31.2335, 121.5055) has latitude and longitude swapped"]


@pytest.mark.parametrize(
    ("index", "line", "problem"),
    [
        (4, "[19:00-18:40] 通勤 @ 陆家嘴站 (121.5027, 31.2381)", "[19:00-18:40] 通勤 @ 陆家嘴站: start is not before end"),
        (2, "[11:50-12:50] 用餐 @ 星巴克(上海中心店) (121.5051, 31.2331)", "[11:50-12:50] 用餐 @ 星巴克(上海中心店): starts before the previous activity ends (12:00)"),
        # 08:10 to 08:20 the next day: 24 h 10 min
        (4, "[23:00-08:20] 通勤 @ 陆家嘴站 (121.5027, 31.2381)", "[23:00-08:20] 通勤 @ 陆家嘴站: the day spans more than 24 hours (08:10 to 08:20, 24.2 h)"),
    ],
)
def test_temporal_ok(world, index, line, problem):
    assert failed(world, text(edit(WORKDAY, index, line))) == {"temporal_ok": [problem]}


def test_a_day_ending_after_midnight_is_in_order(world):
    assert failed(world, text(edit(WORKDAY, 4, "[18:40-00:30] 通勤 @ 陆家嘴站 (121.5027, 31.2381)"))) == {}


def test_speed_ok_allows_one_clock_step_for_a_zero_gap_walk(world):
    lines = edit(WORKDAY, 2, "[12:00-12:50] 用餐 @ 鼎泰丰(国金中心店) (121.5017, 31.2367)")  # 507 m from the tower, and back
    assert failed(world, text(lines)) == {}
    # Without the step the walk is a teleport; with a 5 km/h limit, 0.507 km in 5 min is 6.1 km/h.
    assert failed(replace(world, clock_step_min=0), text(lines))["speed_ok"][0] == "上海中心大厦 → 鼎泰丰(国金中心店): 0.51 km in 0 min (inf km/h > 60)"
    slow = replace(world, speed_limit_kmh=5)
    assert failed(slow, text(lines))["speed_ok"] == [
        "上海中心大厦 → 鼎泰丰(国金中心店): 0.51 km in 0 min + 5 min clock step (6.1 km/h > 5)",
        "鼎泰丰(国金中心店) → 上海中心大厦: 0.51 km in 0 min + 5 min clock step (6.1 km/h > 5)",
    ]


def test_speed_ok_counts_a_commute_as_travel_for_the_leg_it_ends(world):
    # 世纪大道站 -> 上海中心大厦 is 1.97 km: 23.6 km/h in the clock step alone, 3.4 km/h with the 30-minute commute.
    lines = ["[08:10-08:40] 通勤 @ 世纪大道站 (121.5255, 31.2290)", "[08:40-12:00] 工作 @ 上海中心大厦 (121.5055, 31.2335)"]
    limited = replace(world, speed_limit_kmh=10)
    assert "speed_ok" not in failed(limited, text(lines))
    no_travel = replace(limited, synonyms=Synonyms(world.synonyms.activities, world.synonyms.personas, world.synonyms.labels, frozenset()))
    assert failed(no_travel, text(lines))["speed_ok"] == ["世纪大道站 → 上海中心大厦: 1.97 km in 0 min + 5 min clock step (23.6 km/h > 10)"]
    assert failed(replace(limited, speed_limit_kmh=3), text(lines))["speed_ok"] == [
        "世纪大道站 → 上海中心大厦: 1.97 km in 0 min + 5 min clock step + 30 min 通勤 (3.4 km/h > 3)"
    ]


@pytest.mark.parametrize(
    ("place", "point", "rule", "matched"),
    [
        ("上海中心大厦", (121.5055, 31.2335), "name", "上海中心大厦"),
        ("上 海 中 心", (121.5055, 31.2335), "alias", "上海中心大厦"),
        ("国金中心商场", (121.5020, 31.2365), "normalised", "上海国金中心商场"),  # 商场 and 上海 dropped: the alias 国金中心
        ("国金中心商场", (121.5026, 31.2358), "normalised", "上海国金中心办公楼"),  # both normalise to 国金中心: the nearer
        ("星巴克陆家嘴店", (121.5051, 31.2331), "normalised", "星巴克(上海中心店)"),  # a branch of a chain in the table
        ("公司楼下", (121.5052, 31.2333), "nearest", "星巴克(上海中心店)"),  # no name rule: 26 m from the café
    ],
)
def test_place_known_reports_the_rule_that_matched(world, place, point, rule, matched):
    result = check_day(0, text(edit(WORKDAY, 2, f"[12:00-12:50] 用餐 @ {place} ({point[0]}, {point[1]})")), world)
    assert result.failed == []
    assert (result.matches[2].rule, result.matches[2].place.name) == (rule, matched)


@pytest.mark.parametrize(
    ("index", "line", "problem"),
    [
        # 121.5150, 31.2300 is 560 m and more from every table place
        (2, "[12:00-12:50] 用餐 @ 无名小馆 (121.5150, 31.2300)", "[12:00-12:50] 用餐 @ 无名小馆: '无名小馆' is not in the place table and no table place is within 300 m"),
        # 0.0036 degrees of latitude north of the station: 400 m
        (0, "[08:10-08:40] 通勤 @ 陆家嘴站 (121.5027, 31.2417)", "[08:10-08:40] 通勤 @ 陆家嘴站: (121.5027, 31.2417) is 400 m from the table's 陆家嘴站 (121.5027, 31.2381), matched by name"),
    ],
)
def test_place_known_fails(world, index, line, problem):
    lines = edit(WORKDAY, index, line)
    assert failed(replace(world, speed_limit_kmh=1000), text(lines)) == {"place_known": [problem]}


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
