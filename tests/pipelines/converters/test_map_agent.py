import pytest

from pipelines.converters.map_agent import (
    DUPLICATE,
    drop_near_duplicates,
    lower_keys,
    normalise,
    sample_id,
    to_example,
)
from pipelines.converters.records import Conversion
from pipelines.core.errors import InvalidRecord, RecordError
from pipelines.core.registry import CONVERTERS

CONTEXT = {"location": {"name": "北京市五道口", "lng": 116.34, "lat": 39.99}, "radius_m": 2000, "budget": [50, 100],
           "preferences": ["川菜"], "pois": [{"name": "甲(一店)", "distance_m": 120, "avg_price": 60}]}


def test_keys_in_any_case_map_to_the_target_and_the_context_to_meta():
    example = to_example({"INSTRUCTION": "推荐餐厅", "question": "我在北京市五道口", "Answer": "1. 甲(一店)", "Context": CONTEXT})
    assert example.record == {"instruction": "推荐餐厅", "input": "我在北京市五道口", "output": "1. 甲(一店)"}
    assert example.meta == {"id": sample_id("我在北京市五道口", "1. 甲(一店)"), "context": CONTEXT}


def test_a_record_without_context_gets_an_id_only():
    assert to_example({"Instruction": "i", "Question": "q", "Answer": "a"}).meta == {"id": sample_id("q", "a")}


def test_the_sample_id_is_stable():
    # Pinned: a change here would orphan every sidecar and judge cache built so far.
    assert sample_id("我在北京市五道口，预算人均50-100元。", "为您推荐：1. 甲(一店)；2. 乙。") == "ac22bf653f70318e"


def test_normalisation_ignores_whitespace_punctuation_and_width():
    assert normalise("我在 北京市五道口 , 预算人均５０-100元。") == "我在北京市五道口预算人均50100元"
    assert sample_id("我在北京，预算100元", "1. 甲（一店）；2. 乙") == sample_id("我在北京 , 预算100元", "1.甲(一店); 2.乙")


@pytest.mark.parametrize("record, field, reason", [
    ({"Instruction": "i", "Question": "q"}, "answer", "'answer' is a required property"),
    ({"Instruction": "i", "Question": " ", "Answer": "a"}, "question", "does not match"),
    ({"Instruction": "i", "Question": "q", "Answer": "a", "context": {"radius_m": 2000}}, "context.pois", "'pois' is a required property"),
    ({"Instruction": "i", "Question": "q", "Answer": "a", "context": {"pois": [{"name": "甲"}]}}, "context.pois.0.distance_m", "required"),
    ({"Instruction": "i", "Question": "q", "Answer": "a", "context": {"pois": [], "budget": [200, 100]}}, "context.budget", "minimum 200 is above maximum 100"),
])
def test_bad_records_name_the_field(record, field, reason):
    with pytest.raises(InvalidRecord) as error:
        to_example(record)
    assert error.value.field == field and reason in error.value.reason


def test_a_key_given_twice_in_different_case_is_refused():
    with pytest.raises(InvalidRecord) as error:
        lower_keys({"Question": "q", "question": "q2"})
    assert error.value.field == "question"


def test_near_duplicates_are_dropped_and_counted():
    examples = [to_example({"Instruction": "i", "Question": q, "Answer": a}) for q, a in [
        ("我在北京，预算100元", "1. 甲（一店）"), ("我在北京 , 预算100元", "1.甲(一店)"), ("我在上海", "1. 甲"), ("我在北京，预算100元", "1. 甲（一店）")]]
    conversion = drop_near_duplicates(Conversion(examples))
    assert [e.record["input"] for e in conversion.examples] == ["我在北京，预算100元", "我在上海"]
    assert conversion.skipped == {DUPLICATE: 2}


def test_the_registered_converter_reads_files_and_drops_near_duplicates(fixtures):
    conversion = CONVERTERS.get("map_agent").fn([fixtures / "restaurant" / "agent_output.jsonl"], {}, False)
    assert [e.record["input"] for e in conversion.examples] == ["我在北京市五道口，预算人均50-150元，偏好川菜。", "我在上海市陆家嘴，预算人均100元以内。"]
    assert conversion.examples[0].meta["context"]["radius_m"] == 1000 and "context" not in conversion.examples[1].meta
    assert conversion.skipped == {DUPLICATE: 1}  # line 3: line 1 in upper-case keys and half-width punctuation


def test_a_bad_record_is_named_by_file_record_and_field(fixtures):
    path = fixtures / "restaurant" / "bad_poi.json"
    with pytest.raises(RecordError, match=r"bad_poi.json: record 2: context.pois.0.distance_m: 'distance_m' is a required property"):
        CONVERTERS.get("map_agent").fn([path], {}, False)
    assert len(CONVERTERS.get("map_agent").fn([path], {}, True).examples) == 1


@pytest.fixture
def amap_pois(fixtures):
    """The `pois` of an Amap v3 around search (/v3/place/around, extensions=all) near 国贸, as Amap answers it."""
    import json

    return json.loads((fixtures / "restaurant" / "amap_place_around.json").read_text(encoding="utf-8"))["pois"]


def amap_record(pois):
    return {"Instruction": "推荐餐厅", "Question": "我在北京市国贸，预算人均100-200元，偏好川菜、火锅。", "Answer": "1. 江边城外烤全鱼(国贸店)",
            "context": {"radius_m": 1000, "budget": [100, 200], "preferences": ["川菜", "火锅"], "pois": pois}}


def test_amap_place_results_are_taken_as_they_come(amap_pois):
    context = to_example(amap_record(amap_pois), cuisines={"四川菜(川菜)": "川菜", "火锅店": "火锅"}).meta["context"]
    assert context["pois"] == [
        {"name": "海底捞火锅(国贸店)", "address": "建国门外大街甲6号SK大厦5层", "cuisine": "火锅", "rating": 4.7, "distance_m": 420, "avg_price": 145},
        {"name": "江边城外烤全鱼(国贸店)", "address": "建国路87号新光天地B1层", "cuisine": "川菜", "rating": 4.4, "distance_m": 470, "avg_price": 120},
        # Amap's [] for what it does not know: no address, rating or price; a cuisine not renamed stays Amap's.
        {"name": "国贸食堂", "cuisine": "中餐厅", "distance_m": 1250},
    ]
    assert {k: context[k] for k in ("radius_m", "budget", "preferences")} == {"radius_m": 1000, "budget": [100, 200], "preferences": ["川菜", "火锅"]}


def test_amap_pois_are_checked_by_the_evaluator_like_any_others(amap_pois):
    from evaluators.restaurant_grounding import check

    context = to_example(amap_record(amap_pois), cuisines={"四川菜(川菜)": "川菜"}).meta["context"]
    checked = check("1. 江边城外烤全鱼(国贸店)；2. 国贸食堂；3. 海底捞火锅(国贸店)", context)
    # 国贸食堂 is 1250 m away (radius 1000) and has no price; 海底捞's 火锅店 was not renamed, so it is no preference.
    assert (checked["poi_grounded"], checked["within_radius"], checked["within_budget"], checked["cuisine_match"]) == ((3, 3), (2, 3), (2, 2), (1, 3))


def test_the_registered_converter_reads_amap_results_with_its_cuisines_option(amap_pois, tmp_path):
    import json

    path = tmp_path / "agent_output.jsonl"
    path.write_text(json.dumps(amap_record(amap_pois), ensure_ascii=False) + "\n", encoding="utf-8")
    conversion = CONVERTERS.get("map_agent").fn([path], {"cuisines": {"四川菜(川菜)": "川菜"}}, False)
    assert [p.get("cuisine") for p in conversion.examples[0].meta["context"]["pois"]] == ["火锅店", "川菜", "中餐厅"]


@pytest.mark.parametrize("change, field, reason", [
    ({"distance": []}, "context.pois.1.distance", "[] is not of type 'string', 'number'"),  # a keyword search has no distance
    ({"distance": "约500"}, "context.pois.1.distance", "does not match"),
    ({"biz_ext": {"rating": "7.5", "cost": "60"}}, "context.pois.1.biz_ext.rating", "7.5 is above Amap's highest rating 5"),
    ({"biz_ext": {"rating": "4.5", "cost": "人均60"}}, "context.pois.1.biz_ext.cost", "'人均60' does not match"),
    ({"name": ""}, "context.pois.1.name", "does not match"),
])
def test_a_bad_amap_poi_names_its_field(amap_pois, change, field, reason):
    amap_pois[1] = {**amap_pois[1], **change}
    with pytest.raises(InvalidRecord) as error:
        to_example(amap_record(amap_pois))
    assert error.value.field == field and reason in error.value.reason
