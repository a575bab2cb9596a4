"""Per-day checks of a generated day. A day is parsed (field labels through the synonym tables) and put in
canonical words (activities, persona: data/trajectory/synonyms.yaml) before any check; each check returns its
problems, one line each, empty when it passes.

    format_ok        the day parses with the grammar (pipelines/trajectory/grammar.py): the three sections, the
                     four persona fields (others are kept and counted), at least one activity line
    coord_in_region  every activity point lies inside the district polygon, (longitude, latitude) the right way round
    temporal_ok      every start is before its end, activities follow each other without overlap, the day spans at
                     most 24 hours; it may end after midnight (pipelines/trajectory/validate.py)
    speed_ok         consecutive places are reachable: distance / time <= the speed limit (60 km/h by default), where
                     the time is the gap, plus one clock step (times sit on a grid, so a zero gap hides up to a
                     step of travel; the task's clock_step_min, else the grid of the reference days), plus the
                     minutes of a travel activity (通勤, 出行: the synonym tables' `travel`) the leg ends or starts:
                     a commute ending at the station is an arrival, not a teleport. Legs within SAME_SITE_M (one
                     building and its entrances) need no time
    persona_ok       the persona is in the rule table, its age in range, every rule of persona_rules.yaml holds
    place_known      every place matches the table (name, alias, normalised name, or nearest place: see
                     pipelines/trajectory/places.py) with its coordinates within the tolerance (300 m); the rule
                     that matched is kept per activity
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import reduce

from pipelines.trajectory.geo import Region, haversine_m
from pipelines.trajectory.grammar import Activity, Day, DayFormatError, label, parse
from pipelines.trajectory.personas import persona_problems
from pipelines.trajectory.places import Match, PlaceTable
from pipelines.trajectory.synonyms import Synonyms
from pipelines.trajectory.validate import coordinate_problems, order_problems

CHECKS = ("format_ok", "coord_in_region", "temporal_ok", "speed_ok", "persona_ok", "place_known")
SAME_SITE_M = 100
DEFAULT_SPEED_LIMIT_KMH = 60.0
DEFAULT_PLACE_TOLERANCE_M = 300.0


@dataclass(frozen=True)
class World:
    """What the checks measure against: the place table, the district, the persona rules, the synonym tables and
    the limits."""

    places: PlaceTable
    region: Region
    rules: dict  # persona -> {"age": [min, max], "rules": [...]}, as persona_rules.yaml holds it
    synonyms: Synonyms = field(default_factory=Synonyms)
    speed_limit_kmh: float = DEFAULT_SPEED_LIMIT_KMH
    place_tolerance_m: float = DEFAULT_PLACE_TOLERANCE_M
    clock_step_min: int = 0  # minutes of travel a zero gap may hide


@dataclass(frozen=True)
class DayResult:
    index: int  # row of the predictions file, 0-based (messages add 1)
    day: Day | None  # in canonical words; None when the text does not parse
    problems: dict[str, list[str]]  # check -> problems; every check of CHECKS is a key
    matches: tuple[Match | None, ...] = ()  # per activity: the table place it matched, by which rule

    @property
    def failed(self) -> list[str]:
        return [name for name in CHECKS if self.problems[name]]

    def placed(self) -> Day | None:
        """The day with each matched place under its table name: what the population metrics compare, so that
        国金中心商场 and 上海国金中心商场 are one place."""
        if self.day is None:
            return None
        activities = tuple(replace(a, place=m.place.name) if m else a for a, m in zip(self.day.activities, self.matches))
        return replace(self.day, activities=activities)


def coord_in_region(day: Day, world: World, matches) -> list[str]:
    return [f"{label(p.activity)}: {p.what}" for p in coordinate_problems(day, world.region)]


def temporal_ok(day: Day, world: World, matches) -> list[str]:
    return [f"{label(p.activity)}: {p.what}" for p in order_problems(day)]


def travel_minutes(a: Activity, b: Activity, world: World) -> tuple[int, str]:
    """Minutes a leg a -> b may take and how they add up: gap + clock step + the travel activities' minutes."""
    gap = b.start - a.end
    parts = [f"{gap} min"] + ([f"{world.clock_step_min} min clock step"] if world.clock_step_min else [])
    minutes = gap + world.clock_step_min
    for x in (a, b):
        if x.activity in world.synonyms.travel:
            minutes += x.end - x.start
            parts.append(f"{x.end - x.start} min {x.activity}")
    return minutes, " + ".join(parts)


def speed_ok(day: Day, world: World, matches) -> list[str]:
    problems = []
    for a, b in zip(day.activities, day.activities[1:]):
        metres = haversine_m(a.lon, a.lat, b.lon, b.lat)
        if metres <= SAME_SITE_M:
            continue
        minutes, spelt = travel_minutes(a, b, world)
        kmh = metres / 1000 / (minutes / 60) if minutes > 0 else math.inf
        if kmh > world.speed_limit_kmh:
            problems.append(f"{a.place} → {b.place}: {metres / 1000:.2f} km in {spelt} ({kmh:.1f} km/h > {world.speed_limit_kmh:g})")
    return problems


def place_known(day: Day, world: World, matches: tuple[Match | None, ...]) -> list[str]:
    problems = []
    for a, match in zip(day.activities, matches):
        if match is None:
            problems.append(f"{label(a)}: '{a.place}' is not in the place table and no table place is within {world.place_tolerance_m:g} m")
        elif match.metres > world.place_tolerance_m:
            p = match.place
            problems.append(f"{label(a)}: ({a.lon}, {a.lat}) is {match.metres:.0f} m from the table's {p.name} ({p.lon}, {p.lat}), matched by {match.rule}")
    return problems


def persona_ok(day: Day, world: World, matches: tuple[Match | None, ...]) -> list[str]:
    place_of = {a: m.place if m else None for a, m in zip(day.activities, matches)}
    return persona_problems(day, world.rules, place_of.get)


DAY_CHECKS: dict[str, Callable[[Day, World, tuple], list[str]]] = {
    "coord_in_region": coord_in_region,
    "temporal_ok": temporal_ok,
    "speed_ok": speed_ok,
    "persona_ok": persona_ok,
    "place_known": place_known,
}


def read_day(text: str, world: World) -> tuple[Day | None, list[str]]:
    """The day in canonical words and no problem, or None and the format problem."""
    try:
        return world.synonyms.canonical(parse(text, world.synonyms.labels)), []
    except DayFormatError as exc:
        return None, [str(exc)]


def check_day(index: int, text: str, world: World) -> DayResult:
    day, format_problems = read_day(text, world)
    if day is None:
        return DayResult(index, None, {"format_ok": format_problems} | {name: ["the day does not parse"] for name in DAY_CHECKS})
    matches = tuple(world.places.match(a.place, a.lon, a.lat, world.place_tolerance_m) for a in day.activities)
    problems = {"format_ok": []} | {name: check(day, world, matches) for name, check in DAY_CHECKS.items()}
    return DayResult(index, day, problems, matches)


def clock_step(days: list[Day]) -> int:
    """The grid the days' clock readings sit on: the greatest common divisor of every reading (5 for the shipped
    days), 0 when there is none."""
    return reduce(math.gcd, (m for day in days for a in day.activities for m in (a.start, a.end)), 0)
