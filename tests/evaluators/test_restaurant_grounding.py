import json

import pytest

from evaluators.restaurant_grounding import (
    find_poi,
    grounding,
    nearest_three,
    parse_names,
)


@pytest.fixture
def case(fixtures):
    return json.loads((fixtures / "restaurant" / "grounding.json").read_text(encoding="utf-8"))


# Names each fixture answer recommends, read by hand (A..E = the five POIs in context order, X/H = not in it).
EXPECTED_NAMES = [
    ["山河屯铁锅炖(双榆树店)", "东北人家(人民大学店)", "聚点串吧(人大西门店)"],
    ["山河屯铁锅炖(双榆树店)", "眉州东坡(中关村店)"],  # full-width parentheses fold to half-width
    ["山河屯铁锅炖(双榆树店)", "老北京炸酱面大王(人大店)", "东北人家(人民大学店)"],
    ["将太无二(新中关店)", "东北人家(人民大学店)"],
    ["眉州东坡(中关村店)", "聚点串吧(人大西门店)"],
    ["山河屯铁锅炖(中关村店)"],
    ["东北人家", "将太无二"],
    [],
    ["山河屯铁锅炖(双榆树店)", "聚点串吧(人大西门店)"],
    ["海底捞火锅(双安商场店)", "山河屯铁锅炖(双榆树店)"],  # the repeat counts once
]


def test_parse_names_reads_every_list_style(case):
    assert [parse_names(a["answer"]) for a in case["answers"]] == EXPECTED_NAMES


def test_ratings_and_distances_are_not_list_markers():
    assert parse_names("1. 甲(一店) - 评分4.6，距离1.45公里；2. 乙 - 人均12元") == ["甲(一店)", "乙"]


def test_a_stray_number_does_not_start_a_list():
    assert parse_names("附近(2)家都不错：1. 甲；2. 乙") == ["甲", "乙"]


def test_thinking_is_ignored():
    assert parse_names("<think>1. 想想看</think>1. 甲(一店)") == ["甲(一店)"]


def test_grounding_on_the_hand_checked_fixture(case):
    metrics = grounding([a["answer"] for a in case["answers"]], [case["context"]] * 10)
    # Per answer (names / grounded / radius ok / budget ok / cuisine ok / hallucinated), radius 1000 m,
    # budget 50-150, preferences 东北菜 川菜; A 342 m 128元 东北, B 1450 m 川, C 800 m 180元 日料, D 520 m 东北, E 760 m 烧烤:
    #  1: ADE 3/3/3/3/2/no   2: AB 2/2/1/2/2/no   3: AXD 3/2/2/2/2/yes   4: CD 2/2/2/1/1/no
    #  5: BE 2/2/1/2/1/no    6: A' 1/0/-/-/-/yes  7: DC 2/2/2/1/1/no     8: none 0/0/no
    #  9: AE 2/2/2/2/1/no   10: HA 2/1/1/1/1/yes
    assert metrics == {
        "answers": 10,
        "named": 9,
        "names": 19,
        "poi_grounded": 16 / 19,
        "within_radius": 14 / 16,
        "within_budget": 14 / 16,
        "cuisine_match": 11 / 16,
        "hallucinated": 3 / 10,
        # Over all ten prompts, each its own share; 6 (no grounded name) and 8 (no name) score 0 on every rate:
        # grounded 1+1+2/3+1+1+0+1+0+1+1/2, radius 1+1/2+1+1+1/2+0+1+0+1+1, budget 1+1+1+1/2+1+0+1/2+0+1+1,
        # cuisine 2/3+1+1+1/2+1/2+0+1/2+0+1/2+1.
        "answered": 9 / 10,
        "poi_grounded_all": pytest.approx(43 / 60),
        "within_radius_all": 7 / 10,
        "within_budget_all": 7 / 10,
        "cuisine_match_all": pytest.approx(17 / 30),
    }


def test_over_all_prompts_a_refusal_scores_0_and_a_prompt_without_pois_is_not_counted():
    context = {"radius_m": 500, "pois": [{"name": "甲", "distance_m": 100}]}
    metrics = grounding(["1. 甲", "抱歉，我无法推荐。", "抱歉，附近没有餐厅。"], [context, context, {"pois": []}])
    assert (metrics["answers"], metrics["answered"], metrics["poi_grounded"], metrics["poi_grounded_all"]) == (3, 1 / 2, 1.0, 1 / 2)
    assert metrics["within_radius_all"] == 1 / 2
    # No budget or preferences in the context: those rates cannot be checked on any prompt, refusal or not.
    assert metrics["within_budget_all"] is None and metrics["cuisine_match_all"] is None


def test_a_base_name_matches_only_when_one_branch_has_it():
    pois = [{"name": "海底捞火锅(国贸店)", "distance_m": 1}, {"name": "海底捞火锅(双井店)", "distance_m": 2}, {"name": "局气(三里屯店)", "distance_m": 3}]
    assert find_poi("海底捞火锅", pois) is None
    assert find_poi("局气", pois)["name"] == "局气(三里屯店)"
    assert find_poi("局气（三里屯店）", pois)["name"] == "局气(三里屯店)"
    assert find_poi("局气(国贸店)", pois) is None


def test_missing_context_fields_leave_their_rate_unknown():
    context = {"pois": [{"name": "甲", "distance_m": 100}]}
    metrics = grounding(["1. 甲"], [context])
    assert metrics["poi_grounded"] == 1.0
    assert metrics["within_radius"] is None and metrics["within_budget"] is None and metrics["cuisine_match"] is None


def test_nearest_three_baseline_is_scored_like_any_answer(case):
    answer = nearest_three(case["context"])
    assert parse_names(answer) == ["山河屯铁锅炖(双榆树店)", "东北人家(人民大学店)", "聚点串吧(人大西门店)"]
    metrics = grounding([answer], [case["context"]])
    # A, D, E: all in radius and budget; 聚点串吧 is 烧烤, not a preference.
    assert (metrics["poi_grounded"], metrics["within_radius"], metrics["within_budget"], metrics["cuisine_match"]) == (1.0, 1.0, 1.0, 2 / 3)
    assert metrics["hallucinated"] == 0.0
