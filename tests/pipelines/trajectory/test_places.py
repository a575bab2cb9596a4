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


@pytest.mark.parametrize(
    ("name", "point", "rule", "matched"),
    [
        ("上海中心大厦", (121.5055, 31.2335), "name", "上海中心大厦"),
        ("星巴克（上海中心店）", (121.5051, 31.2331), "name", "星巴克(上海中心店)"),
        ("IFC商场", (121.5020, 31.2365), "alias", "上海国金中心商场"),
        ("国金中心商场", (121.5020, 31.2365), "normalised", "上海国金中心商场"),
        ("上海市正大广场购物中心", (121.4987, 31.2373), "normalised", "正大广场"),
        ("星巴克(陆家嘴店)", (121.5051, 31.2331), "normalised", "星巴克(上海中心店)"),  # another branch: the nearest of the chain
        ("瑞幸咖啡陆家嘴店", (121.5071, 31.2343), "normalised", "瑞幸咖啡(环球金融中心店)"),
        ("楼下的面馆", (121.5058, 31.2355), "nearest", "金茂君悦大酒店餐厅"),  # 10 m from it, 22 m from 金茂大厦
    ],
)
def test_match_tries_name_alias_normalised_then_nearest(name, point, rule, matched):
    match = load_places().match(name, *point, tolerance_m=300)
    assert (match.rule, match.place.name) == (rule, matched)


def test_match_gives_the_distance_and_none_when_nothing_is_near():
    table = load_places()
    far = table.match("陆家嘴站", 121.5027, 31.2417, tolerance_m=300)  # a name match is kept however far: place_known judges it
    assert (far.rule, round(far.metres)) == ("name", 400)
    assert table.match("无名小馆", 121.5150, 31.2300, tolerance_m=300) is None
    assert table.match("无名小馆", 121.5150, 31.2300, tolerance_m=600).rule == "nearest"


def test_normaliser_drops_brackets_then_one_prefix_and_one_suffix():
    normalise = load_places().normaliser
    assert normalise("上海国金中心商场") == normalise("国金中心商场") == normalise("国金中心") == "国金中心"
    assert normalise("星巴克（上海中心店）") == "星巴克"
    assert normalise("大厦") == "大厦"  # never to nothing
