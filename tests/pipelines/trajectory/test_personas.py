from pipelines.trajectory.grammar import parse
from pipelines.trajectory.personas import first_persona, load_rules
from pipelines.trajectory.places import RULES_FILE, load_places


def day(*lines: str):
    body = "\n".join(f"\t{line}" for line in lines)
    return parse(f"# 此人个体基本信息\n\t[陆家嘴活动人群画像]: ?\n\t[年龄]: 30岁\n\t[性别]: 女\n\t[职业]: ?\n# 活动轨迹\n{body}\n# 主观评价\n")


def place_of(table):
    return lambda a: (m.place if (m := table.match(a.place, a.lon, a.lat, 300)) else None)


def test_first_persona_whose_rules_hold_in_the_files_order():
    table, rules = load_places(), load_rules(RULES_FILE)
    office = day("[09:00-12:00] 工作 @ 上海中心大厦 (121.5055, 31.2335)", "[13:00-18:00] 工作 @ 上海中心大厦 (121.5055, 31.2335)")
    assert first_persona(office, rules, place_of(table)) == ("商务人群", [])
    # Matched by the nearest-place rule: an unnamed venue at 东方明珠's point is an attraction.
    tourist = day("[10:00-12:00] 游览 @ venue 4b0587 (121.4998, 31.2397)")
    assert first_persona(tourist, rules, place_of(table)) == ("游客", [])


def test_no_persona_gives_each_personas_first_reason():
    table, rules = load_places(), load_rules(RULES_FILE)
    persona, reasons = first_persona(day("[10:00-11:00] 购物 @ 正大广场 (121.4987, 31.2373)"), rules, place_of(table))
    assert persona is None
    assert reasons == [
        "商务人群: works office hours in an office tower: 0 min of 工作/会议 at office within 09:00-18:00, needs 300",
        "游客: visits at least one attraction: 0 distinct attraction places, needs 1",
        "居民: starts and ends the day at home: first activity [10:00-11:00] 购物 @ 正大广场 and last activity [10:00-11:00] 购物 @ 正大广场 does not match",
        "通勤者: arrives and leaves by metro: first activity [10:00-11:00] 购物 @ 正大广场 and last activity [10:00-11:00] 购物 @ 正大广场 does not match",
        "学生: spends at least three hours at school or studying: 0 min of 上学/学习, needs 180",
    ]
