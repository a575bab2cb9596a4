"""A user's GeoJSON of places and restaurants; a bad feature is one line naming file, feature and field."""

import json

import pytest

from pipelines.agent.pois import open_source, stable_id
from pipelines.core.errors import DomaintuneError, RecordError


def feature(lng, lat, **properties) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lng, lat]}, "properties": properties}


def write(tmp_path, features, name="city.geojson"):
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8")
    return path


GOOD = [
    feature(116.3381, 39.9926, kind="place", name="北京市五道口", city="北京"),
    feature(116.3419, 39.9920, name="姥姥家春饼(五道口店)", cuisine="东北菜", avg_price=70, rating=4.4, address="成府路23号"),
    feature(116.3400, 39.9930, id="B0001", name="无名面馆", cuisine="面食"),
]


def test_places_and_restaurants(tmp_path):
    source = open_source(str(write(tmp_path, GOOD)))
    assert source.description == f"geojson {tmp_path / 'city.geojson'}"
    place = source.geocode("五道口")
    found = source.around(place.lng, place.lat, 1000, None)
    # By hand: 0.0019 deg of longitude at 40N is 162 m, 0.0004 of latitude 44 m -> 168 m; 324 and 67 m -> 331 m.
    assert [(f.poi.id, f.poi.name, f.distance_m) for f in found] == [
        ("B0001", "无名面馆", 168), (stable_id("姥姥家春饼(五道口店)", 116.3419, 39.9920), "姥姥家春饼(五道口店)", 331)]
    assert found[1].poi.avg_price == 70 and found[0].poi.avg_price is None
    assert source.cuisines() == ["东北菜", "面食"]


@pytest.mark.parametrize(("features", "message"), [
    ([*GOOD, feature(116.3, 39.9, name="缺菜系")], "feature 4: cuisine: 'cuisine' is a required property"),
    ([*GOOD, feature(116.3, 39.9, name="甲", cuisine="川菜", avg_prce=20)], "feature 4: (record): Additional properties are not allowed ('avg_prce' was unexpected)"),
    ([*GOOD, feature(216.3, 39.9, name="甲", cuisine="川菜")], "feature 4: lng: 216.3 is greater than the maximum of 180"),
    ([{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": []}, "properties": {}}], "feature 1: geometry: a POI is a Point feature (got Polygon)"),
    ([*GOOD, feature(116.34, 39.993, id="B0001", name="重复", cuisine="面食")], "feature 4: id: restaurant B0001 is listed twice"),
])
def test_a_bad_feature_is_named(tmp_path, features, message):
    path = write(tmp_path, features)
    with pytest.raises(RecordError) as caught:
        open_source(f"geojson:{path}")
    assert str(caught.value) == f"{path}: {message}"


def test_not_a_feature_collection(tmp_path):
    path = tmp_path / "x.geojson"
    path.write_text('{"type": "Feature"}', encoding="utf-8")
    with pytest.raises(RecordError, match=r"x.geojson: file: type: expected a GeoJSON FeatureCollection"):
        open_source(str(path))
    with pytest.raises(DomaintuneError, match="no restaurants"):
        open_source(str(write(tmp_path, GOOD[:1])))
