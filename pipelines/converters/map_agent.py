"""Map-agent output -> target records; the agent's tool results go to the sidecar for the evaluator.

A record has `Instruction`, `Question` and `Answer` (keys in any case: agents spell them `Question`,
`question` or `QUESTION`) and optionally `context`, the agent's tool results:

    {"location": {"name", "lng", "lat"}, "radius_m": 2000, "budget": [100, 200], "preferences": ["东北菜"],
     "pois": [{"name", "address", "cuisine", "rating", "distance_m", "avg_price"}, ...]}

Only `pois` (and each POI's `name` and `distance_m`) is required inside `context`: map APIs leave prices and
ratings out now and then, and the evaluator skips a check whose data is missing. `pois` may also hold Amap's place
search results as they come (`distance` as a string, `biz_ext.cost`, `biz_ext.rating`, a `type` chain); they are
mapped to the fields above (pipelines/converters/amap.py), with the `cuisines` option renaming Amap's type names to
the agent's preference words. The target record is
instruction = Instruction, input = Question, output = Answer; the meta is {"id", "context"}, where the id is a
stable hash of the normalised question and answer. Records whose normalised question and answer repeat an
earlier record's (whitespace and punctuation ignored, full- and half-width alike) are dropped as near
duplicates and counted.
"""

import hashlib
import unicodedata
from functools import partial
from pathlib import Path

import jsonschema

from pipelines.converters import amap
from pipelines.converters.records import NON_EMPTY, Conversion, Example, convert_records
from pipelines.core.errors import InvalidRecord
from pipelines.core.registry import register_converter
from pipelines.core.schema import first_schema_error

NUMBER = {"type": "number"}
POI = {
    "type": "object",
    "required": ["name", "distance_m"],
    "properties": {
        "name": NON_EMPTY,
        "address": {"type": "string"},
        "cuisine": {"type": "string"},
        "rating": {"type": "number", "minimum": 0, "maximum": 5},
        "distance_m": {"type": "number", "minimum": 0},
        "avg_price": {"type": "number", "minimum": 0},
    },
}
CONTEXT = {
    "type": "object",
    "required": ["pois"],
    "properties": {
        "location": {"type": "object", "required": ["name"], "properties": {"name": NON_EMPTY, "lng": NUMBER, "lat": NUMBER}},
        "radius_m": {"type": "number", "exclusiveMinimum": 0},
        "budget": {"type": "array", "prefixItems": [NUMBER, NUMBER], "minItems": 2, "maxItems": 2},
        "preferences": {"type": "array", "items": NON_EMPTY},
        "pois": {"type": "array", "items": {"if": amap.IS_AMAP, "then": amap.POI, "else": POI}},
    },
}
# Checked after keys are lower-cased: JSON Schema's `required` cannot match a key in any case.
SCHEMA = {
    "type": "object",
    "required": ["instruction", "question", "answer"],
    "properties": {"instruction": NON_EMPTY, "question": NON_EMPTY, "answer": NON_EMPTY, "context": CONTEXT},
}
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
OBJECT = {"type": "object"}  # all convert_records can check before the keys are lower-cased
DUPLICATE = "near duplicate: same question and answer after whitespace and punctuation normalisation"


def lower_keys(record: dict) -> dict:
    lowered = {}
    for key, value in record.items():
        if key.lower() in lowered:
            raise InvalidRecord(key, f"given twice in different case (also as {key.lower()!r} in another case)")
        lowered[key.lower()] = value
    return lowered


def normalise(text: str) -> str:
    """Full-width folded to half-width (NFKC), case folded, whitespace and punctuation removed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


def sample_id(question: str, answer: str) -> str:
    """Stable across runs and re-orderings; near duplicates share it, which is what makes them duplicates."""
    key = normalise(question) + "\x1f" + normalise(answer)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def to_example(raw: dict, cuisines: dict[str, str] | None = None) -> Example:
    record = lower_keys(raw)
    problem = first_schema_error(record, VALIDATOR)
    if problem is not None:
        raise InvalidRecord(*problem)
    context = record.get("context")
    if context and "budget" in context and context["budget"][0] > context["budget"][1]:
        raise InvalidRecord("context.budget", f"minimum {context['budget'][0]} is above maximum {context['budget'][1]}")
    if context and any(map(amap.is_amap, context["pois"])):
        pois = [amap.to_poi(poi, cuisines or {}, f"context.pois.{i}") if amap.is_amap(poi) else poi for i, poi in enumerate(context["pois"])]
        context = {**context, "pois": pois}
    target = {"instruction": record["instruction"], "input": record["question"], "output": record["answer"]}
    meta = {"id": sample_id(record["question"], record["answer"])}
    if context:
        meta["context"] = context
    return Example(record=target, meta=meta)


def drop_near_duplicates(conversion: Conversion) -> Conversion:
    seen, kept = set(), []
    for example in conversion.examples:
        if example.meta["id"] in seen:
            conversion.skipped[DUPLICATE] += 1
        else:
            seen.add(example.meta["id"])
            kept.append(example)
    conversion.examples = kept
    return conversion


EXAMPLE = {
    "Instruction": "你是美食推荐助手，只推荐地图工具返回的餐厅。",
    "Question": "我在国贸，想吃 100 元以内的东北菜，推荐一家。",
    "Answer": "1. 老盛昌东北菜馆：距您 650 米，人均 85 元。",
    "context": {
        "location": {"name": "国贸", "lng": 116.461, "lat": 39.909},
        "budget": [0, 100],
        "pois": [{"name": "老盛昌东北菜馆", "cuisine": "东北菜", "rating": 4.5, "distance_m": 650, "avg_price": 85}],
    },
}


OPTIONS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "cuisines": {
            "type": "object",
            "additionalProperties": {"type": "string", "minLength": 1},
            "description": "Amap type name -> the cuisine the agent's preferences call it, e.g. {\"四川菜(川菜)\": \"川菜\"}.",
        },
    },
}


@register_converter("map_agent", options_schema=OPTIONS_SCHEMA, example=EXAMPLE)
def convert(paths: list[Path], options: dict, skip_invalid: bool) -> Conversion:
    return drop_near_duplicates(convert_records(paths, OBJECT, partial(to_example, cuisines=options.get("cuisines", {})), skip_invalid))
