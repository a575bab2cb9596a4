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
