import json

import pytest

from evaluators.trajectory_checks import World, check_day
from pipelines.core.errors import DomaintuneError
from pipelines.core.schema import load_yaml_validated
from pipelines.trajectory.generate import (
    SAMPLE_SET,
    generate_days,
    load_templates,
    travel_minutes,
    write_days,
)
from pipelines.trajectory.geo import load_region
from pipelines.trajectory.grammar import parse, render
from pipelines.trajectory.places import REGION_FILE, RULES_FILE, Place, load_places


def test_same_seed_same_days_and_a_longer_set_extends_a_shorter_one():
    assert generate_days(7, seed=5) == generate_days(12, seed=5)[:7]
    assert generate_days(7, seed=5) != generate_days(7, seed=6)


def test_personas_take_turns():
    personas = list(load_templates().personas)
    assert [day.persona for day in generate_days(10)] == personas * 2


def test_travel_time_walks_short_legs_and_rides_long_ones():
    a = Place("a", "park", 121.50, 31.230)
    # 0.009 degrees of latitude = 1000.8 m: 13.3 min on foot at 4.5 km/h, rounded up to 15
    assert travel_minutes(a, Place("b", "park", 121.50, 31.239)) == 15
    # 0.027 degrees = 3002 m: 5 min + 12.0 min at 15 km/h = 17.0, rounded up to 20
    assert travel_minutes(a, Place("c", "park", 121.50, 31.257)) == 20
    assert travel_minutes(a, a) == 0


def test_every_generated_day_passes_every_check():
    world = World(load_places(), load_region(REGION_FILE), load_yaml_validated(RULES_FILE, "trajectory_rules")["personas"])
    failures = {i: r.problems for i, day in enumerate(generate_days(500, seed=11)) if (r := check_day(i, render(day), world)).failed}
    assert failures == {}


def test_days_are_realistic_in_timing():
    for day in generate_days(100, seed=2):
        assert all(a.start % 5 == 0 and a.end % 5 == 0 for a in day.activities)
        assert 6 * 60 <= day.activities[0].start <= 10 * 60
        assert 12 * 60 <= day.activities[-1].end <= 24 * 60


def test_committed_sample_set_is_what_the_generator_writes(tmp_path):
    assert write_days(tmp_path / "days.json") == 300
    assert (tmp_path / "days.json").read_bytes() == SAMPLE_SET.read_bytes()
    records = json.loads(SAMPLE_SET.read_text(encoding="utf-8"))
    assert {r["input"] for r in records} == {"请生成陆家嘴内一位人士的一天活动轨迹。"}
    assert all(parse(r["output"]) for r in records)


def test_an_anchor_used_before_its_place_types_is_named(tmp_path):
    path = tmp_path / "templates.yaml"
    path.write_text(
        "personas:\n  居民:\n    genders: [女]\n    occupations: [{name: 退休教师, age: [60, 70]}]\n"
        "    steps:\n      - {activity: 居家, anchor: home, minutes: [30, 60], start: ['07:00', '08:00']}\n"
        "    comments: [好]\n",
        encoding="utf-8",
    )
    with pytest.raises(DomaintuneError, match=rf"^{path}: personas\.居民\.steps\.0: anchor 'home' is used before a step gives its place_types"):
        generate_days(1, templates=load_templates(path))
