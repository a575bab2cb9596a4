"""A user's CSV of places and restaurants: numbers parsed, empty cells missing, a bad row named by line."""

import pytest

from pipelines.agent.pois import open_source
from pipelines.core.errors import RecordError

HEADER = "kind,name,lng,lat,city,address,cuisine,rating,avg_price\n"
ROWS = ("place,北京市五道口,116.338096,39.99256,北京,,,,\n"
        ",姥姥家春饼(五道口店),116.341911,39.992045,,成府路23号,东北菜,4.4,70\n"
        "restaurant,南锣肥猫(五道口店),116.341333,39.992997,,,川菜,,\n")


def test_rows_become_places_and_restaurants(tmp_path):
    path = tmp_path / "city.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    source = open_source(str(path))
    place = source.geocode("五道口")
    found = source.around(place.lng, place.lat, 1000, None)
    assert [(f.poi.name, f.distance_m, f.poi.rating, f.poi.avg_price) for f in found] == [
        ("南锣肥猫(五道口店)", 280, None, None), ("姥姥家春饼(五道口店)", 330, 4.4, 70.0)]


@pytest.mark.parametrize(("row", "message"), [
    (",甲,116.3,39.9,,,川菜,五星,\n", "line 5: rating: '五星' is not of type 'number'"),
    (",甲,116.3,39.9,,,川菜,4,50,extra\n", "line 5: -: 1 more cell(s) than the header has columns"),
    ("shop,甲,116.3,39.9,,,川菜,,\n", "line 5: kind: 'shop' is not one of ['restaurant', 'place']"),
])
def test_a_bad_row_is_named_by_line(tmp_path, row, message):
    path = tmp_path / "city.csv"
    path.write_text(HEADER + ROWS + row, encoding="utf-8")
    with pytest.raises(RecordError) as caught:
        open_source(f"csv:{path}")
    assert str(caught.value) == f"{path}: {message}"
