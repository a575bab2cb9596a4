"""ShareGPT JSON / JSONL (`conversations` of human/gpt turns, optional `system`) -> target records.

Both spellings seen in the wild are accepted: {"from": "human"|"gpt"|"system", "value"} and
{"role": "user"|"assistant"|"system", "content"}. The last assistant turn is the output; earlier
pairs become history. Tool and observation turns are out of scope and rejected by the schema.
"""

from pathlib import Path

from pipelines.converters.records import Conversion, convert_records
from pipelines.core.errors import InvalidRecord
from pipelines.core.registry import register_converter

USER, ASSISTANT, SYSTEM = ("human", "user"), ("gpt", "assistant"), ("system",)
TURN = {
    "type": "object",
    "oneOf": [
        {"required": ["from", "value"], "properties": {"from": {"enum": [*USER, *ASSISTANT, *SYSTEM]}, "value": {"type": "string"}}},
        {"required": ["role", "content"], "properties": {"role": {"enum": [*USER, *ASSISTANT, *SYSTEM]}, "content": {"type": "string"}}},
    ],
}
SCHEMA = {
    "type": "object",
    "required": ["conversations"],
    "properties": {
        "conversations": {"type": "array", "minItems": 2, "items": TURN},
        "system": {"type": "string"},
    },
}


def _turn(turn: dict) -> tuple[str, str]:
    role = turn.get("from", turn.get("role"))
    text = turn.get("value", turn.get("content"))
    if role in USER:
        return "user", text
    return ("assistant", text) if role in ASSISTANT else ("system", text)


def to_target(record: dict) -> dict:
    turns = [_turn(t) for t in record["conversations"]]
    system = record.get("system", "")
    if turns[0][0] == "system":
        system, turns = turns[0][1], turns[1:]
    roles = [role for role, _ in turns]
    if len(turns) < 2 or len(turns) % 2 or roles != ["user", "assistant"] * (len(turns) // 2):
        raise InvalidRecord("conversations", f"turns must alternate user/assistant and end with the assistant, got {roles}")
    pairs = [[turns[i][1], turns[i + 1][1]] for i in range(0, len(turns), 2)]
    target = {"instruction": pairs[-1][0], "input": "", "output": pairs[-1][1]}
    if system:
        target["system"] = system
    if len(pairs) > 1:
        target["history"] = pairs[:-1]
    return target


@register_converter("sharegpt", options_schema={"type": "object", "additionalProperties": False})
def convert(paths: list[Path], options: dict, skip_invalid: bool) -> Conversion:
    return convert_records(paths, SCHEMA, to_target, skip_invalid)
