"""Trajectory days: Alpaca JSON / JSONL records whose `output` must be one day in the trajectory grammar
(pipelines/trajectory/grammar.py), its times in order and, with a `polygon`, its points (longitude, latitude)
inside the district (pipelines/trajectory/validate.py). A bad day is one line: file, record, the offending line
of its output, what is wrong and what to do:

    data/raw/trajectory/days.json: record 7: output: line 8: [08:40-12:00] 工作 @ 上海中心大厦: (31.2335, 121.5055) has latitude and longitude swapped; write (经度, 纬度) = (121.5055, 31.2335)

Options (the task's `source.options`, repo-relative files):
    polygon: data/trajectory/lujiazui.geojson   # the district (GeoJSON Polygon / MultiPolygon)
    synonyms: data/trajectory/synonyms.yaml     # other spellings of the persona field labels
"""

from functools import partial
from pathlib import Path

from pipelines.converters.alpaca import SCHEMA, to_target
from pipelines.converters.records import Conversion, convert_records
from pipelines.core.errors import InvalidRecord
from pipelines.core.paths import REPO_ROOT
from pipelines.core.registry import register_converter
from pipelines.trajectory.geo import Region, load_region
from pipelines.trajectory.grammar import DayFormatError, label, parse
from pipelines.trajectory.synonyms import Synonyms, load_synonyms
from pipelines.trajectory.validate import coordinate_problems, order_problems

OPTIONS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "polygon": {"type": "string", "description": "Repo-relative GeoJSON of the district: a point outside it, or with latitude and longitude swapped, is refused."},
        "synonyms": {"type": "string", "description": "Repo-relative synonym tables (schema trajectory_synonyms): the field labels days may also use."},
    },
}


def day_target(record: dict, region: Region | None, synonyms: Synonyms) -> dict:
    try:
        day = parse(record["output"], synonyms.labels)
    except DayFormatError as exc:
        raise InvalidRecord("output", str(exc)) from None
    problems = order_problems(day) + coordinate_problems(day, region)
    if problems:
        first = min(problems, key=lambda p: p.activity.line)
        raise InvalidRecord("output", f"line {first.activity.line}: {label(first.activity)}: {first.what}; {first.todo}")
    return to_target(record)


@register_converter("trajectory", options_schema=OPTIONS_SCHEMA, path_options=("polygon", "synonyms"))
def convert(paths: list[Path], options: dict, skip_invalid: bool) -> Conversion:
    region = load_region(REPO_ROOT / options["polygon"]) if "polygon" in options else None
    synonyms = load_synonyms(REPO_ROOT / options["synonyms"]) if "synonyms" in options else Synonyms()
    return convert_records(paths, SCHEMA, partial(day_target, region=region, synonyms=synonyms), skip_invalid)
