import pytest

from pipelines.core.errors import DomaintuneError
from pipelines.core.schema import load_yaml_validated
from pipelines.trajectory.geo import load_region
from pipelines.trajectory.places import REGION_FILE, RULES_FILE, load_places


def test_lookup_by_name_alias_and_full_width_spelling():
    table = load_places()
    assert table.lookup("上海中心大厦").type == "office"
    assert table.lookup("陆家嘴地铁站").name == "陆家嘴站"
    assert table.lookup("国金中心IFC").name == "上海国金中心商场"
    assert table.lookup("星巴克（上海中心店）").name == "星巴克(上海中心店)"
    assert table.lookup("ifc商场").name == "上海国金中心商场"
    assert table.lookup("外滩") is None


def test_every_shipped_place_lies_in_the_shipped_district():
    region = load_region(REGION_FILE)
    assert [p.name for p in load_places().places if not region.contains(p.lon, p.lat)] == []


def test_every_place_type_a_rule_names_exists_in_the_table():
    types = {p.type for p in load_places().places}
    rules = load_yaml_validated(RULES_FILE, "trajectory_rules")["personas"]
    named = {t for persona in rules.values() for rule in persona["rules"] for t in rule.get("place_types", [])}
    assert named <= types


def test_a_name_used_twice_is_refused(tmp_path):
    path = tmp_path / "places.yaml"
    path.write_text("places:\n  - {name: A, type: park, lon: 121.5, lat: 31.2}\n  - {name: B, type: mall, lon: 121.5, lat: 31.2, aliases: [a]}\n")
    with pytest.raises(DomaintuneError, match=r"places\.1: name 'a' is already used by places\.0"):
        load_places(path)


def test_a_bad_type_names_the_field(tmp_path):
    path = tmp_path / "places.yaml"
    path.write_text("places:\n  - {name: A, type: castle, lon: 121.5, lat: 31.2}\n")
    with pytest.raises(DomaintuneError, match=r"places\.0\.type: 'castle' is not one of"):
        load_places(path)
