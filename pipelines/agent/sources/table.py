"""`--pois table[:FILE]`: a POI table in the shipped format (default: data/restaurant/pois.yaml).

Schema recipes/schema/pois.schema.json: locations users ask from, each with the restaurants around it; all
coordinates GCJ-02. A user's own YAML of POIs is a table in the same format.
"""

from pathlib import Path

from pipelines.agent.pois import LocalSource, Place, Poi, stable_id
from pipelines.core.paths import relative
from pipelines.core.registry import register_poi_source
from pipelines.restaurant.generate import POI_TABLE, load_table


@register_poi_source("table", example="table:data/restaurant/pois.yaml")
def open_table(arg: str | None) -> LocalSource:
    path = Path(arg) if arg else POI_TABLE
    table = load_table(path)
    places = [Place(loc["name"], loc["lng"], loc["lat"], loc["city"]) for loc in table["locations"]]
    pois = [
        Poi(stable_id(p["name"], p["lng"], p["lat"]), p["name"], p["lng"], p["lat"], p["address"], p["cuisine"],
            p["rating"], p["avg_price"])
        for loc in table["locations"] for p in loc["pois"]
    ]
    return LocalSource(f"table {relative(path)}", places, pois)
