"""The grounding filter on hand-made answers: what is kept, and each reason to reject."""

import pytest

from pipelines.agent.quality import review

CONTEXT = {
    "location": {"name": "北京市五道口", "lng": 116.338096, "lat": 39.99256},
    "radius_m": 1000,
    "budget": [50, 100],
    "preferences": ["川菜"],
    "pois": [
        {"name": "南锣肥猫(五道口店)", "cuisine": "川菜", "rating": 4.5, "distance_m": 280, "avg_price": 60},
        {"name": "炙烧日本料理(五道口店)", "cuisine": "日料", "rating": 4.6, "distance_m": 380, "avg_price": 220},
        {"name": "胖妈烂锅面(清华东门店)", "cuisine": "川菜", "rating": 4.2, "distance_m": 1500, "avg_price": 35},
        {"name": "无价小馆", "cuisine": "湘菜", "distance_m": 300},
    ],
}


def record(answer: str, context: dict = CONTEXT) -> dict:
    return {"Instruction": "推荐餐厅", "Question": "我在北京市五道口，预算人均50-100元，偏好川菜。希望步行能到，1公里以内。",
            "Answer": answer, "context": context}


@pytest.mark.parametrize(("answer", "reasons"), [
    ("为您推荐以下1家餐厅：1. 南锣肥猫(五道口店) - 距离280米，人均60元。", []),
    ("为您推荐：\n1. 南锣肥猫 - 距离280米\n2. 无价小馆 - 距离300米", []),  # base name unique; an unknown price is not checked
    ("1. 南锣肥猫(五道口店) - 280米；2. 老北京涮肉(五道口店) - 500米", ["hallucinated"]),
    ("1. 胖妈烂锅面(清华东门店) - 距离1.50公里，人均35元", ["beyond_radius", "outside_budget"]),
    ("1. 南锣肥猫(五道口店)；2. 炙烧日本料理(五道口店) - 人均220元", ["outside_budget"]),
    ("1. 南锣肥猫(中关村店) - 距离280米", ["hallucinated"]),  # a wrong branch is not the restaurant
    ("抱歉，附近没有找到合适的餐厅。", ["no_recommendation"]),  # 南锣肥猫 fits
])
def test_answers_are_kept_or_rejected_by_reason(answer, reasons):
    assert review(record(answer), searched=True) == reasons


def test_nothing_suitable_is_a_right_answer_when_nothing_fits():
    nothing_fits = {**CONTEXT, "pois": CONTEXT["pois"][1:3]}  # too dear, too far
    assert review(record("抱歉，1公里内没有预算内的川菜馆，建议扩大范围。", nothing_fits), searched=True) == []
    assert review(record("抱歉，附近没有餐厅。", {**CONTEXT, "pois": []}), searched=True) == []


def test_no_answer_no_search_and_an_invalid_record():
    assert review(None, searched=True) == ["no_answer"]
    assert review(record("1. 南锣肥猫(五道口店)"), searched=False) == ["no_search"]
    bad = record("1. 南锣肥猫(五道口店)", {**CONTEXT, "pois": [{**CONTEXT["pois"][0], "rating": 7}]})  # a source's bad data
    assert review(bad, searched=True) == ["invalid_record: context.pois.0.rating: 7 is greater than the maximum of 5"]
