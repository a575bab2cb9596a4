"""Flat POI files (GeoJSON, CSV): rows checked against recipes/schema/poi_feature.schema.json, then a LocalSource.

A bad row is one line naming the file, the feature or line (1-based) and the field.
"""

from collections.abc import Iterable
from pathlib import Path

import jsonschema

from pipelines.agent.pois import LocalSource, Place, Poi, stable_id
from pipelines.core.errors import DomaintuneError, RecordError
from pipelines.core.schema import first_schema_error, load_schema


def local_source(path: Path, rows: Iterable[tuple[str, dict]], kind: str) -> LocalSource:
    """`rows` are (location, fields) pairs: ("feature 3", {...}) or ("line 7", {...})."""
    validator = jsonschema.Draft202012Validator(load_schema("poi_feature"))
    places, pois, seen = [], [], set()
    for location, row in rows:
        problem = first_schema_error(row, validator)
        if problem is not None:
            raise RecordError(str(path), location, *problem)
        if row.get("kind") == "place":
            places.append(Place(row["name"], row["lng"], row["lat"], row.get("city", "")))
        else:
            poi_id = row.get("id") or stable_id(row["name"], row["lng"], row["lat"])
            if poi_id in seen:
                raise RecordError(str(path), location, "id" if "id" in row else "name", f"restaurant {poi_id} is listed twice")
            seen.add(poi_id)
            pois.append(Poi(poi_id, row["name"], row["lng"], row["lat"], row.get("address", ""), row["cuisine"],
                            row.get("rating"), row.get("avg_price")))
    if not pois:
        raise DomaintuneError(f"{path}: no restaurants (rows of kind restaurant, the default)")
    return LocalSource(f"{kind} {path}", places, pois)
