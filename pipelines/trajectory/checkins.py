"""Foursquare check-ins in the TSMC2014 layout (Yang et al., dataset_TSMC2014_NYC.txt / _TKY.txt) -> days of the
trajectory task: what the `foursquare_checkins` converter runs.

One check-in per line, tab-separated (comma-separated in a .csv file), eight columns, no header (a first line
naming the columns, as copies of the set have, is skipped):

    userId  venueId  venueCategoryId  venueCategory  latitude  longitude  timezoneOffset  utcTimestamp
    470     49bbd6c0f964a520f4531fe3  4bf58dd8d48988d127951735  Arts & Crafts Store  40.7198  -74.0025  -240  Tue Apr 03 18:00:09 +0000 2012

A user's check-ins are put on their local clock (UTC + timezoneOffset minutes) and grouped by local day; in a day
they are ordered by time (input order breaks ties) and each becomes a stay from its check-in time, floored to the
clock step; repeated check-ins at one venue extend one stay. A stay ends at its category's `stay_min` after its
last check-in, or earlier where the next stay's start less the travel to it (walking, or riding beyond 1.5 km:
pipelines/trajectory/generate.py) says so, never before one clock step. A venue becomes the nearest place of its
category's type in the place table within the tolerance, or stays a new place at its own point.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from pipelines.core.errors import DomaintuneError, InvalidRecord
from pipelines.core.schema import load_yaml_validated
from pipelines.trajectory.generate import travel_minutes
from pipelines.trajectory.geo import Region, haversine_m
from pipelines.trajectory.grammar import DAY_MINUTES, Activity
from pipelines.trajectory.places import Place, PlaceTable
from pipelines.trajectory.validate import swapped

COLUMNS = ("userId", "venueId", "venueCategoryId", "venueCategory", "latitude", "longitude", "timezoneOffset", "utcTimestamp")
UTC_FORMAT = "%a %b %d %H:%M:%S %z %Y"
VENUE_SUFFIX = 6  # characters of a venue id that tell new places apart in their name


@dataclass(frozen=True)
class Category:
    activity: str
    place_type: str | None
    name: str  # of a venue kept as a new place
    stay_min: int


@dataclass(frozen=True)
class CheckIn:
    source: str  # file, for messages
    line: int
    user: str
    venue: str
    category: Category
    lon: float
    lat: float
    local: datetime  # the user's wall clock

    @property
    def day(self) -> date:
        return self.local.date()

    def minute(self, step: int) -> int:
        """Minutes after midnight, floored to the clock step."""
        minute = self.local.hour * 60 + self.local.minute
        return minute - minute % step


@dataclass
class Stay:
    venue: str
    place: Place
    category: Category
    start: int  # minutes after the day's midnight
    last: int  # the last check-in of the stay


class OutOfScope(Exception):
    """A well-formed check-in the days leave out (outside the district, a category not in the table): counted."""


def load_categories(path: Path, places: PlaceTable) -> dict[str, Category]:
    data = load_yaml_validated(path, "trajectory_checkin_categories")["categories"]
    types = {p.type for p in places.places}
    unknown = {name: c["place_type"] for name, c in data.items() if c.get("place_type") not in (None, *types)}
    if unknown:
        name, kind = next(iter(unknown.items()))
        raise DomaintuneError(f"{path}: categories.{name}.place_type: {kind!r} is no type of the place table ({', '.join(sorted(types))})")
    return {name.casefold(): Category(c["activity"], c.get("place_type"), c["name"], c["stay_min"]) for name, c in data.items()}


def is_header(cells: list[str]) -> bool:
    return bool(cells) and cells[0].strip().casefold() == COLUMNS[0].casefold()


def number(cells: list[str], column: str, kind: type, low: float, high: float):
    text = cells[COLUMNS.index(column)].strip()
    try:
        value = kind(text)
    except ValueError:
        raise InvalidRecord(column, f"{text!r} is not a{'n integer' if kind is int else ' number'}") from None
    if not low <= value <= high:
        raise InvalidRecord(column, f"{value} is outside {low:g}..{high:g}")
    return value


def parse_checkin(source: str, line: int, cells: list[str], categories: dict[str, Category], region: Region) -> CheckIn:
    """One row as a CheckIn; InvalidRecord for a malformed one, OutOfScope for one the days leave out."""
    if len(cells) != len(COLUMNS):
        raise InvalidRecord("-", f"expected {len(COLUMNS)} columns ({', '.join(COLUMNS)}), got {len(cells)}")
    lat, lon = number(cells, "latitude", float, -180, 180), number(cells, "longitude", float, -180, 180)
    if swapped(lon, lat, region):
        raise InvalidRecord("latitude", f"({lat}, {lon}) are swapped: ({lon}, {lat}) is in {region.name}; put latitude in column 5 and longitude in column 6")
    number(cells, "latitude", float, -90, 90)  # checked after the swap, which explains most latitudes over 90
    offset = number(cells, "timezoneOffset", int, -720, 840)  # UTC-12 .. UTC+14, in minutes
    stamp = cells[COLUMNS.index("utcTimestamp")].strip()
    try:
        utc = datetime.strptime(stamp, UTC_FORMAT)
    except ValueError:
        raise InvalidRecord("utcTimestamp", f"{stamp!r} is not like 'Tue Apr 03 18:00:09 +0000 2012'") from None
    if not region.contains(lon, lat):
        raise OutOfScope(f"check-in outside {region.name} (not in any day)")
    name = cells[COLUMNS.index("venueCategory")].strip()
    category = categories.get(name.casefold())
    if category is None:
        raise OutOfScope(f"check-in category {name!r} is not in the category table (not in any day)")
    local = (utc + timedelta(minutes=offset)).replace(tzinfo=None)
    return CheckIn(source, line, cells[0].strip(), cells[1].strip(), category, lon, lat, local)


def user_days(checkins: Iterable[CheckIn]) -> Iterator[list[CheckIn]]:
    """Each user's check-ins per local day, in time order (input order breaks ties); users and days sorted."""
    days: dict[tuple[str, date], list[CheckIn]] = {}
    for checkin in checkins:
        days.setdefault((checkin.user, checkin.day), []).append(checkin)
    for key in sorted(days):
        yield sorted(days[key], key=lambda c: c.local)  # sorted() is stable: input order breaks ties


def venue_place(checkin: CheckIn, table: PlaceTable, tolerance_m: float) -> Place:
    """The nearest table place of the category's type within the tolerance, else the venue as a new place."""
    category = checkin.category
    near = [(haversine_m(checkin.lon, checkin.lat, p.lon, p.lat), p) for p in table.of_types([category.place_type])] if category.place_type else []
    near = [pair for pair in near if pair[0] <= tolerance_m]
    if near:
        return min(near, key=lambda pair: pair[0])[1]
    return Place(f"{category.name}({checkin.venue[-VENUE_SUFFIX:]})", category.place_type or "", checkin.lon, checkin.lat)


def stays(checkins: list[CheckIn], table: PlaceTable, tolerance_m: float, step: int) -> tuple[list[Stay], list[CheckIn]]:
    """A day's stays, and the check-ins left out: one at another place within the clock step of the stay before it
    (a stay needs at least one step)."""
    kept: list[Stay] = []
    left_out = []
    for checkin in checkins:
        place, minute = venue_place(checkin, table, tolerance_m), checkin.minute(step)
        if kept and (kept[-1].venue == checkin.venue or kept[-1].place == place):
            kept[-1].last = minute
        elif kept and minute < kept[-1].start + step:
            left_out.append(checkin)
        else:
            kept.append(Stay(checkin.venue, place, checkin.category, minute, minute))
    return kept, left_out


def activities(day_stays: list[Stay], step: int) -> tuple[Activity, ...]:
    """Each stay as an activity: from its start to its category's stay after its last check-in, cut short by the
    next stay's start less the travel to it (never below one step), the whole day within 24 hours."""
    out = []
    for stay, following in zip(day_stays, [*day_stays[1:], None]):
        end = stay.last + stay.category.stay_min
        if following is None:
            end = max(min(end, day_stays[0].start + DAY_MINUTES), stay.start + step)
        else:
            leave_by = following.start - travel_minutes(stay.place, following.place)
            end = min(max(min(end, leave_by), stay.start + step), following.start)
        out.append(Activity(stay.start, end, stay.category.activity, stay.place.name, stay.place.lon, stay.place.lat))
    return tuple(out)
