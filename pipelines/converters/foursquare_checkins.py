"""Foursquare check-ins in the TSMC2014 layout (user, venue, category, latitude, longitude, timezone offset, UTC time) -> trajectory days.

Check-ins are grouped by user and local day, ordered, turned into stays with inferred windows and matched to the
task's place table or kept as new places (pipelines/trajectory/checkins.py), then written as Alpaca records in
the day grammar, one per user-day (group = user, order = the date, for a chronological split). Check-ins outside
the district or of a category the table does not list are left out and counted by reason; a malformed one, or
one with latitude and longitude swapped, stops the build (or is skipped with --skip-invalid) naming file and line.

A day's persona comes from the `personas` file (CSV: user,persona[,age,gender,occupation]) or, for a user it does
not list, from the persona rules: the first persona whose rules the day keeps, else the day is refused with each
persona's reason. Age, gender and occupation the file does not give come from `defaults`, else the day is refused.
The region polygon, the place table and the category table are data: the same path serves another district.

Options (the task's `source.options`; files repo-relative):
    polygon: data/trajectory/lujiazui.geojson          places: data/trajectory/places.yaml
    rules: data/trajectory/persona_rules.yaml          categories: data/trajectory/foursquare_categories.yaml
    personas: my/users.csv                             defaults: {age: 30, gender: 未知, occupation: 未知}
    clock_step_min: 5    place_tolerance_m: 300    min_stays: 2    comment: "..."    instruction / input: "..."
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelines.converters.records import Conversion, Example
from pipelines.core.errors import InvalidRecord, RecordError
from pipelines.core.paths import REPO_ROOT
from pipelines.core.progress import progress
from pipelines.core.readers import iter_lines, read_text
from pipelines.core.registry import register_converter
from pipelines.trajectory.checkins import (
    CheckIn,
    OutOfScope,
    activities,
    is_header,
    load_categories,
    parse_checkin,
    stays,
    user_days,
)
from pipelines.trajectory.generate import INPUT, INSTRUCTION
from pipelines.trajectory.geo import Region, load_region
from pipelines.trajectory.grammar import Activity, Day, render
from pipelines.trajectory.personas import first_persona, load_rules
from pipelines.trajectory.places import PlaceTable, load_places

PERSON_FIELDS = ("age", "gender", "occupation")
DEFAULTS = {"clock_step_min": 5, "place_tolerance_m": 300, "min_stays": 2, "comment": "（由签到数据整理，无主观评价。）", "instruction": INSTRUCTION, "input": INPUT}
TOO_FEW = "user-day with fewer than {} stays in the district (left out)"
SAME_STEP = "check-in within one clock step of the stay before it, at another place (left out)"

OPTIONS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["polygon", "places", "rules", "categories"],
    "properties": {
        "polygon": {"type": "string", "description": "Repo-relative GeoJSON of the district: check-ins outside it are left out."},
        "places": {"type": "string", "description": "Repo-relative place table (schema trajectory_places) venues are matched to."},
        "rules": {"type": "string", "description": "Repo-relative persona rules: a user the personas file does not list gets the first persona whose rules hold."},
        "categories": {"type": "string", "description": "Repo-relative category table (schema trajectory_checkin_categories)."},
        "personas": {"type": "string", "description": "Repo-relative CSV: user,persona[,age,gender,occupation]."},
        "defaults": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"age": {"type": "integer", "minimum": 0, "maximum": 150}, "gender": {"type": "string", "minLength": 1}, "occupation": {"type": "string", "minLength": 1}},
            "description": "Age, gender and occupation of users the personas file does not give them.",
        },
        "clock_step_min": {"type": "integer", "minimum": 1, "maximum": 60, "description": "Grid of the written times (default 5)."},
        "place_tolerance_m": {"type": "number", "exclusiveMinimum": 0, "description": "How far a venue may be from the table place it becomes (default 300)."},
        "min_stays": {"type": "integer", "minimum": 1, "description": "Fewest stays a user-day needs to become a day (default 2)."},
        "comment": {"type": "string", "minLength": 1, "description": "The # 主观评价 text of every day (check-ins carry none)."},
        "instruction": {"type": "string", "minLength": 1},
        "input": {"type": "string"},
    },
}


@dataclass(frozen=True)
class Setting:
    region: Region
    places: PlaceTable
    rules: dict
    people: dict[str, dict]  # user -> persona and the fields the personas file gives
    options: dict  # with DEFAULTS filled in


def load_setting(options: dict) -> Setting:
    options = {**DEFAULTS, **options}
    places = load_places(REPO_ROOT / options["places"])
    rules = load_rules(REPO_ROOT / options["rules"])
    people = load_people(REPO_ROOT / options["personas"], rules) if "personas" in options else {}
    return Setting(load_region(REPO_ROOT / options["polygon"]), places, rules, people, options)


def load_people(path: Path, rules: dict) -> dict[str, dict]:
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    missing = [name for name in ("user", "persona") if name not in (reader.fieldnames or [])]
    if missing:
        raise RecordError(str(path), "line 1", "header", f"missing column(s) {', '.join(missing)}; columns: user,persona[,age,gender,occupation]")
    people = {}
    for row in reader:
        where = f"line {reader.line_num}"
        person = {key: value.strip() for key, value in row.items() if key in ("persona", *PERSON_FIELDS) and value and value.strip()}
        if person.get("persona") not in rules:
            raise RecordError(str(path), where, "persona", f"{person.get('persona')!r} is not in the persona rules ({', '.join(rules)})")
        if "age" in person:
            if not person["age"].isdigit():
                raise RecordError(str(path), where, "age", f"{person['age']!r} is not a whole number of years")
            person["age"] = int(person["age"])
        people[row["user"].strip()] = person
    return people


def rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    delimiter = "," if path.suffix == ".csv" else "\t"
    first = True
    for number, line in iter_lines(path):
        cells = next(csv.reader([line], delimiter=delimiter))
        if not (first and is_header(cells)):
            yield number, cells
        first = False


def read_checkins(paths: list[Path], setting: Setting, skip_invalid: bool, conversion: Conversion) -> list[CheckIn]:
    categories = load_categories(REPO_ROOT / setting.options["categories"], setting.places)
    checkins = []
    for path in map(Path, paths):
        for number, cells in progress(rows(path), desc=path.name, unit="check-in"):
            try:
                checkins.append(parse_checkin(str(path), number, cells, categories, setting.region))
            except OutOfScope as exc:
                conversion.skipped[str(exc)] += 1
            except InvalidRecord as exc:
                if not skip_invalid:
                    raise RecordError(str(path), f"line {number}", exc.field, exc.reason) from None
                conversion.skip(str(path), f"line {number}", f"{exc.field}: {exc.reason}")
    return checkins


def person(user: str, day_activities: tuple[Activity, ...], setting: Setting) -> dict:
    """persona, age, gender, occupation of a user's day: the personas file, the persona rules, the defaults."""
    found = {**setting.options.get("defaults", {}), **setting.people.get(user, {})}
    if "persona" not in found:
        day = Day("", 0, "", "", day_activities, "")
        persona, reasons = first_persona(day, setting.rules, lambda a: setting.places.lookup(a.place))
        if persona is None:
            raise InvalidRecord("userId", f"user {user}: no persona's rules hold ({'; '.join(reasons)}); give the user a persona in the personas file")
        found["persona"] = persona
    missing = [name for name in PERSON_FIELDS if name not in found]
    if missing:
        raise InvalidRecord("userId", f"user {user} has no {', '.join(missing)}: give it in the personas file or in source.options.defaults")
    return found


@register_converter(
    "foursquare_checkins",
    options_schema=OPTIONS_SCHEMA,
    path_options=("polygon", "places", "rules", "categories", "personas"),
)
def convert(paths: list[Path], options: dict, skip_invalid: bool) -> Conversion:
    setting = load_setting(options)
    step, tolerance = setting.options["clock_step_min"], setting.options["place_tolerance_m"]
    conversion = Conversion(examples=[])
    for checkins in user_days(read_checkins(paths, setting, skip_invalid, conversion)):
        day_stays, left_out = stays(checkins, setting.places, tolerance, step)
        if left_out:
            conversion.skipped[SAME_STEP] += len(left_out)
        if len(day_stays) < setting.options["min_stays"]:
            conversion.skipped[TOO_FEW.format(setting.options["min_stays"])] += 1
            continue
        first = checkins[0]
        day_activities = activities(day_stays, step)
        try:
            who = person(first.user, day_activities, setting)
        except InvalidRecord as exc:
            if not skip_invalid:
                raise RecordError(first.source, f"line {first.line}", exc.field, f"{first.day}: {exc.reason}") from None
            conversion.skip(first.source, f"line {first.line}", f"{exc.field}: no persona or fields for the user")
            continue
        day = Day(who["persona"], who["age"], who["gender"], who["occupation"], day_activities, setting.options["comment"])
        record = {"instruction": setting.options["instruction"], "input": setting.options["input"], "output": render(day)}
        conversion.examples.append(Example(record, group=first.user, order=first.day.isoformat()))
    return conversion
