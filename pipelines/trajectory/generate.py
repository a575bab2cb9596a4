"""Deterministic sample working days in Lujiazui for the trajectory task, as Alpaca records.

Each persona's day follows its steps in data/trajectory/day_templates.yaml over the real places of
data/trajectory/places.yaml: places are drawn nearer ones first, travel takes walking (or, beyond 1.5 km,
metro/taxi) time, clocks sit on a 5-minute grid. Day i draws from its own random stream (seed, i) and the
personas take turns, so a larger set begins with exactly the days of a smaller one.

    domaintune gen-trajectories -o /tmp/days.json --days 1000 --seed 1
    domaintune gen-trajectories --sample-set        # regenerate the committed data/raw/trajectory/days.json
"""

import math
import random
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.atomic import write_json
from pipelines.core.errors import DomaintuneError
from pipelines.core.paths import REPO_ROOT
from pipelines.core.schema import load_yaml_validated
from pipelines.trajectory.geo import haversine_m
from pipelines.trajectory.grammar import Activity, Day, parse_clock, render
from pipelines.trajectory.places import TEMPLATES_FILE, Place, PlaceTable, load_places

INSTRUCTION = (
    "请基于真实世界信息，生成一个在上海市陆家嘴区域内进行活动的人，在某一典型工作日内的完整活动轨迹信息，"
    "包括此人的个体基本信息（陆家嘴活动人群画像、年龄、性别、职业）、按时间顺序排列的活动轨迹"
    "（每行为时间段、活动、地点名称及其经纬度坐标）以及此人对这一天的主观评价。"
)
INPUT = "请生成陆家嘴内一位人士的一天活动轨迹。"
SAMPLE_SET = REPO_ROOT / "data" / "raw" / "trajectory" / "days.json"
SAMPLE_DAYS = 300  # 60 per persona; a 20% validation split keeps 60 reference days for the population metrics

SLOT = 5  # minutes: every clock and duration is a multiple
WALK_M_PER_MIN = 4_500 / 60  # 4.5 km/h
RIDE_M_PER_MIN = 15_000 / 60  # metro or taxi door to door, waits included: 15 km/h
RIDE_OVERHEAD_MIN = 5
WALK_LIMIT_M = 1_500  # beyond this people ride
NEARBY_M = 800  # a place d metres away is drawn with weight exp(-d / NEARBY_M): most trips stay short
MIN_UNTIL_MIN = 15  # a step that ends at a clock time still lasts this long when it starts late


@dataclass(frozen=True)
class Step:
    activity: str
    place_types: tuple[str, ...] | None
    anchor: str | None
    start: tuple[int, int] | None  # earliest start, drawn from this range of minutes after midnight
    minutes: tuple[int, int] | None
    until: tuple[int, int] | None
    chance: float


@dataclass(frozen=True)
class Templates:
    path: Path  # for messages
    personas: dict[str, dict]  # persona -> genders, occupations, steps (as Step), comments


def load_templates(path: Path = TEMPLATES_FILE) -> Templates:
    data = load_yaml_validated(path, "trajectory_templates")
    for template in data["personas"].values():
        template["steps"] = [
            Step(
                s["activity"],
                tuple(s["place_types"]) if "place_types" in s else None,
                s.get("anchor"),
                tuple(map(parse_clock, s["start"])) if "start" in s else None,
                tuple(s["minutes"]) if "minutes" in s else None,
                tuple(map(parse_clock, s["until"])) if "until" in s else None,
                s.get("chance", 1.0),
            )
            for s in template["steps"]
        ]
    return Templates(Path(path), data["personas"])


def travel_minutes(origin: Place, destination: Place) -> int:
    metres = haversine_m(origin.lon, origin.lat, destination.lon, destination.lat)
    if metres == 0:
        return 0
    minutes = metres / WALK_M_PER_MIN if metres <= WALK_LIMIT_M else RIDE_OVERHEAD_MIN + metres / RIDE_M_PER_MIN
    return SLOT * math.ceil(minutes / SLOT)


def draw(rng: random.Random, low: int, high: int) -> int:
    """A multiple of SLOT in [low, high]."""
    return low + SLOT * rng.randint(0, (high - low) // SLOT)


class DayBuilder:
    """One day of one persona: which places it has been to, where it is and what time it is."""

    def __init__(self, persona: str, templates: Templates, table: PlaceTable, rng: random.Random):
        self.persona, self.template, self.table, self.rng = persona, templates.personas[persona], table, rng
        self.where = f"{templates.path}: personas.{persona}"
        self.occupation = rng.choice(self.template["occupations"])
        self.anchors: dict[str, Place] = {}
        self.visited: list[Place] = []
        self.activities: list[Activity] = []

    def build(self) -> Day:
        for number, step in enumerate(self.template["steps"]):
            if step.chance < 1 and self.rng.random() >= step.chance:
                continue
            self.add(number, step)
        low, high = self.occupation["age"]
        return Day(self.persona, self.rng.randint(low, high), self.rng.choice(self.occupation.get("genders", self.template["genders"])), self.occupation["name"], tuple(self.activities), self.comment())

    def add(self, number: int, step: Step) -> None:
        place = self.place(number, step)
        last = self.activities[-1] if self.activities else None
        here = self.table.lookup(last.place) if last else None
        start = last.end + travel_minutes(here, place) if last else draw(self.rng, *step.start)
        if last and step.start:
            start = max(start, draw(self.rng, *step.start))
        end = start + draw(self.rng, *step.minutes) if step.minutes else max(draw(self.rng, *step.until), start + MIN_UNTIL_MIN)
        if end > 24 * 60:
            raise DomaintuneError(f"{self.where}.steps.{number}: the day runs past midnight ({end // 60}:{end % 60:02d})")
        if last and last.activity == step.activity and last.place == place.name and last.end == start:
            self.activities[-1] = Activity(last.start, end, last.activity, last.place, last.lon, last.lat)
            return
        self.activities.append(Activity(start, end, step.activity, place.name, place.lon, place.lat))
        self.visited.append(place)

    def place(self, number: int, step: Step) -> Place:
        if step.anchor in self.anchors:
            return self.anchors[step.anchor]
        types = self.occupation.get("anchors", {}).get(step.anchor) or step.place_types
        if not types:
            raise DomaintuneError(f"{self.where}.steps.{number}: anchor {step.anchor!r} is used before a step gives its place_types")
        candidates = [p for p in self.table.of_types(list(types)) if p not in self.visited] or self.table.of_types(list(types))
        if not candidates:
            raise DomaintuneError(f"{self.where}.steps.{number}: no place of type {', '.join(types)} in the place table")
        here = self.table.lookup(self.activities[-1].place) if self.activities else None
        weights = [math.exp(-haversine_m(here.lon, here.lat, p.lon, p.lat) / NEARBY_M) if here else 1.0 for p in candidates]
        place = self.rng.choices(candidates, weights)[0]
        if step.anchor:
            self.anchors[step.anchor] = place
        return place

    def comment(self) -> str:
        anchored = set(self.anchors.values())
        others = [p for p in self.visited if p not in anchored] or [p for p in self.visited if p.type != "metro"] or self.visited
        values = {name: place.name for name, place in self.anchors.items()} | {"place": self.rng.choice(others).name}
        text = self.rng.choice(self.template["comments"])
        try:
            return text.format_map(values)
        except KeyError as exc:
            raise DomaintuneError(f"{self.where}.comments: {{{exc.args[0]}}} names no anchor of this persona's day") from None


def generate_days(n: int, seed: int = 0, table: PlaceTable | None = None, templates: Templates | None = None) -> list[Day]:
    table = table or load_places()
    templates = templates or load_templates()
    personas = list(templates.personas)
    return [DayBuilder(personas[i % len(personas)], templates, table, random.Random(f"{seed}:{i}")).build() for i in range(n)]


def to_record(day: Day) -> dict:
    return {"instruction": INSTRUCTION, "input": INPUT, "output": render(day)}


def write_days(path: Path, n: int = SAMPLE_DAYS, seed: int = 0) -> int:
    """Write n days as an Alpaca JSON array; returns the number written."""
    write_json(Path(path), [to_record(day) for day in generate_days(n, seed)])
    return n
