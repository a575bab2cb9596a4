"""Questions drawn evenly and reproducibly from the space, or read from a user's file."""

import itertools
import json
from collections import Counter

import pytest
import yaml

from pipelines.agent.pois import LocalSource, Place, Poi, open_source
from pipelines.agent.questions import AGENT_CONFIG, draw, load_config, questions
from pipelines.core.errors import DomaintuneError, RecordError


@pytest.fixture(scope="module")
def drawn(table):
    return list(itertools.islice(questions(table, None, 7)[1], 70))


def spread(counter: Counter) -> int:
    return max(counter.values()) - min(counter.values())


def test_the_same_seed_draws_the_same_questions(table, drawn):
    assert [q.text for q in itertools.islice(questions(table, None, 7)[1], 70)] == [q.text for q in drawn]
    assert [q.text for q in itertools.islice(questions(table, None, 8)[1], 70)] != [q.text for q in drawn]
    assert len({q.text for q in drawn}) == 70 and [q.index for q in drawn] == list(range(70))


def test_every_dimension_is_covered_evenly(table, drawn):
    space = load_config()["questions"]
    assert set(Counter(q.location for q in drawn)) == {p.name for p in table.places()}
    assert spread(Counter(q.location for q in drawn)) <= 1  # 70 questions over 7 places: 10 each
    assert spread(Counter(q.budget for q in drawn)) <= 1 and len(Counter(q.budget for q in drawn)) == len(space["budgets"])
    assert spread(Counter(q.radius_m for q in drawn)) <= 1
    for location in {q.location for q in drawn}:
        asked = Counter(c for q in drawn if q.location == location for c in q.preferences)
        place = table.geocode(location)
        near = {f.poi.cuisine for f in table.around(place.lng, place.lat, 3000, None)}
        assert set(asked) <= near  # only cuisines found around the place
        assert spread(asked) <= 2  # one or two per question: within one per cycle, the cycle cut anywhere


def test_the_question_says_what_the_context_will_hold(drawn):
    question = drawn[0]
    assert question.location in question.text and all(c in question.text for c in question.preferences)
    low, high = question.budget
    assert (f"人均{high}元以内" if low == 0 else f"人均{low}-{high}元") in question.text


def test_a_small_space_ends(tmp_path):
    config = yaml.safe_load(AGENT_CONFIG.read_text(encoding="utf-8"))
    config["questions"].update(locations=["测试广场"], cuisines=["川菜"], budgets=[[0, 50]], radii=[{"radius_m": 1000, "text": ""}],
                               templates=["我在{location}，{budget}，想吃{cuisines}。", "{location}附近的{cuisines}，{budget}。"])
    source = LocalSource("t", [Place("测试广场", 116.0, 40.0)], [Poi("a", "甲", 116.0, 40.0, cuisine="川菜")])
    # Two templates, one value for everything else: two questions, then the stream ends.
    assert sorted(q.text for q in draw(config, source, 1)) == ["我在测试广场，人均50元以内，想吃川菜。", "测试广场附近的川菜，人均50元以内。"]


def test_a_web_source_needs_the_places_named():
    amap_like = LocalSource("amap http://x", [], [Poi("a", "甲", 116.0, 40.0, cuisine="川菜")])
    with pytest.raises(DomaintuneError, match=r"amap http://x lists no places: name the questions' locations"):
        next(questions(amap_like, None, 1)[1])


def test_a_users_question_file(tmp_path, table):
    path = tmp_path / "mine.jsonl"
    lines = [{"question": "五道口附近有什么便宜的川菜？", "location": "北京市五道口", "budget": [0, 60], "radius_m": 1000},
             {"question": "国贸吃什么好？", "instruction": "推荐餐厅"}]
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    read = list(questions(table, path, 7)[1])
    assert [(q.index, q.location, q.budget, q.radius_m, q.preferences) for q in read] == [
        (0, "北京市五道口", (0, 60), 1000, ()), (1, None, None, None, ())]
    assert read[0].instruction == load_config()["instructions"][0] and read[1].instruction == "推荐餐厅"


@pytest.mark.parametrize(("line", "message"), [
    ({"question": "x", "budget": [100, 50]}, "line 2: budget: low 100 is above high 50"),
    ({"question": "x", "radius": 500}, "line 2: (record): Additional properties are not allowed ('radius' was unexpected)"),
    ({"question": " "}, "line 2: question: ' ' does not match '\\\\S'"),
])
def test_a_bad_question_is_named(tmp_path, table, line, message):
    path = tmp_path / "mine.jsonl"
    path.write_text('{"question": "好"}\n' + json.dumps(line) + "\n", encoding="utf-8")
    with pytest.raises(RecordError) as caught:
        list(questions(table, path, 7)[1])
    assert str(caught.value) == f"{path}: {message}"


def test_a_space_of_ones_own_is_checked(tmp_path, table):
    config = yaml.safe_load(AGENT_CONFIG.read_text(encoding="utf-8"))
    config["questions"]["budgets"].append([300, 100])
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DomaintuneError, match=r"questions.budgets: budget 6 \[300, 100\] has its low above its high"):
        questions(table, path, 7)
    del config["questions"]["templates"]
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DomaintuneError, match="questions: 'templates' is a required property"):
        questions(open_source("table"), path, 7)
