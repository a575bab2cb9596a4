import json
import math

import pytest

from pipelines.restaurant.generate import (
    DUPLICATES,
    SAMPLE_SET,
    choose,
    expand,
    generate,
    haversine_m,
    load_table,
    nearby,
)


@pytest.fixture(scope="module")
def table():
    return load_table()


def test_haversine_one_degree_of_latitude():
    # One degree along a meridian is 2 * pi * R / 360 with R = 6371008.8 m.
    assert math.isclose(haversine_m(116.0, 39.0, 116.0, 40.0), 2 * math.pi * 6_371_008.8 / 360, rel_tol=1e-12)
    assert haversine_m(121.47, 31.23, 121.47, 31.23) == 0


def test_nearby_is_the_first_page_nearest_first(table):
    location = table["locations"][0]
    found = nearby(location, 3000)
    assert len(found) == 10 and [p["distance_m"] for p in found] == sorted(p["distance_m"] for p in found)
    first = found[0]  # 山河屯铁锅炖 was placed 342 m from 中国人民大学
    assert (first["name"], first["distance_m"]) == ("山河屯铁锅炖(双榆树店)", 342)
    assert set(first) == {"name", "address", "cuisine", "rating", "distance_m", "avg_price"}


def test_styles_expand_to_cuisines_once(table):
    assert expand(("东北菜", "大口吃肉", "无辣不欢"), table["styles"]) == ["东北菜", "西北菜", "新疆菜", "烧烤", "川菜", "湘菜", "火锅", "云南菜"]


def test_choose_prefers_taste_and_budget_within_the_radius():
    pois = [
        {"name": "far", "cuisine": "川菜", "avg_price": 100, "rating": 5.0, "distance_m": 2500},
        {"name": "cheap-other", "cuisine": "粤菜", "avg_price": 100, "rating": 4.9, "distance_m": 100},
        {"name": "tasty-dear", "cuisine": "川菜", "avg_price": 500, "rating": 4.0, "distance_m": 200},
        {"name": "both-low", "cuisine": "川菜", "avg_price": 120, "rating": 4.1, "distance_m": 900},
        {"name": "both-high", "cuisine": "川菜", "avg_price": 150, "rating": 4.6, "distance_m": 1500},
    ]
    assert [p["name"] for p in choose(pois, 2000, (100, 200), ["川菜"])] == ["both-high", "both-low", "tasty-dear"]


def test_generation_is_deterministic_and_seeded(table):
    assert generate(20, seed=3, table=table) == generate(20, seed=3, table=table)
    assert generate(20, seed=3, table=table) != generate(20, seed=4, table=table)


def test_records_carry_duplicates_and_answers_from_the_context(table):
    records = generate(60, seed=5, table=table)
    assert len(records) == 60 + 2 * DUPLICATES
    lowered = [{k.lower(): v for k, v in r.items()} for r in records]
    exact = len(records) - len({json.dumps(r, sort_keys=True, ensure_ascii=False) for r in lowered})
    assert exact == DUPLICATES
    for record in lowered:
        context = record["context"]
        names = {p["name"] for p in context["pois"] if p["distance_m"] <= context["radius_m"]}
        recommended = [n for n in names if n in record["answer"]]
        assert len(recommended) == min(3, len(names)), record["answer"]


def test_the_shipped_sample_set_is_what_the_generator_writes(table):
    shipped = [json.loads(line) for line in SAMPLE_SET.read_text(encoding="utf-8").splitlines()]
    assert shipped == generate(table=table), "regenerate: domaintune gen-restaurant -o data/raw/restaurant/agent_output.jsonl"


@pytest.mark.parametrize("n", [1, 3])
def test_fewer_records_than_duplicates_copy_each_record_once_of_each_kind(table, n):
    # `gen-restaurant --records 3` used to fail with "Sample larger than population" (exit 3).
    records = generate(n, seed=1, table=table)
    assert len(records) == 3 * n
    assert len({r.get("Question", r.get("question")) for r in records}) == 2 * n  # near copies respace the question
