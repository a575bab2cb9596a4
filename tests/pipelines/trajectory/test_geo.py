import json

import pytest

from pipelines.core.errors import DomaintuneError
from pipelines.trajectory.geo import haversine_m, load_region, radius_of_gyration_m
from pipelines.trajectory.places import REGION_FILE


def test_haversine_one_degree_of_latitude_is_111_195_m():
    # 2 * pi * 6371008.8 m / 360 = 111195.08 m, anywhere along a meridian
    assert haversine_m(121.5, 31.0, 121.5, 32.0) == pytest.approx(111_195.08, abs=0.01)


def test_haversine_along_a_parallel_shrinks_with_latitude():
    # At 60 degrees a degree of longitude is about half of one at the equator (the chord arc differs by < 0.1%).
    assert haversine_m(0, 60, 1, 60) == pytest.approx(111_195.08 * 0.5, rel=1e-3)


def test_radius_of_gyration_of_two_points_is_half_their_distance():
    a, b = (121.50, 31.23), (121.50, 31.25)
    assert radius_of_gyration_m([a, b]) == pytest.approx(haversine_m(*a, *b) / 2, rel=1e-6)
    assert radius_of_gyration_m([a]) == 0


def square(x0, y0, size):
    return [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]


def test_multipolygon_with_a_hole(tmp_path):
    path = tmp_path / "area.geojson"
    geometry = {"type": "MultiPolygon", "coordinates": [[square(0, 0, 10), square(4, 4, 2)], [square(20, 0, 1)]]}
    path.write_text(json.dumps({"type": "Feature", "properties": {"name": "test"}, "geometry": geometry}))
    region = load_region(path)
    assert region.name == "test"
    assert region.contains(1, 1) and region.contains(20.5, 0.5)
    assert not region.contains(5, 5)  # in the hole
    assert not region.contains(15, 5)


def test_shipped_district_contains_its_landmarks_and_not_the_bund():
    region = load_region(REGION_FILE)
    assert region.contains(121.5055, 31.2335)  # 上海中心大厦
    assert not region.contains(121.4902, 31.2337)  # 外滩, across the river


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "cannot read GeoJSON"),
        ('{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}}]}', "no Polygon or MultiPolygon"),
        ('{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}', "a ring needs at least 4 positions"),
    ],
)
def test_bad_geojson_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    with pytest.raises(DomaintuneError, match=message) as err:
        load_region(path)
    assert str(err.value).startswith(str(path))
