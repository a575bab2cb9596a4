"""Alpaca JSON / JSONL (`instruction`, `input`, `output`, optional `system`, `history`) -> target records."""

from pathlib import Path

from pipelines.converters.records import NON_EMPTY, Conversion, convert_records
from pipelines.core.registry import register_converter

SCHEMA = {
    "type": "object",
    "required": ["instruction", "output"],
    "properties": {
        "instruction": NON_EMPTY,
        "input": {"type": "string"},
        "output": NON_EMPTY,
        "system": {"type": "string"},
        "history": {
            "type": "array",
            "items": {"type": "array", "prefixItems": [NON_EMPTY, NON_EMPTY], "minItems": 2, "maxItems": 2},
        },
    },
}


def to_target(record: dict) -> dict:
    target = {"instruction": record["instruction"], "input": record.get("input", ""), "output": record["output"]}
    for optional in ("system", "history"):
        if record.get(optional):
            target[optional] = record[optional]
    return target


EXAMPLE = {
    "instruction": "怎么查话费？",
    "input": "",
    "output": "发送 CXHF 到 10086 即可查询。",
    "system": "你是中国移动客服。",
    "history": [["你好", "您好，请问有什么可以帮您？"]],
}


@register_converter("alpaca", options_schema={"type": "object", "additionalProperties": False}, example=EXAMPLE)
def convert(paths: list[Path], options: dict, skip_invalid: bool) -> Conversion:
    return convert_records(paths, SCHEMA, to_target, skip_invalid)
