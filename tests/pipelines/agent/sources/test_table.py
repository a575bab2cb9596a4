"""The shipped table and a user's YAML in its format."""

import pytest
import yaml

from pipelines.agent.pois import open_source
from pipelines.core.errors import DomaintuneError
from pipelines.restaurant.generate import POI_TABLE


def test_the_shipped_table_lists_its_places_and_restaurants():
    source = open_source("table")
    table = yaml.safe_load(POI_TABLE.read_text(encoding="utf-8"))
    assert [p.name for p in source.places()] == [loc["name"] for loc in table["locations"]]
    listed = {(p["name"], p["lng"], p["lat"]) for loc in table["locations"] for p in loc["pois"]}
    found = search_all(source)
    assert found == listed
    place = source.geocode("五道口")
    assert (place.lng, place.lat, place.city) == (116.338096, 39.99256, "北京")


def search_all(source) -> set:
    return {(f.poi.name, f.poi.lng, f.poi.lat) for place in source.places() for f in source.around(place.lng, place.lat, 50_000, None)}


def test_a_users_yaml_in_the_table_format(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"search_radius_m": 2000, "styles": {}, "locations": [{
        "name": "杭州市西湖", "city": "杭州", "lng": 120.15, "lat": 30.25, "pois": [
            {"name": f"店{i}", "address": "湖滨路", "cuisine": "杭帮菜", "rating": 4.5, "avg_price": 90, "lng": 120.15, "lat": 30.25 + i / 1000}
            for i in range(3)]}]}, allow_unicode=True), encoding="utf-8")
    for spec in (f"table:{path}", str(path)):
        source = open_source(spec)
        assert source.cuisines() == ["杭帮菜"] and source.geocode("西湖").city == "杭州"


def test_a_bad_table_names_the_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("search_radius_m: 2000\nstyles: {}\nlocations: [{name: x, city: y, lng: 500, lat: 1, pois: []}]\n", encoding="utf-8")
    with pytest.raises(DomaintuneError, match=r"bad.yaml: invalid pois:\n  locations.0.lng: 500 is greater than the maximum of 180"):
        open_source(str(path))
