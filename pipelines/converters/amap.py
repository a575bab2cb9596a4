"""Amap (高德) Web API place results as map-agent POIs, so an agent's tool output is taken as it comes.

Amap's v3 place search (`/v3/place/around`) answers {"status": "1", "info": "OK", "pois": [...]}; in each POI every
value is a string, and a value Amap does not have is an empty list `[]`. A POI of that `pois` list becomes one POI of
the map-agent context (pipelines/converters/map_agent.py):

    Amap field                          map-agent POI
    name                                name
    address                             address       left out when []
    distance "342"                      distance_m    342 metres from the search centre (an around search has it;
                                                      a keyword search answers [] and the POI is refused)
    biz_ext.cost "85.00"                avg_price     85 yuan per person; left out when [] or ""
    biz_ext.rating "4.6"                rating        0-5; left out when [] or ""
    type "餐饮服务;中餐厅;四川菜(川菜)"     cuisine       "四川菜(川菜)": the finest level of the first type (types are
                                                      joined by "|"), then renamed by the converter's `cuisines`
                                                      option to the words the agent's preferences use, e.g.
                                                      {"四川菜(川菜)": "川菜", "火锅店": "火锅", "日本料理": "日料"}
The other fields (id, location, tel, ...) are dropped. A POI is read as Amap's when it has `distance` or `biz_ext`
and no `distance_m`; both shapes may be mixed in one list.
"""

from pipelines.converters.records import NON_EMPTY
from pipelines.core.errors import InvalidRecord

# One schema per field (no anyOf), so a bad value's message says what was expected. Amap says "no value" with [].
DECIMAL = r"^\s*\d+(\.\d+)?\s*$"  # "342", "85.00"
AMOUNT = {"type": ["string", "number"], "pattern": DECIMAL, "minimum": 0}
MAYBE_AMOUNT = {"type": ["string", "number", "array"], "pattern": r"^\s*(\d+(\.\d+)?)?\s*$", "minimum": 0, "maxItems": 0}  # or "" or []
MAYBE_TEXT = {"type": ["string", "array"], "maxItems": 0}
POI = {
    "type": "object",
    "required": ["name", "distance"],
    "properties": {
        "name": NON_EMPTY,
        "address": MAYBE_TEXT,
        "type": MAYBE_TEXT,
        "distance": AMOUNT,
        "biz_ext": {"type": ["object", "array"], "maxItems": 0, "properties": {"cost": MAYBE_AMOUNT, "rating": MAYBE_AMOUNT}},
    },
}
# The JSON Schema `if` that tells Amap's POIs from the map agent's own.
IS_AMAP = {"anyOf": [{"required": ["distance"]}, {"required": ["biz_ext"]}], "not": {"required": ["distance_m"]}}
MAX_RATING = 5


def is_amap(poi: dict) -> bool:
    return ("distance" in poi or "biz_ext" in poi) and "distance_m" not in poi


def _number(value: str | float | list) -> float | None:
    if value in ([], ""):
        return None
    number = float(value)
    return int(number) if number.is_integer() else number


def cuisine(type_chain: str, cuisines: dict[str, str]) -> str | None:
    finest = type_chain.split("|")[0].split(";")[-1].strip()
    return cuisines.get(finest, finest) or None


def to_poi(poi: dict, cuisines: dict[str, str], where: str) -> dict:
    """The map-agent POI of one Amap POI that passed POI's schema; `where` names it in errors (context.pois.3)."""
    biz = poi.get("biz_ext") or {}
    found = {
        "name": poi["name"],
        "address": poi.get("address") or None,
        "cuisine": cuisine(poi["type"], cuisines) if poi.get("type") else None,
        "rating": _number(biz.get("rating", [])),
        "distance_m": _number(poi["distance"]),
        "avg_price": _number(biz.get("cost", [])),
    }
    if found["rating"] is not None and found["rating"] > MAX_RATING:
        raise InvalidRecord(f"{where}.biz_ext.rating", f"{found['rating']:g} is above Amap's highest rating {MAX_RATING}")
    return {key: value for key, value in found.items() if value is not None}
