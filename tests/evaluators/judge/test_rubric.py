import pytest

from evaluators.judge.rubric import RUBRIC_DIR, RUBRICS, load_rubric, resolve_rubric
from pipelines.core.errors import DomaintuneError


@pytest.mark.parametrize("path", sorted(RUBRIC_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_rubric_loads_and_is_registered(path):
    rubric = load_rubric(path)
    assert len(rubric.dimensions) == 5 and (rubric.low, rubric.high) == (1, 10)
    assert resolve_rubric(rubric.name) == rubric


def test_registered_names():
    assert RUBRICS.names() == ["data_quality", "model_performance"]


def test_the_prompt_shows_the_item_and_every_dimension_key():
    rubric = resolve_rubric("model_performance")
    system, user = rubric.messages({"instruction": "指令甲", "input": "问题乙", "prediction": "回答丙", "reference": "参考丁"})
    assert system["content"] == rubric.system
    for text in ("指令甲", "问题乙", "回答丙", "参考丁", *rubric.keys):
        assert text in user["content"]


def test_a_task_brings_its_own_rubric_file(tmp_path):
    own = tmp_path / "own.yaml"
    own.write_text("name: brevity\ndescription: d\njudges: predictions\nsystem: s\nitem: '{prediction}'\n"
                   "scale: {min: 0, max: 5}\ndimensions:\n  - {key: brevity, title: 简洁, description: d}\n", encoding="utf-8")
    rubric = resolve_rubric(str(own))
    assert (rubric.name, rubric.keys, rubric.low, rubric.high) == ("brevity", ("brevity",), 0, 5)


def test_an_item_field_the_subject_lacks_is_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ndescription: d\njudges: records\nsystem: s\nitem: '{prediction}'\n"
                   "scale: {min: 1, max: 10}\ndimensions:\n  - {key: a, title: A, description: d}\n", encoding="utf-8")
    with pytest.raises(DomaintuneError, match=r"bad.yaml: item: unknown field 'prediction'; a records rubric has instruction, input, output"):
        load_rubric(bad)


def test_schema_problems_are_reported(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\njudges: answers\n", encoding="utf-8")
    with pytest.raises(DomaintuneError, match="invalid rubric"):
        load_rubric(bad)


def test_an_unknown_rubric_name_lists_the_known_ones():
    with pytest.raises(DomaintuneError, match="unknown rubric 'style'; rubrics are: data_quality, model_performance"):
        resolve_rubric("style")
