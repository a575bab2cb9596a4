"""Distances on the Earth and the district polygon: what the generator's travel times and the evaluator's
region, speed and population checks measure with."""

import json
import math
from dataclasses import dataclass
from pathlib import Path

import shapely
import shapely.validation
from shapely.geometry import MultiPolygon, Point, Polygon, shape

from pipelines.core.errors import DomaintuneError

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG); the district is small enough for a sphere


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two (longitude, latitude) points in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((phi2 - phi1) / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def radius_of_gyration_m(points: list[tuple[float, float]]) -> float:
    """Root-mean-square distance of the points from their centroid (one point per visit, as in mobility studies)."""
    lon = sum(p[0] for p in points) / len(points)
    lat = sum(p[1] for p in points) / len(points)
    return math.sqrt(sum(haversine_m(x, y, lon, lat) ** 2 for x, y in points) / len(points))


@dataclass(frozen=True)
class Region:
    """A district: a shapely Polygon or MultiPolygon (outer rings with optional holes, as GeoJSON writes them)."""

    name: str
    shape: Polygon | MultiPolygon

    def contains(self, lon: float, lat: float) -> bool:
        """Inside or on the boundary: a place drawn on the district's edge belongs to it."""
        return self.shape.covers(Point(lon, lat))

    def rings(self) -> list[list[tuple[float, float]]]:
        """Every ring's vertices, for drawing."""
        polygons = self.shape.geoms if isinstance(self.shape, MultiPolygon) else [self.shape]
        return [list(ring.coords) for polygon in polygons for ring in (polygon.exterior, *polygon.interiors)]


def load_region(path: Path) -> Region:
    """The first Polygon or MultiPolygon of a GeoJSON file (a bare geometry, a Feature or a FeatureCollection)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DomaintuneError(f"{path}: cannot read GeoJSON: {exc}") from None
    geometry, name = find_polygon(data)
    if geometry is None:
        raise DomaintuneError(f"{path}: no Polygon or MultiPolygon geometry found")
    try:
        rings = [ring for polygon in ([geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]) for ring in polygon]
        short = next((len(ring) for ring in rings if len(ring) < 4), None)
        if short is not None:
            raise ValueError(f"a ring needs at least 4 positions (closed), got {short}")
        region = shape(geometry)
    except (TypeError, ValueError, IndexError, KeyError, shapely.errors.ShapelyError) as exc:
        raise DomaintuneError(f"{path}: {geometry['type']} coordinates: {exc}") from None
    if not region.is_valid:
        raise DomaintuneError(f"{path}: {geometry['type']} is not a valid polygon ({shapely.validation.explain_validity(region)}); fix its rings")
    return Region(name or path.stem, region)


def find_polygon(data: dict) -> tuple[dict | None, str]:
    kind = data.get("type") if isinstance(data, dict) else None
    if kind in ("Polygon", "MultiPolygon"):
        return data, ""
    if kind == "Feature":
        geometry, _ = find_polygon(data.get("geometry") or {})
        return geometry, str((data.get("properties") or {}).get("name", ""))
    if kind == "FeatureCollection":
        for feature in data.get("features", []):
            geometry, name = find_polygon(feature)
            if geometry is not None:
                return geometry, name
    return None, ""
