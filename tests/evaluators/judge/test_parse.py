import pytest

from evaluators.judge.parse import ParseFailure, parse_scores
from evaluators.judge.rubric import Rubric

RUBRIC = Rubric("r", "records", "sys", "{output}", 1, 10, (
    {"key": "accuracy", "title": "准确性", "description": "d"},
    {"key": "format", "title": "格式规范", "description": "d"},
))


def scores(text):
    return {k: (s.score, s.reason) for k, s in parse_scores(text, RUBRIC).items()}


@pytest.mark.parametrize("text", [
    '{"accuracy": {"score": 8, "reason": "对"}, "format": {"score": 6, "reason": "乱"}}',
    '评分：\n```json\n{"accuracy": {"score": 8, "reason": "对"}, "format": {"score": 6, "reason": "乱"}}\n```\n以上。',
    '好的。{"scores": {"准确性": [8, "对"], "格式规范": [6, "乱"]}} 完毕',
    '<think>先想 {"accuracy": 1}</think>{"accuracy": {"score": "8", "reason": "对"}, "format": {"score": 6.0, "reason": "乱"}}',
    'accuracy: [[8]] 对\n格式规范 [[6]] 乱',
])
def test_accepted_shapes(text):
    assert scores(text) == {"accuracy": (8, "对"), "format": (6, "乱")}


def test_a_bare_number_has_no_reason():
    assert scores('{"accuracy": 7, "format": 9}') == {"accuracy": (7, ""), "format": (9, "")}


@pytest.mark.parametrize("text, failure", [
    ("", "empty answer"),
    ("<think>只想不答</think>", "empty answer"),
    ("我给八分", "no JSON object and no [[n]] scores"),
    ('{"accuracy": {"score": 8}}', "no score for format"),
    ('{"accuracy": 8, "format": 0}', "score for format is outside 1-10: 0"),
    ('{"accuracy": 7.5, "format": 8}', "score for accuracy is not an integer: 7.5"),
    ('{"accuracy": "高", "format": 8}', "score for accuracy is not an integer: '高'"),
    ('{"accuracy": true, "format": 8}', "score for accuracy is not an integer: True"),
    ('{"accuracy": NaN, "format": 8}', "score for accuracy is not an integer: nan"),
    ('{"quality": 8}', "no JSON object and no [[n]] scores"),
])
def test_failures_say_why(text, failure):
    with pytest.raises(ParseFailure) as error:
        parse_scores(text, RUBRIC)
    assert str(error.value) == failure


def test_a_single_dimension_rubric_takes_a_lone_bracketed_score():
    one = Rubric("one", "records", "s", "{output}", 1, 10, ({"key": "overall", "title": "总体", "description": "d"},))
    assert parse_scores("总的来说 [[7]]", one)["overall"].score == 7
