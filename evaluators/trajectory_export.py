"""The scored days as files GIS and data tools open: a GeoJSON FeatureCollection per variant (QGIS, kepler.gl,
geopandas) and one flat CSV of stops (pandas, spreadsheets).

    trajectory_days_<variant>.geojson  one Feature per day that parses: a LineString through its stops in order
                                       (a Point for a one-stop day), properties: row (1-based line of the
                                       predictions file), persona fields, the stops' time windows, activities,
                                       places, matched table places and match rules, each check's pass/fail,
                                       all_ok and the first problem of each failed check
    trajectory_stops.csv               one row per stop of every variant's days: variant, row, persona, stop
                                       (1-based), start, end, activity, place, lon, lat, matched place, rule,
                                       metres from it, and whether the day passes every check

Coordinates are written as the days give them (GCJ-02 for the shipped district, like its places table).
"""

import csv
import io
import json
from pathlib import Path

from shapely.geometry import LineString, Point, mapping

from evaluators.trajectory_checks import CHECKS, DayResult
from pipelines.core.atomic import write_text
from pipelines.trajectory.grammar import clock

STOP_COLUMNS = ("variant", "row", "persona", "stop", "start", "end", "activity", "place", "lon", "lat", "matched_place", "match_rule", "match_m", "all_ok")


def feature(result: DayResult) -> dict:
    day = result.day
    points = [(a.lon, a.lat) for a in day.activities]
    geometry = LineString(points) if len(points) > 1 else Point(points[0])
    properties = {
        "row": result.index + 1,
        "persona": day.persona,
        "age": day.age,
        "gender": day.gender,
        "occupation": day.occupation,
        "extra_fields": dict(day.extra_fields),
        "windows": [f"{clock(a.start)}-{clock(a.end)}" for a in day.activities],
        "activities": [a.activity for a in day.activities],
        "places": [a.place for a in day.activities],
        "matched_places": [m.place.name if m else None for m in result.matches],
        "match_rules": [m.rule if m else None for m in result.matches],
        **{name: not result.problems[name] for name in CHECKS},
        "all_ok": not result.failed,
        "problems": {name: result.problems[name][0] for name in result.failed},
    }
    return {"type": "Feature", "geometry": mapping(geometry), "properties": properties}


def write_geojson(path: Path, results: list[DayResult]) -> Path:
    collection = {"type": "FeatureCollection", "features": [feature(r) for r in results if r.day is not None]}
    write_text(path, json.dumps(collection, ensure_ascii=False) + "\n")
    return path


def stop_rows(variant: str, result: DayResult) -> list[list]:
    rows = []
    for stop, (a, m) in enumerate(zip(result.day.activities, result.matches), start=1):
        matched = [m.place.name, m.rule, round(m.metres)] if m else ["", "", ""]
        rows.append([variant, result.index + 1, result.day.persona, stop, clock(a.start), clock(a.end), a.activity, a.place, a.lon, a.lat, *matched, not result.failed])
    return rows


def write_stops_csv(path: Path, results: dict[str, list[DayResult]]) -> Path:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(STOP_COLUMNS)
    for variant, days in results.items():
        for result in days:
            if result.day is not None:
                writer.writerows(stop_rows(variant, result))
    write_text(path, out.getvalue())
    return path
