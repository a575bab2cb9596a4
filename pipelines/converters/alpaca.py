"""Alpaca records (`instruction`, `input`, `output`, optional `system`, `history`) in any file LLaMA-Factory reads.

Read as LLaMA-Factory's alpaca converter reads them: a null (or missing) `input`, `system` or `history` is none;
the user's turn is `instruction` and `input` joined by a newline, so an empty `instruction` with the question in
`input` is a question too (it becomes the target's instruction: the same tokens). A record whose user turn or
`output` has no text is refused, since LLaMA-Factory would train on an empty turn or drop the record.
"""

from pathlib import Path

from pipelines.converters.records import NON_EMPTY, Conversion, convert_records
from pipelines.core.errors import InvalidRecord
from pipelines.core.registry import register_converter

TEXT_OR_NULL = {"type": ["string", "null"]}
SCHEMA = {
    "type": "object",
    "required": ["output"],
    "properties": {
        "instruction": TEXT_OR_NULL,
        "input": TEXT_OR_NULL,
        "output": NON_EMPTY,
        "system": TEXT_OR_NULL,
        "history": {
            "type": ["array", "null"],
            "items": {"type": "array", "prefixItems": [NON_EMPTY, NON_EMPTY], "minItems": 2, "maxItems": 2},
        },
    },
}


def to_target(record: dict) -> dict:
    instruction, query = record.get("instruction") or "", record.get("input") or ""
    if not instruction:
        instruction, query = query, ""  # LLaMA-Factory joins only the parts that are there
    if not (instruction + query).strip():
        raise InvalidRecord("instruction", "no text in instruction or input: the user's turn would be empty")
    target = {"instruction": instruction, "input": query, "output": record["output"]}
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
