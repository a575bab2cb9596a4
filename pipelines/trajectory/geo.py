"""Distances on the Earth and the district polygon: what the generator's travel times and the evaluator's
region, speed and population checks measure with."""

import json
import math
from dataclasses import dataclass
from pathlib import Path

from matplotlib.path import Path as PolygonPath

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
    """A (multi)polygon: each part is an outer ring with optional holes, as GeoJSON writes them."""

    name: str
    parts: tuple[tuple[PolygonPath, tuple[PolygonPath, ...]], ...]

    def contains(self, lon: float, lat: float) -> bool:
        return any(outer.contains_point((lon, lat)) and not any(h.contains_point((lon, lat)) for h in holes) for outer, holes in self.parts)

    def rings(self) -> list[list[tuple[float, float]]]:
        """Every ring's vertices, for drawing."""
        return [[tuple(v) for v in ring.vertices] for outer, holes in self.parts for ring in (outer, *holes)]


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
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    try:
        parts = tuple((ring_path(rings[0]), tuple(ring_path(r) for r in rings[1:])) for rings in polygons)
    except (TypeError, ValueError, IndexError) as exc:
        raise DomaintuneError(f"{path}: {geometry['type']} coordinates: {exc}") from None
    return Region(name or path.stem, parts)


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


def ring_path(ring: list) -> PolygonPath:
    vertices = [(float(lon), float(lat)) for lon, lat, *_ in ring]
    if len(vertices) < 4:
        raise ValueError(f"a ring needs at least 4 positions (closed), got {len(vertices)}")
    return PolygonPath(vertices)
