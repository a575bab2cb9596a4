import pytest

from pipelines.trajectory.grammar import (
    Activity,
    Day,
    DayFormatError,
    parse,
    render,
    unroll,
)

ISSUE_DAY = """# 此人个体基本信息
\t[陆家嘴活动人群画像]: 商务人群
\t[年龄]: 30岁
\t[性别]: 男
\t[职业]: 基金经理
# 活动轨迹
\t[08:10-08:40] 通勤 @ 陆家嘴地铁站 (121.5027, 31.2381)
\t[08:40-12:00] 工作 @ 上海中心大厦 (121.5055, 31.2335)
# 主观评价
\t忙碌的一天。
\t第二行。"""


def test_parses_the_issue_example():
    day = parse(ISSUE_DAY)
    assert (day.persona, day.age, day.gender, day.occupation) == ("商务人群", 30, "男", "基金经理")
    assert day.activities == (
        Activity(8 * 60 + 10, 8 * 60 + 40, "通勤", "陆家嘴地铁站", 121.5027, 31.2381),
        Activity(8 * 60 + 40, 12 * 60, "工作", "上海中心大厦", 121.5055, 31.2335),
    )
    assert day.comment == "忙碌的一天。\n第二行。"


def test_full_width_punctuation_and_spacing_are_tolerated():
    text = """#此人个体基本信息
  【陆家嘴活动人群画像】：游客
[年龄]:30
[性别] ： 女
[职业]：教师

#  活动轨迹
［08：10 － 09：00］游览＠东方明珠（121.4998，31.2397）
[09:05 ~ 10:00]   用餐  @  星巴克（上海中心店）   ( 121.5051 ,31.2331 )
# 主观评价
"""
    day = parse(text)
    assert (day.persona, day.age, day.gender) == ("游客", 30, "女")
    assert [(a.start, a.end, a.activity, a.place) for a in day.activities] == [(490, 540, "游览", "东方明珠"), (545, 600, "用餐", "星巴克(上海中心店)")]
    assert day.activities[1].lon == 121.5051 and day.comment == ""


def test_render_then_parse_gives_the_same_day():
    day = Day("居民", 66, "女", "退休教师", (Activity(420, 540, "居家", "汤臣一品", 121.499, 31.235), Activity(550, 600, "运动", "滨江大道", 121.4972, 31.2405)), "第一行\n第二行")
    assert parse(render(day)) == day
    assert render(day).splitlines()[6] == "\t[07:00-09:00] 居家 @ 汤臣一品 (121.4990, 31.2350)"


def test_gtfs_style_clock_values_past_midnight_are_taken_as_written():
    day = parse(ISSUE_DAY.replace("08:40-12:00", "23:00-25:10"))
    assert day.activities[1].end == 25 * 60 + 10


def test_a_day_ending_after_midnight_continues_on_one_timeline():
    day = parse(ISSUE_DAY.replace("08:10-08:40", "22:00-23:40").replace("08:40-12:00", "23:40-00:10"))
    assert [(a.start, a.end) for a in day.activities] == [(1320, 1420), (1420, 1450)]
    assert render(day).splitlines()[7] == "\t[23:40-00:10] 工作 @ 上海中心大厦 (121.5055, 31.2335)"
    assert parse(render(day)) == day


@pytest.mark.parametrize(
    ("readings", "points"),
    [
        ([1420, 10, 20, 60], [1420, 1450, 1460, 1500]),  # 23:40, 00:10, ...: after midnight
        ([720, 710], [720, 710]),  # ten minutes back stays back, for temporal_ok to report
        ([1140, 1120], [1140, 1120]),  # [19:00-18:40]: the same
        ([480, 1260], [480, 1260]),  # a 13-hour gap forward is forward
        ([1380, 1470, 30], [1380, 1470, 1470]),  # 24:30 as written; then 00:30 is the same point
    ],
)
def test_unroll_reads_a_reading_over_12_hours_back_as_the_next_day(readings, points):
    assert unroll(readings) == points


def test_extra_persona_fields_are_kept_in_order_and_rendered_back():
    text = ISSUE_DAY.replace("\t[职业]: 基金经理", "\t[居住地]: 浦东新区\n\t[职业]: 基金经理\n\t[婚姻状况]: 已婚")
    day = parse(text)
    assert day.occupation == "基金经理"
    assert day.extra_fields == (("居住地", "浦东新区"), ("婚姻状况", "已婚"))
    assert parse(render(day)) == day


def test_field_label_synonyms_map_to_the_grammar_labels():
    text = ISSUE_DAY.replace("[陆家嘴活动人群画像]", "[人群 画像]")
    with pytest.raises(DayFormatError, match="section lacks \\[陆家嘴活动人群画像\\]"):
        parse(text)
    assert parse(text, {"人群画像": "陆家嘴活动人群画像"}).persona == "商务人群"


def test_activities_know_their_line():
    assert [a.line for a in parse(ISSUE_DAY).activities] == [7, 8]


@pytest.mark.parametrize(
    ("edit", "line", "reason"),
    [
        (lambda t: t.replace("\t[年龄]: 30岁", "\t[岁数]: 30岁"), 1, "section lacks [年龄]"),  # [岁数] is kept as an extra field
        (lambda t: t.replace("\t[年龄]: 30岁\n", ""), 1, "section lacks [年龄]"),
        (lambda t: t.replace("30岁", "三十岁"), 3, "age must be a number"),
        (lambda t: t.replace("\t[性别]: 男", "\t[性别]: 男\n\t[性别]: 女"), 5, "field [性别] given twice"),
        (lambda t: t.replace("[08:40-12:00] 工作 @ 上海中心大厦 (121.5055, 31.2335)", "[08:40-12:00] 工作 上海中心大厦"), 8, "expected an activity line"),
        (lambda t: t.replace("08:40-12:00", "08:40-12:75"), 8, "minute 75 is not below 60"),
        (lambda t: t.replace("(121.5055, 31.2335)", "(121.5055)"), 8, "expected an activity line"),
        (lambda t: t.replace("[08:10-08:40]  ", "[08:10-08:40] ").replace("通勤 @", " @"), 7, "expected an activity line"),
        (lambda t: "前言\n" + t, 1, "text before the first section"),
        (lambda t: t.replace("# 活动轨迹", "# 轨迹"), 6, "expected section '# 活动轨迹'"),
        (lambda t: t.split("# 主观评价")[0], 8, "missing section '# 主观评价'"),
        (lambda t: t.replace("\t[08:10-08:40] 通勤 @ 陆家嘴地铁站 (121.5027, 31.2381)\n\t[08:40-12:00] 工作 @ 上海中心大厦 (121.5055, 31.2335)\n", ""), 6, "section has no activity line"),
        (lambda t: t + "\n# 附录", 12, "a fourth section"),
    ],
)
def test_errors_name_the_offending_line(edit, line, reason):
    with pytest.raises(DayFormatError) as err:
        parse(edit(ISSUE_DAY))
    assert err.value.line_number == line
    assert reason in str(err.value)
    assert str(err.value).startswith(f"line {line}: ")


def test_empty_text_is_a_format_error():
    with pytest.raises(DayFormatError, match="line 1: missing section '# 此人个体基本信息'"):
        parse("")
