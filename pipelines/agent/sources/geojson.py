"""`--pois geojson:FILE` (or a file ending in .geojson): a FeatureCollection of Point features.

Each feature's properties are one row of recipes/schema/poi_feature.schema.json without lng and lat, which come
from the geometry's coordinates [lng, lat] in GCJ-02:

    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.3418, 39.9920]},
     "properties": {"name": "姥姥家春饼(五道口店)", "cuisine": "东北菜", "avg_price": 70, "rating": 4.4}}
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.3381, 39.9926]},
     "properties": {"kind": "place", "name": "北京市五道口", "city": "北京"}}
"""

import json
from collections.abc import Iterator
from pathlib import Path

from pipelines.agent.features import local_source
from pipelines.agent.pois import LocalSource
from pipelines.core.errors import DomaintuneError, RecordError
from pipelines.core.readers import read_text
from pipelines.core.registry import register_poi_source


@register_poi_source("geojson", example="geojson:my_city.geojson")
def open_geojson(arg: str | None) -> LocalSource:
    if not arg:
        raise DomaintuneError("--pois geojson needs a file: geojson:FILE")
    path = Path(arg)
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise RecordError(str(path), f"line {exc.lineno} column {exc.colno}", "-", f"not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        raise RecordError(str(path), "file", "type", "expected a GeoJSON FeatureCollection with a features list")
    return local_source(path, rows(path, data["features"]), "geojson")


def rows(path: Path, features: list) -> Iterator[tuple[str, dict]]:
    for number, feature in enumerate(features, start=1):
        where = f"feature {number}"
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            kind = geometry.get("type") if isinstance(geometry, dict) else "none"
            raise RecordError(str(path), where, "geometry", f"a POI is a Point feature (got {kind})")
        coordinates = geometry.get("coordinates")
        if not isinstance(coordinates, list) or len(coordinates) < 2:
            raise RecordError(str(path), where, "geometry.coordinates", "expected [lng, lat]")
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            raise RecordError(str(path), where, "properties", "expected an object")
        yield where, {**properties, "lng": coordinates[0], "lat": coordinates[1]}
