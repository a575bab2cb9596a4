"""What a POI source is: places to geocode, restaurants around a point, one restaurant's details by id.

Coordinates are GCJ-02 (the datum of Amap and of the shipped table data/restaurant/pois.yaml). WGS-84 (GPS,
OpenStreetMap) lies about 500 m away in Chinese cities: a file in WGS-84 works on its own, since its places and
restaurants share the datum, but must never be mixed with Amap's coordinates.

Sources are registered by name (`pipelines/agent/sources/`, `core.registry.POI_SOURCES`); each is a factory
taking the text after `NAME:` in `--pois NAME:ARG` (a file, a base URL) and returning a `PoiSource`. The
in-memory sources (table, GeoJSON, CSV) share `LocalSource`; the price filter and the sort orders are applied
here, once, for every source.
"""

import hashlib
from dataclasses import asdict, dataclass
from typing import Protocol

from evaluators.restaurant_grounding import fold
from pipelines.core.errors import DomaintuneError
from pipelines.core.registry import POI_SOURCES
from pipelines.restaurant.generate import PAGE_SIZE, haversine_m

SORTS = ("distance", "rating", "price")
# A bare file name picks its source by suffix: `--pois my_city.geojson`.
SOURCE_BY_SUFFIX = {".geojson": "geojson", ".csv": "csv", ".yaml": "table", ".yml": "table"}


@dataclass(frozen=True)
class Place:
    name: str
    lng: float
    lat: float
    city: str = ""


@dataclass(frozen=True)
class Poi:
    id: str
    name: str
    lng: float
    lat: float
    address: str = ""
    cuisine: str = ""
    rating: float | None = None
    avg_price: float | None = None  # yuan per person

    def fields(self) -> dict:
        """What the tools show the agent and the record keeps: no coordinates, nothing unknown."""
        keep = ("id", "name", "address", "cuisine", "rating", "avg_price")
        return {key: value for key, value in asdict(self).items() if key in keep and value not in (None, "")}


@dataclass(frozen=True)
class Found:
    poi: Poi
    distance_m: int  # from the search centre


class SourceUnavailable(DomaintuneError):
    """The POI source cannot answer at all (unreachable, key refused, quota spent): the run stops."""


class PoiSource(Protocol):
    description: str  # names the source in messages: "table data/restaurant/pois.yaml"

    def geocode(self, place: str) -> Place | None: ...

    def around(self, lng: float, lat: float, radius_m: int, cuisine: str | None) -> list[Found]:
        """Restaurants within radius_m of the point, nearest first; with a cuisine, only those of it."""

    def details(self, poi_id: str) -> Poi | None: ...

    def places(self) -> list[Place]:
        """Named places questions can start from; [] for a source that cannot list them (a web API)."""

    def cuisines(self) -> list[str]: ...


def open_source(spec: str) -> PoiSource:
    """`table`, `table:FILE`, `geojson:FILE`, `csv:FILE`, `amap`, `amap:BASE_URL`, or a file by its suffix."""
    name, _, arg = spec.partition(":")
    if not arg and "." in name:
        suffix = "." + name.rsplit(".", 1)[1].lower()
        if suffix not in SOURCE_BY_SUFFIX:
            raise DomaintuneError(f"--pois {spec}: a file must end in {', '.join(SOURCE_BY_SUFFIX)}, or name its source as NAME:FILE")
        name, arg = SOURCE_BY_SUFFIX[suffix], spec
    return POI_SOURCES.get(name).fn(arg or None)


def search(source: PoiSource, lng: float, lat: float, radius_m: int, cuisine: str | None = None,
           min_price: float | None = None, max_price: float | None = None, sort: str = "distance",
           limit: int = PAGE_SIZE) -> list[Found]:
    """The nearby search the agent calls: a price range keeps only restaurants whose price is known and in it."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    found = source.around(lng, lat, radius_m, cuisine or None)
    if min_price is not None or max_price is not None:
        low, high = min_price or 0, float("inf") if max_price is None else max_price
        found = [f for f in found if f.poi.avg_price is not None and low <= f.poi.avg_price <= high]
    if sort == "rating":
        found = sorted(found, key=lambda f: (-(f.poi.rating or 0), f.distance_m))
    elif sort == "price":
        found = sorted(found, key=lambda f: (f.poi.avg_price is None, f.poi.avg_price or 0, f.distance_m))
    return found[:limit]


def stable_id(name: str, lng: float, lat: float) -> str:
    """The same restaurant gets the same id in every run and every file that places it at the same point."""
    return "L" + hashlib.sha1(f"{name}|{lng:.6f}|{lat:.6f}".encode()).hexdigest()[:10]


class LocalSource:
    """Places and restaurants held in memory, searched by great-circle distance."""

    def __init__(self, description: str, places: list[Place], pois: list[Poi]):
        self.description = description
        self._places = places
        self._pois = {poi.id: poi for poi in pois}  # the same restaurant listed under two places counts once

    def geocode(self, place: str) -> Place | None:
        # A user writes 五道口 where the table says 北京市五道口, or 五道口地铁站: a unique match of the name without
        # its city, or of the name inside the text, is good enough; the city alone (北京) is no place.
        wanted = fold(place)
        exact = [p for p in self._places if fold(p.name) == wanted]
        partial = [p for p in self._places if wanted and (fold(p.name).endswith(wanted) or fold(p.name) in wanted)]
        found = exact or partial
        return found[0] if len(found) == 1 else None

    def around(self, lng: float, lat: float, radius_m: int, cuisine: str | None) -> list[Found]:
        found = []
        for poi in self._pois.values():
            if cuisine and fold(cuisine) not in fold(poi.cuisine):
                continue
            distance = round(haversine_m(lng, lat, poi.lng, poi.lat))
            if distance <= radius_m:
                found.append(Found(poi, distance))
        return sorted(found, key=lambda f: (f.distance_m, f.poi.name))

    def details(self, poi_id: str) -> Poi | None:
        return self._pois.get(poi_id)

    def places(self) -> list[Place]:
        return list(self._places)

    def cuisines(self) -> list[str]:
        return sorted({poi.cuisine for poi in self._pois.values() if poi.cuisine})
