"""The agent's questions: drawn evenly from a YAML space with a seed, or read from a user's question file.

Drawing: each dimension (location, budget, radius, template, cuisines per question, and each location's
cuisines) is walked in a seeded shuffled order that is reshuffled when used up, so after any number of
questions every value of a dimension has come up equally often, within one (instructions are taken in turn).
A location's cuisines are those the space lists, or else those the POI source has within its widest radius. A question whose text repeats an earlier one is
drawn again; a space too small to give another new question ends the stream.

    domaintune agent-data ... --questions my_space.yaml      # a space of your own (recipes/schema/agent.schema.json)
    domaintune agent-data ... --questions my_questions.jsonl # your questions (recipes/schema/agent_question.schema.json)
"""

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema

from pipelines.agent.pois import PoiSource
from pipelines.core.errors import DomaintuneError, RecordError
from pipelines.core.paths import REPO_ROOT
from pipelines.core.readers import iter_json_records
from pipelines.core.schema import first_schema_error, load_schema, load_yaml_validated

AGENT_CONFIG = REPO_ROOT / "data" / "restaurant" / "agent.yaml"
SEED = 7
MAX_REDRAWS = 1000  # repeated texts in a row before a space counts as used up


@dataclass(frozen=True)
class Question:
    index: int  # 0-based position in the stream: what the trace and a resumed run key on
    text: str
    instruction: str
    location: str | None = None
    radius_m: int | None = None
    budget: tuple[float, float] | None = None
    preferences: tuple[str, ...] = ()


def load_config(path: Path = AGENT_CONFIG) -> dict:
    config = load_yaml_validated(path, "agent")
    for number, (low, high) in enumerate(config["questions"]["budgets"], start=1):
        if low > high:
            raise DomaintuneError(f"{path}: questions.budgets: budget {number} [{low}, {high}] has its low above its high")
    return config


class Cycle:
    """The values in a shuffled order, reshuffled each time they are used up."""

    def __init__(self, values: list, rng: random.Random):
        self.values, self.rng, self.order = list(values), rng, []

    def next(self):
        if not self.order:
            self.order = self.rng.sample(self.values, len(self.values))
        return self.order.pop()


def space_values(config: dict, source: PoiSource) -> tuple[list[str], list[str]]:
    """Locations and cuisines of the space: listed in the config, or the POI source's own."""
    space = config["questions"]
    locations = space.get("locations") or [place.name for place in source.places()]
    cuisines = space.get("cuisines") or source.cuisines()
    if not locations:
        raise DomaintuneError(f"{source.description} lists no places: name the questions' locations in the question space (questions.locations)")
    if not cuisines:
        raise DomaintuneError(f"{source.description} lists no cuisines: name them in the question space (questions.cuisines)")
    return locations, cuisines


def cuisines_near(source: PoiSource, location: str, radius_m: int) -> list[str]:
    place = source.geocode(location)
    if place is None:
        return []
    return sorted({found.poi.cuisine for found in source.around(place.lng, place.lat, radius_m, None) if found.poi.cuisine})


def draw(config: dict, source: PoiSource, seed: int) -> Iterator[Question]:
    space = config["questions"]
    locations, cuisines = space_values(config, source)
    rng = random.Random(seed)
    cycles = {name: Cycle(values, rng) for name, values in (
        ("location", locations), ("budget", space["budgets"]), ("radius", space["radii"]),
        ("template", space["templates"]), ("count", space["cuisines_per_question"]))}
    # Unless the space lists its cuisines, a location is asked about the cuisines found within its widest radius:
    # nobody asks for 本帮菜 at 五道口.
    widest = max(radius["radius_m"] for radius in space["radii"])
    near = {loc: cuisines if space.get("cuisines") else cuisines_near(source, loc, widest) or cuisines for loc in locations}
    cuisine_cycles = {loc: Cycle(near[loc], rng) for loc in locations}
    instructions = itertools.cycle(config["instructions"])
    seen, redraws, index = set(), 0, 0
    while redraws < MAX_REDRAWS:
        location, (low, high), radius = cycles["location"].next(), cycles["budget"].next(), cycles["radius"].next()
        wanted = min(cycles["count"].next(), len(near[location]))
        chosen = []
        while len(chosen) < wanted:
            cuisine = cuisine_cycles[location].next()
            if cuisine not in chosen:
                chosen.append(cuisine)
        budget = space["budget_text"]["upto" if low == 0 else "range"].format(low=low, high=high)
        text = cycles["template"].next().format(location=location, budget=budget, cuisines="、".join(chosen), radius=radius["text"]).strip()
        if text in seen:
            redraws += 1
            continue
        seen.add(text)
        redraws = 0
        yield Question(index, text, next(instructions), location, radius["radius_m"], (low, high), tuple(chosen))
        index += 1


def read_file(path: Path, config: dict) -> Iterator[Question]:
    """A user's questions (JSON array or JSON Lines), each checked; a bad one is one line naming it."""
    validator = jsonschema.Draft202012Validator(load_schema("agent_question"))
    instructions = itertools.cycle(config["instructions"])
    for index, (location, record) in enumerate(iter_json_records(path)):
        problem = first_schema_error(record, validator)
        if problem is None and "budget" in record and record["budget"][0] > record["budget"][1]:
            problem = ("budget", f"low {record['budget'][0]} is above high {record['budget'][1]}")
        if problem is not None:
            raise RecordError(str(path), location, *problem)
        budget = tuple(record["budget"]) if "budget" in record else None
        yield Question(index, record["question"].strip(), record.get("instruction") or next(instructions), record.get("location"),
                       record.get("radius_m"), budget, tuple(record.get("preferences", ())))


def questions(source: PoiSource, path: Path | None, seed: int) -> tuple[dict, Iterator[Question]]:
    """The agent config (prompt, instructions) and the question stream for `--questions PATH` (None: the shipped space)."""
    if path is not None and Path(path).suffix in (".json", ".jsonl"):
        config = load_config()
        return config, read_file(Path(path), config)
    config = load_config(Path(path) if path is not None else AGENT_CONFIG)
    return config, draw(config, source, seed)
