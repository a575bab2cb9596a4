"""Per-day checks of a generated Lujiazui day. Each check returns its problems, one line each, empty when it passes.

    format_ok        the day parses with the grammar (pipelines/trajectory/grammar.py): the three sections, the
                     four persona fields, at least one activity line
    coord_in_region  every activity point lies inside the district polygon
    temporal_ok      every start is before its end, activities follow each other without overlap, all within
                     00:00-24:00
    speed_ok         consecutive places are reachable: haversine distance / gap <= the speed limit (60 km/h by
                     default); legs within SAME_SITE_M (one building and its entrances) need no gap, longer ones
                     with no gap are infinitely fast
    persona_ok       the persona is in the rule table, its age in range, every rule of persona_rules.yaml holds
    place_known      every place name (or alias) is in the place table, its coordinates within 300 m of it
"""

from collections.abc import Callable
from dataclasses import dataclass

from pipelines.trajectory.geo import Region, haversine_m
from pipelines.trajectory.grammar import Activity, Day, DayFormatError, clock, parse
from pipelines.trajectory.places import PlaceTable, name_key

CHECKS = ("format_ok", "coord_in_region", "temporal_ok", "speed_ok", "persona_ok", "place_known")
SAME_SITE_M = 100
DEFAULT_SPEED_LIMIT_KMH = 60.0
DEFAULT_PLACE_TOLERANCE_M = 300.0
DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class World:
    """What the checks measure against: the place table, the district, the persona rules and the limits."""

    places: PlaceTable
    region: Region
    rules: dict  # persona -> {"age": [min, max], "rules": [...]}, as persona_rules.yaml holds it
    speed_limit_kmh: float = DEFAULT_SPEED_LIMIT_KMH
    place_tolerance_m: float = DEFAULT_PLACE_TOLERANCE_M


def label(a: Activity) -> str:
    return f"[{clock(a.start)}-{clock(a.end)}] {a.activity} @ {a.place}"


def parse_day(text: str) -> tuple[Day | None, list[str]]:
    """The parsed day and no problem, or None and the format problem."""
    try:
        return parse(text), []
    except DayFormatError as exc:
        return None, [str(exc)]


def coord_in_region(day: Day, world: World) -> list[str]:
    return [f"{label(a)} ({a.lon}, {a.lat}) is outside {world.region.name}" for a in day.activities if not world.region.contains(a.lon, a.lat)]


def temporal_ok(day: Day, world: World) -> list[str]:
    problems = []
    for previous, a in zip((None, *day.activities), day.activities):
        if a.start >= a.end:
            problems.append(f"{label(a)}: start is not before end")
        if a.end > DAY_MINUTES or a.start > DAY_MINUTES:
            problems.append(f"{label(a)}: goes past 24:00")
        if previous is not None and a.start < previous.end:
            problems.append(f"{label(a)}: starts before the previous activity ends ({clock(previous.end)})")
    return problems


def speed_ok(day: Day, world: World) -> list[str]:
    problems = []
    for a, b in zip(day.activities, day.activities[1:]):
        metres = haversine_m(a.lon, a.lat, b.lon, b.lat)
        gap = b.start - a.end
        if metres <= SAME_SITE_M:
            continue
        kmh = metres / 1000 / (gap / 60) if gap > 0 else float("inf")
        if kmh > world.speed_limit_kmh:
            problems.append(f"{a.place} → {b.place}: {metres / 1000:.2f} km in {gap} min ({kmh:.1f} km/h > {world.speed_limit_kmh:g})")
    return problems


def place_known(day: Day, world: World) -> list[str]:
    problems = []
    for a in day.activities:
        place = world.places.lookup(a.place)
        if place is None:
            problems.append(f"{label(a)}: '{a.place}' is not in the place table")
            continue
        metres = haversine_m(a.lon, a.lat, place.lon, place.lat)
        if metres > world.place_tolerance_m:
            problems.append(f"{label(a)}: ({a.lon}, {a.lat}) is {metres:.0f} m from the table's ({place.lon}, {place.lat})")
    return problems


def persona_ok(day: Day, world: World) -> list[str]:
    persona = world.rules.get(day.persona)
    if persona is None:
        return [f"persona '{day.persona}' is not in the rule table ({', '.join(world.rules)})"]
    low, high = persona["age"]
    problems = [] if low <= day.age <= high else [f"{day.persona}: age {day.age} is outside {low}-{high}"]
    for rule in persona["rules"]:
        problem = RULES[rule["kind"]](day, rule, world.places)
        if problem:
            problems.append(f"{day.persona} {rule['why']}: {problem}")
    return problems


def place_type(name: str, places: PlaceTable) -> str | None:
    place = places.lookup(name)
    return place.type if place else None


def matches(a: Activity, rule: dict, places: PlaceTable) -> bool:
    return ("activities" not in rule or a.activity in rule["activities"]) and ("place_types" not in rule or place_type(a.place, places) in rule["place_types"])


def min_minutes(day: Day, rule: dict, places: PlaceTable) -> str:
    low, high = (int(h) * 60 + int(m) for h, m in (t.split(":") for t in rule["window"])) if "window" in rule else (0, DAY_MINUTES)
    total = sum(max(0, min(a.end, high) - max(a.start, low)) for a in day.activities if matches(a, rule, places))
    if total >= rule["minutes"]:
        return ""
    where = f" at {'/'.join(rule['place_types'])}" if "place_types" in rule else ""
    within = f" within {'-'.join(rule['window'])}" if "window" in rule else ""
    return f"{total} min of {'/'.join(rule['activities'])}{where}{within}, needs {rule['minutes']}"


def visits(day: Day, rule: dict, places: PlaceTable) -> str:
    seen = {name_key(a.place) for a in day.activities if place_type(a.place, places) in rule["place_types"]}
    return "" if len(seen) >= rule["count"] else f"{len(seen)} distinct {'/'.join(rule['place_types'])} places, needs {rule['count']}"


def first_and_last(day: Day, rule: dict, places: PlaceTable) -> str:
    first, last = day.activities[0], day.activities[-1]
    wrong = [f"{which} activity {label(a)}" for which, a in (("first", first), ("last", last)) if not matches(a, rule, places)]
    if wrong:
        return " and ".join(wrong) + " does not match"
    if rule.get("same_place") and name_key(first.place) != name_key(last.place):
        return f"first place '{first.place}' is not the last '{last.place}'"
    return ""


RULES: dict[str, Callable[[Day, dict, PlaceTable], str]] = {"min_minutes": min_minutes, "visits": visits, "first_and_last": first_and_last}
DAY_CHECKS: dict[str, Callable[[Day, World], list[str]]] = {
    "coord_in_region": coord_in_region,
    "temporal_ok": temporal_ok,
    "speed_ok": speed_ok,
    "persona_ok": persona_ok,
    "place_known": place_known,
}


@dataclass(frozen=True)
class DayResult:
    index: int  # row of the predictions file
    day: Day | None
    problems: dict[str, list[str]]  # check -> problems; every check of CHECKS is a key

    @property
    def failed(self) -> list[str]:
        return [name for name in CHECKS if self.problems[name]]


def check_day(index: int, text: str, world: World) -> DayResult:
    day, format_problems = parse_day(text)
    problems = {"format_ok": format_problems}
    for name, check in DAY_CHECKS.items():
        problems[name] = check(day, world) if day else ["the day does not parse"]
    return DayResult(index, day, problems)
