"""Deterministic agent output for the restaurant task: what a map agent (geocoding, nearby search, a preference
generator) writes, drawn from the committed POI table data/restaurant/pois.yaml.

Each record is a user's question (location, budget per person, tastes, sometimes a walking distance), the
agent's recommendation of up to three restaurants, and the agent's tool results in `context`. The agent ranks
the restaurants within the radius by how well they fit (taste and budget, then taste, then budget), then by
rating and distance, so an answer can name a place outside the budget or the tastes when nothing better is
near: real agent output is not perfect either. A few exact and near duplicates (whitespace, half-width
punctuation) and lower-case keys are mixed in, as merged agent logs have them.

    domaintune gen-restaurant -o data/raw/restaurant/agent_output.jsonl     # regenerate the committed set
"""

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.atomic import write_text
from pipelines.core.paths import REPO_ROOT
from pipelines.core.schema import load_yaml_validated

POI_TABLE = REPO_ROOT / "data" / "restaurant" / "pois.yaml"
SAMPLE_SET = REPO_ROOT / "data" / "raw" / "restaurant" / "agent_output.jsonl"
SAMPLE_RECORDS = 250
SAMPLE_SEED = 11
EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG); haversine is within 0.5% of the ellipsoid at city scale

INSTRUCTIONS = (
    "你是一个餐厅推荐助手，请根据用户的位置、预算和口味偏好，推荐附近合适的餐厅。",
    "根据用户提供的位置、人均预算和口味偏好，推荐周边的餐厅，并说明地址、评分、距离和人均消费。",
)
BUDGETS = ((0, 50), (50, 100), (100, 200), (150, 300), (200, 400))
# (radius_m, what the user writes, weight): the seed agent searched 2000 m unless the user said otherwise.
RADII = ((2000, "", 6), (1000, "希望步行能到，1公里以内。", 2), (3000, "3公里以内都可以。", 1))
RECOMMEND = 3
PAGE_SIZE = 10  # POIs per page of a map API's nearby search; the agent reads the first page only
DUPLICATES = 4  # exact copies, and as many near copies
LOWER_KEYS_SHARE = 0.05  # records written by an agent version that spelt its keys in lower case


@dataclass(frozen=True)
class Request:
    location: dict
    budget: tuple[int, int]
    radius_m: int
    radius_text: str
    tastes: tuple[str, ...]  # as the user writes them: cuisines and style words
    instruction: str
    style: str  # answer layout: "inline", "lines" or "dun" (1、)


def haversine_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    """Great-circle distance in metres between two (lng, lat) points in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lng2 - lng1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def load_table(path: Path = POI_TABLE) -> dict:
    return load_yaml_validated(path, "pois")


def nearby(location: dict, search_radius_m: int) -> list[dict]:
    """The agent's nearby-search result: the first page of POIs within the search radius, nearest first."""
    found = []
    for poi in location["pois"]:
        distance = round(haversine_m(location["lng"], location["lat"], poi["lng"], poi["lat"]))
        if distance <= search_radius_m:
            found.append({"name": poi["name"], "address": poi["address"], "cuisine": poi["cuisine"],
                          "rating": poi["rating"], "distance_m": distance, "avg_price": poi["avg_price"]})
    return sorted(found, key=lambda p: (p["distance_m"], p["name"]))[:PAGE_SIZE]


def expand(tastes: tuple[str, ...], styles: dict[str, list[str]]) -> list[str]:
    """The preference generator: style words become the cuisines they stand for, order kept, no repeats."""
    cuisines = []
    for taste in tastes:
        for cuisine in styles.get(taste, [taste]):
            if cuisine not in cuisines:
                cuisines.append(cuisine)
    return cuisines


def choose(pois: list[dict], radius_m: int, budget: tuple[int, int], cuisines: list[str]) -> list[dict]:
    def rank(poi: dict) -> tuple:
        tasty = poi["cuisine"] in cuisines
        affordable = budget[0] <= poi["avg_price"] <= budget[1]
        return (not (tasty and affordable), not tasty, not affordable, -poi["rating"], poi["distance_m"])

    return sorted((p for p in pois if p["distance_m"] <= radius_m), key=rank)[:RECOMMEND]


def question(request: Request, styles: dict) -> str:
    lo, hi = request.budget
    budget = f"人均{hi}元以内" if lo == 0 else f"人均{lo}-{hi}元"
    tastes = "、".join(f"{t}风格" if t in styles else t for t in request.tastes)
    return f"我在{request.location['name']}，预算{budget}，偏好{tastes}。{request.radius_text}"


def distance_text(metres: int, style: str) -> str:
    # Agents switch to kilometres past 1 km in some layouts; the evaluator must read both.
    return f"{metres / 1000:.2f}公里" if style == "lines" and metres >= 1000 else f"{metres}米"


def answer(chosen: list[dict], request: Request, cuisines: list[str]) -> str:
    if not chosen:
        return f"抱歉，{request.radius_m}米范围内没有找到合适的餐厅，建议扩大搜索范围。"
    items = []
    for number, poi in enumerate(chosen, start=1):
        marker = f"{number}、" if request.style == "dun" else f"{number}. "
        fit = "，符合您的口味偏好" if poi["cuisine"] in cuisines else ""
        items.append(f"{marker}{poi['name']} - 地址：{poi['address']}，评分{poi['rating']}，"
                     f"距离{distance_text(poi['distance_m'], request.style)}，人均{poi['avg_price']}元，{poi['cuisine']}{fit}")
    head = f"为您推荐以下{len(chosen)}家餐厅："
    if request.style == "lines":
        return head + "\n" + "\n".join(items) + "\n祝您用餐愉快！"
    return head + "；".join(items) + "。祝您用餐愉快！"


def draw_request(rng: random.Random, table: dict) -> Request:
    location = rng.choice(table["locations"])
    cuisines = sorted({p["cuisine"] for p in location["pois"]})
    tastes = tuple(rng.sample(cuisines + sorted(table["styles"]), rng.choice((1, 2, 2))))
    radius_m, radius_text, _ = rng.choices(RADII, weights=[r[2] for r in RADII])[0]
    style = rng.choices(("inline", "lines", "dun"), weights=(6, 3, 1))[0]
    return Request(location, rng.choice(BUDGETS), radius_m, radius_text, tastes, rng.choice(INSTRUCTIONS), style)


def make_record(request: Request, table: dict) -> dict:
    pois = nearby(request.location, table["search_radius_m"])
    cuisines = expand(request.tastes, table["styles"])
    loc = request.location
    return {
        "Instruction": request.instruction,
        "Question": question(request, table["styles"]),
        "Answer": answer(choose(pois, request.radius_m, request.budget, cuisines), request, cuisines),
        "context": {
            "location": {"name": loc["name"], "lng": loc["lng"], "lat": loc["lat"]},
            "radius_m": request.radius_m,
            "budget": list(request.budget),
            "preferences": cuisines,
            "pois": pois,
        },
    }


def near_copy(record: dict) -> dict:
    """The same record as another agent run writes it: half-width punctuation and stray spaces."""
    copy = dict(record)
    copy["Answer"] = record["Answer"].replace("，", ", ").replace("；", "; ").replace("：", ": ")
    copy["Question"] = record["Question"].replace("，", " , ")
    return copy


def lower_keys(record: dict) -> dict:
    return {key.lower(): value for key, value in record.items()}


def generate(n_records: int = SAMPLE_RECORDS, seed: int = SAMPLE_SEED, table: dict | None = None) -> list[dict]:
    """`n_records` distinct questions, DUPLICATES exact and DUPLICATES near copies (fewer when there are fewer
    records to copy) at random places."""
    table = table or load_table()
    rng = random.Random(seed)
    records, seen = [], set()
    while len(records) < n_records:
        record = make_record(draw_request(rng, table), table)
        if record["Question"] not in seen:
            seen.add(record["Question"])
            records.append(record)
    duplicates = min(DUPLICATES, n_records)
    copies = [dict(r) for r in rng.sample(records, duplicates)]
    copies += [near_copy(r) for r in rng.sample(records, duplicates)]
    for copy in copies:
        records.insert(rng.randrange(len(records) + 1), copy)
    return [lower_keys(r) if rng.random() < LOWER_KEYS_SHARE else r for r in records]


def write_records(records: list[dict], output: Path) -> Path:
    write_text(output, "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records))
    return Path(output)
