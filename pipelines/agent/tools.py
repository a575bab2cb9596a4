"""The agent's three map tools over a POI source, each call and its result kept in a `Recorder`.

One set of tools per question (`make_tools`), so concurrent questions never share a recorder. A tool answers
JSON text, which is what the model reads; the recorder keeps the same data as objects, from which the
record's `context` is built. A source that stops answering at all (`SourceUnavailable`) is recorded as fatal
and interrupts the agent: smolagents would otherwise show it to the model as one more tool error.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from smolagents import Tool

from pipelines.agent.pois import SORTS, PoiSource, SourceUnavailable, search


@dataclass
class Recorder:
    calls: list[dict] = field(default_factory=list)  # {"tool", "arguments", "result"} or {..., "error"}
    fatal: SourceUnavailable | None = None
    on_fatal: Callable[[], None] = lambda: None  # stops the agent

    def run(self, tool: str, arguments: dict, fn: Callable[[], dict]) -> str:
        call = {"tool": tool, "arguments": arguments}
        self.calls.append(call)
        try:
            call["result"] = fn()
        except SourceUnavailable as exc:
            call["error"] = str(exc)
            self.fatal = self.fatal or exc
            self.on_fatal()
            raise
        except ValueError as exc:  # a bad argument or a refused request: the model may correct it
            call["error"] = str(exc)
            raise
        return json.dumps(call["result"], ensure_ascii=False)


class MapTool(Tool):
    """A tool over the question's POI source whose calls go through its recorder."""

    def __init__(self, source: PoiSource, recorder: Recorder):
        super().__init__()
        self.source, self.recorder = source, recorder


class Geocode(MapTool):
    name = "geocode"
    description = "Find the coordinates (GCJ-02 lng, lat) of a place name, e.g. 北京市五道口. Returns {found, name, lng, lat, city}."
    inputs: ClassVar[dict] = {"place": {"type": "string", "description": "The place as the user wrote it."}}
    output_type = "string"

    def forward(self, place: str) -> str:
        def geocode() -> dict:
            found = self.source.geocode(place)
            if found is None:
                return {"found": False, "name": place}
            return {"found": True, "name": found.name, "lng": found.lng, "lat": found.lat, "city": found.city}

        return self.recorder.run(self.name, {"place": place}, geocode)


class SearchNearby(MapTool):
    name = "search_nearby"
    description = (
        "Search restaurants around a point, nearest first unless sorted otherwise. Returns {count, pois: [{id, name, "
        "address, cuisine, rating, avg_price (yuan per person), distance_m}]}; recommend only restaurants listed here."
    )
    inputs: ClassVar[dict] = {
        "lng": {"type": "number", "description": "Longitude from geocode."},
        "lat": {"type": "number", "description": "Latitude from geocode."},
        "radius_m": {"type": "integer", "description": "Search radius in metres, e.g. 2000."},
        "cuisine": {"type": "string", "description": "Only this cuisine, e.g. 川菜.", "nullable": True},
        "min_price": {"type": "number", "description": "Lowest average price per person in yuan.", "nullable": True},
        "max_price": {"type": "number", "description": "Highest average price per person in yuan.", "nullable": True},
        "sort": {"type": "string", "description": f"One of {', '.join(SORTS)} (default distance).", "nullable": True},
    }
    output_type = "string"

    def forward(self, lng: float, lat: float, radius_m: int, cuisine: str | None = None, min_price: float | None = None,
                max_price: float | None = None, sort: str | None = None) -> str:
        arguments = {"lng": lng, "lat": lat, "radius_m": radius_m, "cuisine": cuisine, "min_price": min_price,
                     "max_price": max_price, "sort": sort}

        def nearby() -> dict:
            found = search(self.source, lng, lat, radius_m, cuisine, min_price, max_price, sort or "distance")
            return {"count": len(found), "pois": [{**f.poi.fields(), "distance_m": f.distance_m} for f in found]}

        return self.recorder.run(self.name, {k: v for k, v in arguments.items() if v is not None}, nearby)


class PoiDetails(MapTool):
    name = "poi_details"
    description = "Details of one restaurant by the id search_nearby gave: {found, id, name, address, cuisine, rating, avg_price}."
    inputs: ClassVar[dict] = {"poi_id": {"type": "string", "description": "The restaurant's id."}}
    output_type = "string"

    def forward(self, poi_id: str) -> str:
        def details() -> dict:
            poi = self.source.details(poi_id)
            return {"found": False, "id": poi_id} if poi is None else {"found": True, **poi.fields()}

        return self.recorder.run(self.name, {"poi_id": poi_id}, details)


def make_tools(source: PoiSource, recorder: Recorder) -> list[Tool]:
    return [Geocode(source, recorder), SearchNearby(source, recorder), PoiDetails(source, recorder)]
