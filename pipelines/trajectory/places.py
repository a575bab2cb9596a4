"""The place table (data/trajectory/places.yaml): real places of the district, looked up by name or alias."""

from dataclasses import dataclass
from pathlib import Path

from pipelines.core.errors import DomaintuneError
from pipelines.core.paths import REPO_ROOT
from pipelines.core.schema import load_yaml_validated
from pipelines.trajectory.grammar import half_width

DATA_DIR = REPO_ROOT / "data" / "trajectory"
PLACES_FILE = DATA_DIR / "places.yaml"
REGION_FILE = DATA_DIR / "lujiazui.geojson"
RULES_FILE = DATA_DIR / "persona_rules.yaml"
TEMPLATES_FILE = DATA_DIR / "day_templates.yaml"


@dataclass(frozen=True)
class Place:
    name: str
    type: str
    lon: float
    lat: float


def name_key(name: str) -> str:
    """Names compare without spacing, case or full-width punctuation: 星巴克（上海中心店） is 星巴克(上海中心店)."""
    return "".join(half_width(name).split()).casefold()


class PlaceTable:
    def __init__(self, places: list[Place], aliases: dict[str, str]):
        self.places = places
        self._by_key = {name_key(p.name): p for p in places}
        self._by_key.update({name_key(alias): self._by_key[name_key(name)] for alias, name in aliases.items()})

    def lookup(self, name: str) -> Place | None:
        return self._by_key.get(name_key(name))

    def of_types(self, types: list[str]) -> list[Place]:
        return [p for p in self.places if p.type in types]


def load_places(path: Path = PLACES_FILE) -> PlaceTable:
    data = load_yaml_validated(path, "trajectory_places")
    places, aliases, seen = [], {}, {}
    for index, row in enumerate(data["places"]):
        for name in (row["name"], *row.get("aliases", [])):
            if name_key(name) in seen:
                raise DomaintuneError(f"{path}: places.{index}: name {name!r} is already used by places.{seen[name_key(name)]}")
            seen[name_key(name)] = index
        places.append(Place(row["name"], row["type"], row["lon"], row["lat"]))
        aliases.update({alias: row["name"] for alias in row.get("aliases", [])})
    return PlaceTable(places, aliases)
