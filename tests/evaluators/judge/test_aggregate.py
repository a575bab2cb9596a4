import math

from evaluators.judge.aggregate import dimension_stats, pearson, summarize
from evaluators.judge.client import JudgeRun, Verdict
from evaluators.judge.parse import Score
from evaluators.judge.rubric import Rubric

RUBRIC = Rubric("r", "records", "s", "{output}", 1, 10, ({"key": "a", "title": "A", "description": "d"}, {"key": "b", "title": "B", "description": "d"}))


def verdict(item, a, b):
    return Verdict(item, scores={"a": Score(a, ""), "b": Score(b, "")})


def test_dimension_stats_by_hand():
    stats = dimension_stats([8, 9, 7, 10], 1, 10)
    assert (stats["n"], stats["mean"], stats["min"], stats["max"], stats["share_8_9"]) == (4, 8.5, 7, 10, 0.5)
    assert stats["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0, "6": 0, "7": 1, "8": 1, "9": 1, "10": 1}


def test_summary_leaves_failures_out_of_the_scores():
    run = JudgeRun(RUBRIC, [verdict("x", 8, 6), Verdict("y", failure="parse: empty answer"), verdict("z", 4, 2),
                            Verdict("w", failure="call: HTTP 500 after 2 retries")], calls=4)
    summary = summarize(run)
    assert (summary["scored"], summary["parse_failures"], summary["call_failures"]) == (2, 1, 1)
    assert summary["dimensions"]["a"]["mean"] == 6 and summary["dimensions"]["b"]["mean"] == 4
    assert summary["overall"] == {"mean": 5, "min": 3, "max": 7}  # item means 7 and 3
    assert summary["failure_reasons"] == {"parse: empty answer": 1, "call: HTTP 500 after 2 retries": 1}


def test_pearson_pairs_items_scored_by_both():
    # Item means: first 1, 2, 3 (and "d" only here); second 2, 4, 7 (and "e" failed there).
    first = JudgeRun(RUBRIC, [verdict("a", 1, 1), verdict("b", 2, 2), verdict("c", 3, 3), verdict("d", 9, 9)])
    second = JudgeRun(RUBRIC, [verdict("a", 2, 2), verdict("b", 4, 4), verdict("c", 6, 8), Verdict("d", failure="parse: x")])
    r, pairs = pearson(first, second)
    # dx = -1, 0, 1; dy = -7/3, -1/3, 8/3: r = 5 / sqrt(2 * 114/9)
    assert pairs == 3 and math.isclose(r, 5 / math.sqrt(2 * 114 / 9))


def test_pearson_needs_three_pairs_and_spread():
    first = JudgeRun(RUBRIC, [verdict("a", 1, 1), verdict("b", 2, 2), verdict("c", 3, 3)])
    flat = JudgeRun(RUBRIC, [verdict("a", 5, 5), verdict("b", 5, 5), verdict("c", 5, 5)])
    assert pearson(first, flat) == (None, 3)
    assert pearson(first, JudgeRun(RUBRIC, [verdict("a", 1, 1), verdict("b", 2, 2)])) == (None, 2)
