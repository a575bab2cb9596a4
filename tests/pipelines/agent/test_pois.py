"""Sources by name or by file suffix, and the search every source shares: radius, cuisine, price range, sort."""

import pytest

from pipelines.agent.pois import (
    Found,
    LocalSource,
    Place,
    Poi,
    open_source,
    search,
    stable_id,
)
from pipelines.core.errors import DomaintuneError

CENTRE = Place("测试广场", 116.0, 40.0, "北京")
# 0.001 degrees of latitude is 111 m; these sit due north of the centre.
POIS = [
    Poi("a", "甲川菜(一店)", 116.0, 40.001, "一号", "川菜", 4.2, 80),
    Poi("b", "乙粤菜(二店)", 116.0, 40.002, "二号", "粤菜", 4.8, 150),
    Poi("c", "丙川菜(三店)", 116.0, 40.003, "三号", "川菜", 4.5, None),
    Poi("d", "丁西餐(四店)", 116.0, 40.03, "四号", "西餐", 4.9, 300),
]


@pytest.fixture
def source() -> LocalSource:
    return LocalSource("test", [CENTRE, Place("北京市五道口", 116.3, 40.0)], POIS)


def names(found: list[Found]) -> list[str]:
    return [f.poi.id for f in found]


def test_search_keeps_the_radius_and_orders_nearest_first(source):
    found = search(source, 116.0, 40.0, 500)
    assert names(found) == ["a", "b", "c"]
    assert [f.distance_m for f in found] == [111, 222, 334]  # haversine, rounded


def test_cuisine_price_and_sort(source):
    assert names(search(source, 116.0, 40.0, 500, cuisine="川菜")) == ["a", "c"]
    # A price range keeps only known prices inside it: c's price is unknown.
    assert names(search(source, 116.0, 40.0, 500, min_price=50, max_price=100)) == ["a"]
    assert names(search(source, 116.0, 40.0, 5000, sort="rating")) == ["d", "b", "c", "a"]
    assert names(search(source, 116.0, 40.0, 5000, sort="price")) == ["a", "b", "d", "c"]
    with pytest.raises(ValueError, match="sort must be one of distance, rating, price"):
        search(source, 116.0, 40.0, 500, sort="stars")


def test_search_returns_one_page(source):
    many = LocalSource("many", [], [Poi(str(i), f"店{i}", 116.0, 40.0 + i * 1e-5, cuisine="川菜") for i in range(15)])
    assert len(search(many, 116.0, 40.0, 1000)) == 10


def test_geocode_matches_a_unique_part_of_a_name(source):
    assert source.geocode("五道口").name == "北京市五道口"
    assert source.geocode("北京市五道口 ").name == "北京市五道口"
    assert source.geocode("北京市五道口地铁站").name == "北京市五道口"
    assert source.geocode("北京") is None  # a city is no place
    assert source.geocode("望京") is None
    twins = LocalSource("twins", [Place("北京市国贸", 116.4, 39.9), Place("上海市国贸", 121.4, 31.2)], POIS)
    assert twins.geocode("国贸") is None and twins.geocode("上海市国贸").lng == 121.4


def test_details_and_the_fields_shown(source):
    assert source.details("c").fields() == {"id": "c", "name": "丙川菜(三店)", "address": "三号", "cuisine": "川菜", "rating": 4.5}
    assert source.details("zz") is None


def test_open_source_by_name_and_suffix(tmp_path):
    assert open_source("table").description == "table data/restaurant/pois.yaml"
    with pytest.raises(DomaintuneError, match=r"unknown POI source 'osm'; POI sources are: amap, csv, geojson, table"):
        open_source("osm")
    with pytest.raises(DomaintuneError, match=r"--pois pois\.txt: a file must end in \.geojson, \.csv, \.yaml, \.yml"):
        open_source("pois.txt")
    with pytest.raises(DomaintuneError, match="cannot read YAML"):
        open_source(str(tmp_path / "missing.yaml"))


def test_ids_are_stable():
    assert stable_id("甲", 116.0, 40.0) == stable_id("甲", 116.0000001, 40.0) != stable_id("乙", 116.0, 40.0)
