"""The place table (data/trajectory/places.yaml): real places of the district, and how a written place is matched
to one of them. `PlaceTable.match` tries, in order, and says which rule matched:

    name        the table name, spelt with any spacing, case or full-width punctuation
    alias       one of the place's aliases, the same way
    normalised  both sides without bracketed parts (a branch: 星巴克(上海中心店)), then without the table's
                `normalise` prefixes and suffixes (上海, 商场, 大厦, ...): 国金中心商场 is 上海国金中心商场; a name
                that is a table name plus a branch ending in the branch suffix (星巴克陆家嘴店) is that brand.
                Where several places share the normalised name, the one nearest the written point
    nearest     no name rule holds: the table place nearest the written point, when within the tolerance
"""

import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.errors import DomaintuneError
from pipelines.core.paths import REPO_ROOT
from pipelines.core.schema import load_yaml_validated
from pipelines.trajectory.geo import haversine_m
from pipelines.trajectory.grammar import name_key

DATA_DIR = REPO_ROOT / "data" / "trajectory"
PLACES_FILE = DATA_DIR / "places.yaml"
REGION_FILE = DATA_DIR / "lujiazui.geojson"
RULES_FILE = DATA_DIR / "persona_rules.yaml"
TEMPLATES_FILE = DATA_DIR / "day_templates.yaml"
SYNONYMS_FILE = DATA_DIR / "synonyms.yaml"

MATCH_RULES = ("name", "alias", "normalised", "nearest")
BRACKETED = re.compile(r"\([^()]*\)")


@dataclass(frozen=True)
class Place:
    name: str
    type: str
    lon: float
    lat: float


@dataclass(frozen=True)
class Match:
    place: Place
    rule: str  # one of MATCH_RULES
    metres: float  # from the written point to the table's


@dataclass(frozen=True)
class Normaliser:
    """The table's `normalise` section: affixes that do not tell places apart."""

    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    branch_suffix: str = ""

    def __call__(self, name: str) -> str:
        key = BRACKETED.sub("", name_key(name))
        for affixes, strip in ((self.prefixes, str.removeprefix), (self.suffixes, str.removesuffix)):
            for affix in sorted(affixes, key=len, reverse=True):
                shorter = strip(key, name_key(affix))
                if shorter != key and shorter:
                    key = shorter
                    break
        return key


class PlaceTable:
    def __init__(self, places: list[Place], aliases: dict[str, str], normaliser: Normaliser = Normaliser()):
        self.places, self.aliases, self.normaliser = places, aliases, normaliser
        self._by_name = {name_key(p.name): p for p in places}
        self._by_alias = {name_key(alias): self._by_name[name_key(name)] for alias, name in aliases.items()}
        self._by_normalised: dict[str, list[Place]] = {}
        self._brands: dict[str, list[Place]] = {}  # chains: the names written with a bracketed branch, without it
        for spelling, place in [*((p.name, p) for p in places), *((a, self._by_name[name_key(n)]) for a, n in aliases.items())]:
            key = normaliser(spelling)
            _add(self._by_normalised, key, place)
            if BRACKETED.search(name_key(spelling)):
                _add(self._brands, key, place)

    def lookup(self, name: str) -> Place | None:
        """By name or alias only (what the generator and a place's type need; no coordinates involved)."""
        key = name_key(name)
        return self._by_name.get(key) or self._by_alias.get(key)

    def match(self, name: str, lon: float, lat: float, tolerance_m: float) -> Match | None:
        """The table place a written place means, by the first rule of MATCH_RULES that holds (module docstring);
        None when no name rule holds and no place lies within `tolerance_m`."""
        key = name_key(name)
        for rule, place in (("name", self._by_name.get(key)), ("alias", self._by_alias.get(key))):
            if place is not None:
                return Match(place, rule, haversine_m(lon, lat, place.lon, place.lat))
        normalised = self.normaliser(name)
        candidates = self._by_normalised.get(normalised) or self._branch_of(normalised)
        if candidates:
            return self._nearest(candidates, "normalised", lon, lat)
        nearest = self._nearest(self.places, "nearest", lon, lat)
        return nearest if nearest.metres <= tolerance_m else None

    def _branch_of(self, key: str) -> list[Place]:
        """A chain's places when `key` is its brand, a branch name and the branch suffix (星巴克陆家嘴店)."""
        suffix = name_key(self.normaliser.branch_suffix)
        if not suffix or not key.endswith(suffix):
            return []
        return [p for brand, group in self._brands.items() if key.startswith(brand) and len(key) > len(brand) + len(suffix) for p in group]

    @staticmethod
    def _nearest(places: list[Place], rule: str, lon: float, lat: float) -> Match:
        return min((Match(p, rule, haversine_m(lon, lat, p.lon, p.lat)) for p in places), key=lambda m: m.metres)

    def of_types(self, types: list[str]) -> list[Place]:
        return [p for p in self.places if p.type in types]


def _add(index: dict[str, list[Place]], key: str, place: Place) -> None:
    group = index.setdefault(key, [])
    if place not in group:
        group.append(place)


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
    normalise = data.get("normalise", {})
    normaliser = Normaliser(tuple(normalise.get("prefixes", ())), tuple(normalise.get("suffixes", ())), normalise.get("branch_suffix", ""))
    return PlaceTable(places, aliases, normaliser)
