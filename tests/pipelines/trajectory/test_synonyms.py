import pytest

from pipelines.core.errors import DomaintuneError
from pipelines.trajectory.grammar import Activity, Day
from pipelines.trajectory.places import SYNONYMS_FILE
from pipelines.trajectory.synonyms import load_synonyms


def test_shipped_tables_map_the_issues_words_to_one_canonical_word():
    synonyms = load_synonyms(SYNONYMS_FILE)
    assert [synonyms.activity(w) for w in ("午餐", "用餐", "散步", "休闲", "开会", "跳伞")] == ["用餐", "用餐", "休闲", "休闲", "会议", "跳伞"]
    assert synonyms.persona("白领") == "商务人群" and synonyms.persona("外星人") == "外星人"
    assert synonyms.labels["人群画像"] == "陆家嘴活动人群画像"
    assert synonyms.travel == {"通勤", "出行"}


def test_canonical_day_renames_activities_and_persona_only():
    day = Day("白领", 30, "男", "律师", (Activity(480, 540, "午餐", "国金中心", 121.5, 31.2, 9),), "", (("居住地", "浦东"),))
    canonical = load_synonyms(SYNONYMS_FILE).canonical(day)
    assert (canonical.persona, canonical.activities[0].activity, canonical.activities[0].place, canonical.activities[0].line) == ("商务人群", "用餐", "国金中心", 9)
    assert canonical.extra_fields == day.extra_fields


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("activities: {用餐: [午餐], 休闲: [午餐]}\npersonas: {}\nfields: {}\ntravel: []\n", r"activities\.休闲: '午餐' already stands for '用餐'"),
        ("activities: {}\npersonas: {}\nfields: {住址: [地址]}\ntravel: []\n", r"fields: 住址 is no field of the day grammar"),
        ("activities: {}\npersonas: {}\nfields: {}\n", r"invalid trajectory_synonyms:\n  \(top level\): 'travel' is a required property"),
    ],
)
def test_bad_tables_are_refused_naming_the_entry(tmp_path, text, message):
    path = tmp_path / "synonyms.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DomaintuneError, match=message):
        load_synonyms(path)
