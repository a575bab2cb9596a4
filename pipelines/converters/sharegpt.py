"""ShareGPT in any file LLaMA-Factory reads, the whole of its 0.9.5 spec (its data/README.md) -> ShareGPT target records.

A record is {"conversations": [turns], "system": str, "tools": str}; a turn is {"from": role, "value": text}
with role human / gpt / function_call / observation (and an optional leading system turn). Also accepted
without options: {"role": "user"|"assistant"|..., "content": ...}, and the turns under another column name
("messages", "dialog", ...) when the first record has exactly one column that is a list of turns. Data registered
in LLaMA-Factory with other names passes the same `columns` and `tags` here (source.options), e.g.
    options: {columns: {messages: messages}, tags: {role_tag: role, content_tag: content, user_tag: user}}
Turns are checked with the ordering rules LLaMA-Factory applies (human/observation at odd positions,
gpt/function_call at even ones, ending with gpt/function_call), which it would otherwise enforce by quietly
skipping the record at training time. A function_call's value must be JSON {"name", "arguments"} (or a list of
them), and `tools` a JSON list of function definitions (a list is accepted and written as its JSON text).
Output uses the default tags, so every dataset registers the same way (pipelines/data/dataset_info.py).
Errors name file, record, the turn's index in the file's list, and the field:
    data.json: record 4: conversations[1].from: 'observation' where LLaMA-Factory expects gpt or function_call
"""

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

from pipelines.converters.records import Conversion, convert_records
from pipelines.core.errors import InvalidRecord, RecordError
from pipelines.core.record_files import iter_records
from pipelines.core.registry import register_converter

HUMAN, GPT, FUNCTION, OBSERVATION, SYSTEM = "human", "gpt", "function_call", "observation", "system"
# LLaMA-Factory: turn 1, 3, ... (1-based, after the system turn) is human or observation; 2, 4, ... gpt or function_call.
EXPECTED = ((HUMAN, OBSERVATION), (GPT, FUNCTION))
TAG_NAMES = ("role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag", "function_tag", "system_tag")
DEFAULT_TAGS = dict(zip(TAG_NAMES, ("from", "value", HUMAN, GPT, OBSERVATION, FUNCTION, SYSTEM)))
DEFAULT_COLUMNS = {"messages": "conversations", "system": "system", "tools": "tools"}

STRING = {"type": "string"}
OPTIONS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "columns": {"type": "object", "additionalProperties": False, "properties": {k: STRING for k in DEFAULT_COLUMNS}},
        "tags": {"type": "object", "additionalProperties": False, "properties": {k: STRING for k in TAG_NAMES}},
    },
}
EXAMPLE = {
    "conversations": [
        {"from": "human", "value": "北京明天天气怎么样？"},
        {"from": "function_call", "value": '{"name": "get_weather", "arguments": {"city": "北京"}}'},
        {"from": "observation", "value": '{"weather": "晴", "high": 25}'},
        {"from": "gpt", "value": "北京明天晴，最高 25 度。"},
    ],
    "system": "你是天气助手。",
    "tools": '[{"name": "get_weather", "description": "查询天气", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]',
}


@dataclass(frozen=True)
class Spelling:
    """How one dataset names its columns, turn keys and roles; `roles` maps each accepted role to its default tag."""

    messages: str
    system: str
    tools: str
    role_keys: tuple[str, ...]
    content_keys: tuple[str, ...]
    roles: dict[str, str]

    @classmethod
    def of(cls, options: dict) -> "Spelling":
        columns = {**DEFAULT_COLUMNS, **options.get("columns", {})}
        if "tags" in options:
            tags = {**DEFAULT_TAGS, **options["tags"]}
            roles = {tags[f"{name}_tag"]: DEFAULT_TAGS[f"{name}_tag"] for name in ("user", "assistant", "observation", "function", "system")}
            return cls(**columns, role_keys=(tags["role_tag"],), content_keys=(tags["content_tag"],), roles=roles)
        # Without tags both spellings seen in the wild are read: from/value and role/content, human/gpt and user/assistant.
        roles = {HUMAN: HUMAN, "user": HUMAN, GPT: GPT, "assistant": GPT, OBSERVATION: OBSERVATION, FUNCTION: FUNCTION, SYSTEM: SYSTEM}
        return cls(**columns, role_keys=("from", "role"), content_keys=("value", "content"), roles=roles)

    def schema(self) -> dict:
        """Structure only (the turn rules are code below); its `properties` are also what is carried over."""
        turn = {"type": "object", "properties": {key: {} for key in self.role_keys + self.content_keys}}
        return {
            "type": "object",  # the turns column is required, but checked in to_sharegpt to say how to name it
            "properties": {
                self.messages: {"type": "array", "minItems": 1, "items": turn},
                self.system: STRING,
                self.tools: {"type": ["string", "array"]},
            },
        }


def _field(turn: dict, keys: tuple[str, ...], where: str, what: str) -> tuple[str, object]:
    for key in keys:
        if key in turn:
            return f"{where}.{key}", turn[key]
    raise InvalidRecord(where, f"no {what}: expected key {' or '.join(map(repr, keys))}")


class Turn(NamedTuple):
    role: str  # the default tag
    text: str
    written: str  # the role as the file spells it, for messages
    role_field: str  # where it is in the record, for messages: "conversations[3].from"
    text_field: str


def read_turn(turn: dict, index: int, spelling: Spelling) -> Turn:
    where = f"{spelling.messages}[{index}]"
    role_field, role = _field(turn, spelling.role_keys, where, "role")
    text_field, text = _field(turn, spelling.content_keys, where, "content")
    if role not in spelling.roles:
        raise InvalidRecord(role_field, f"unknown role {role!r}; roles are {', '.join(spelling.roles)}")
    if not isinstance(text, str):
        raise InvalidRecord(text_field, f"{text!r} is not of type 'string'")
    return Turn(spelling.roles[role], text, role, role_field, text_field)


def check_function_call(text: str, field: str) -> None:
    # LLaMA-Factory parses these only when it tokenises, and stops the whole run on a bad one.
    try:
        calls = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRecord(field, f"a function call must be JSON {{\"name\", \"arguments\"}}: {exc.msg}") from None
    for call in calls if isinstance(calls, list) else [calls]:
        if not isinstance(call, dict) or not isinstance(call.get("name"), str) or "arguments" not in call:
            raise InvalidRecord(field, f"a function call must be JSON {{\"name\", \"arguments\"}} (or a list of them), got {text!r}")


def tools_text(tools: str | list) -> str:
    text = tools if isinstance(tools, str) else json.dumps(tools, ensure_ascii=False)
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRecord("tools", f"not a JSON list of function definitions: {exc.msg} at character {exc.pos}") from None
    if not isinstance(parsed, list) or not all(isinstance(t, dict) and ("name" in t or "function" in t) for t in parsed):
        raise InvalidRecord("tools", "must be a JSON list of function definitions, each with a name")
    return text


def to_sharegpt(record: dict, spelling: Spelling) -> dict:
    if spelling.messages not in record:
        columns = ", ".join(map(repr, record)) or "none"
        raise InvalidRecord(spelling.messages, f"no such column (the record's columns: {columns}); name the column of turns in source.options.columns.messages")
    turns = [read_turn(turn, i, spelling) for i, turn in enumerate(record[spelling.messages])]
    system = record.get(spelling.system, "")
    if turns[0].role == SYSTEM:
        system, turns = turns[0].text, turns[1:]
    return target_record(turns, system, record.get(spelling.tools), spelling.messages)


def target_record(turns: list[Turn], system: str, tools: str | list | None, messages_field: str) -> dict:
    """The ShareGPT target record of turns already read, checked with LLaMA-Factory's ordering rules."""
    conversation = []
    for position, turn in enumerate(turns):
        if turn.role not in EXPECTED[position % 2]:
            written = repr(turn.written) if turn.written == turn.role else f"{turn.written!r} ({turn.role})"
            raise InvalidRecord(turn.role_field, f"{written} where LLaMA-Factory expects {' or '.join(EXPECTED[position % 2])}")
        if turn.role != OBSERVATION and not turn.text.strip():
            raise InvalidRecord(turn.text_field, f"empty {turn.role} turn")
        if turn.role == FUNCTION:
            check_function_call(turn.text, turn.text_field)
        conversation.append({"from": turn.role, "value": turn.text})
    if len(conversation) % 2:
        last = conversation[-1]["from"] if conversation else SYSTEM
        raise InvalidRecord(messages_field, f"ends with a {last} turn; the last turn must be gpt or function_call, the answer the model learns")
    target = {"conversations": conversation}
    if system:
        target["system"] = system
    if tools:
        target["tools"] = tools_text(tools)
    return target


def turns_column(paths: list[Path], spelling: Spelling) -> str:
    """The column of turns in the first record: the only one that is a list of turns, else the default name."""
    try:
        first = next((record for _, record in iter_records(paths[0])), None) if paths else None
    except RecordError:
        return spelling.messages  # the conversion itself reports the file's problem, with its location
    if not isinstance(first, dict) or spelling.messages in first:
        return spelling.messages
    lists = [
        key
        for key, value in first.items()
        if isinstance(value, list) and value and all(isinstance(turn, dict) and any(k in turn for k in spelling.role_keys) for turn in value)
    ]
    return lists[0] if len(lists) == 1 else spelling.messages


@register_converter("sharegpt", options_schema=OPTIONS_SCHEMA, example=EXAMPLE)
def convert(paths: list[Path], options: dict, skip_invalid: bool) -> Conversion:
    spelling = Spelling.of(options)
    if "messages" not in options.get("columns", {}):
        spelling = replace(spelling, messages=turns_column(list(paths), spelling))
    return convert_records(paths, spelling.schema(), lambda record: to_sharegpt(record, spelling), skip_invalid)
