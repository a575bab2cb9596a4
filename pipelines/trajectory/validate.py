"""What a day must hold before it is trained on, and what the evaluator's temporal_ok and coord_in_region read:
times in order, coordinates written (longitude, latitude) and inside the district.

Each function returns its problems, empty when the day passes; `domaintune data` refuses a record with the first
one (its line, what is wrong and what to do), the evaluator counts them all.
"""

from dataclasses import dataclass

from pipelines.trajectory.geo import Region
from pipelines.trajectory.grammar import DAY_MINUTES, Activity, Day, clock


@dataclass(frozen=True)
class Problem:
    activity: Activity
    what: str
    todo: str  # what the author of the data should do


def order_problems(day: Day) -> list[Problem]:
    """Each activity starts before it ends and after the previous one ends; the day spans at most 24 hours.
    Times after midnight continue the day (the grammar lays the readings on one timeline)."""
    problems = []
    for previous, a in zip((None, *day.activities), day.activities):
        if a.start >= a.end:
            problems.append(Problem(a, "start is not before end", "write the end after the start"))
        if previous is not None and a.start < previous.end:
            problems.append(Problem(a, f"starts before the previous activity ends ({clock(previous.end)})", "order the activities by time without overlap"))
    first, last = day.activities[0], day.activities[-1]
    if last.end - first.start > DAY_MINUTES:
        span = f"the day spans more than 24 hours ({clock(first.start)} to {clock(last.end)}, {(last.end - first.start) / 60:.1f} h)"
        problems.append(Problem(last, span, "split it into days"))
    return problems


def swapped(lon: float, lat: float, region: Region | None) -> bool:
    """Written (latitude, longitude): no latitude exceeds 90 degrees, or only the swapped point is in the district."""
    if abs(lat) > 90 >= abs(lon):
        return True
    return region is not None and not region.contains(lon, lat) and region.contains(lat, lon)


def coordinate_problems(day: Day, region: Region | None) -> list[Problem]:
    """Swapped coordinates; with a region, points outside it."""
    problems = []
    for a in day.activities:
        if swapped(a.lon, a.lat, region):
            problems.append(Problem(a, f"({a.lon}, {a.lat}) has latitude and longitude swapped", f"write (经度, 纬度) = ({a.lat}, {a.lon})"))
        elif region is not None and not region.contains(a.lon, a.lat):
            problems.append(Problem(a, f"({a.lon}, {a.lat}) is outside {region.name}", "fix the coordinates, or give source.options.polygon a district that covers them"))
    return problems
