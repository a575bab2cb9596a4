"""OpenAI chat messages JSON / JSONL (the fine-tuning format most data tools write) -> ShareGPT target records.

A record is {"messages": [...], "tools": [...]} (`tools` may also be the JSON text of the list, as LLaMA-Factory's
own openai formatting accepts); roles system (or developer), user, assistant and tool:
    system -> the record's system prompt (only as the first message: ShareGPT has no system turn elsewhere)
    user -> human;  assistant -> gpt;  assistant with `tool_calls` -> function_call, its value the JSON list
    [{"name", "arguments"}] with `arguments` parsed from the JSON text OpenAI writes;
    tool -> observation; consecutive tool results (parallel calls) become one observation turn, joined the way
    LLaMA-Factory's own OpenAI reader joins them.
`content` may be a string or a list of text parts. Text an assistant writes beside its tool_calls has no place
in a ShareGPT function_call turn: it is dropped and counted in the build summary, never silently.
"""

import json
from collections import Counter
from pathlib import Path

from pipelines.converters.records import NON_EMPTY, Conversion, convert_records
from pipelines.converters.sharegpt import (
    FUNCTION,
    GPT,
    HUMAN,
    OBSERVATION,
    Turn,
    target_record,
)
from pipelines.core.errors import InvalidRecord
from pipelines.core.registry import register_converter

ROLES = {"system": "system", "developer": "system", "user": HUMAN, "assistant": GPT, "tool": OBSERVATION}
TOOL_JOIN = "\n</tool_response>\n<tool_response>\n"  # LLaMA-Factory's OpenAIDatasetConverter, 0.9.5
CONTENT_BESIDE_CALLS = "messages[].content beside tool_calls"
MULTIMODAL = "multimodal columns are not supported by this task's model"

TOOL_CALL = {
    "type": "object",
    "required": ["function"],
    "properties": {
        "id": {},
        "type": {"const": "function"},
        "function": {
            "type": "object",
            "required": ["name", "arguments"],
            "properties": {"name": NON_EMPTY, "arguments": {"type": ["string", "object"]}},
        },
    },
}
MESSAGE = {
    "type": "object",
    "required": ["role"],
    "properties": {
        "role": {"enum": list(ROLES)},
        "content": {"type": ["string", "array", "null"]},
        "tool_calls": {"type": "array", "minItems": 1, "items": TOOL_CALL},
        "tool_call_id": {},  # ties a result to its call; ShareGPT keeps the order instead
    },
}
SCHEMA = {
    "type": "object",
    "required": ["messages"],
    # LLaMA-Factory's openai formatting takes tools as a list or as the JSON text of one.
    "properties": {"messages": {"type": "array", "minItems": 1, "items": MESSAGE}, "tools": {"type": ["array", "string"]}},
}
EXAMPLE = {
    "messages": [
        {"role": "system", "content": "你是天气助手。"},
        {"role": "user", "content": "北京明天天气怎么样？"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "北京"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"weather": "晴", "high": 25}'},
        {"role": "assistant", "content": "北京明天晴，最高 25 度。"},
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "查询天气", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
}


def text_of(content, field: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for i, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
            kind = part.get("type") if isinstance(part, dict) else type(part).__name__
            reason = MULTIMODAL if kind in ("image_url", "input_audio", "file") else f"unsupported content part {kind!r}"
            raise InvalidRecord(f"{field}[{i}]", reason)
        parts.append(part["text"])
    return "".join(parts)


def calls_text(tool_calls: list[dict], field: str) -> str:
    calls = []
    for i, call in enumerate(tool_calls):
        arguments = call["function"]["arguments"]
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError as exc:
                raise InvalidRecord(f"{field}[{i}].function.arguments", f"not valid JSON: {exc.msg}") from None
        calls.append({"name": call["function"]["name"], "arguments": arguments})
    return json.dumps(calls, ensure_ascii=False)


def read_turns(messages: list[dict]) -> tuple[str, list[Turn], int]:
    """(system prompt, turns, how many assistant texts beside tool_calls were dropped)."""
    system, turns, dropped = "", [], 0
    for i, message in enumerate(messages):
        where, role = f"messages[{i}]", ROLES[message["role"]]
        text = text_of(message.get("content"), f"{where}.content")
        if role == "system":
            if turns:
                raise InvalidRecord(f"{where}.role", "a system message after the conversation started; ShareGPT keeps one system prompt, first")
            system = "\n".join(filter(None, (system, text)))
        elif role == OBSERVATION and turns and turns[-1].role == OBSERVATION:
            previous = turns[-1]
            turns[-1] = previous._replace(text=previous.text + TOOL_JOIN + text)
        elif role == GPT and message.get("tool_calls"):
            dropped += bool(text.strip())
            turns.append(Turn(FUNCTION, calls_text(message["tool_calls"], f"{where}.tool_calls"), "assistant with tool_calls", f"{where}.role", f"{where}.tool_calls"))
        else:
            turns.append(Turn(role, text, message["role"], f"{where}.role", f"{where}.content"))
    return system, turns, dropped


def to_target(record: dict, dropped: Counter) -> dict:
    system, turns, beside_calls = read_turns(record["messages"])
    target = target_record(turns, system, record.get("tools"), "messages")
    dropped[CONTENT_BESIDE_CALLS] += beside_calls  # counted only once the record is known to be kept
    return target


@register_converter("openai_messages", options_schema={"type": "object", "additionalProperties": False}, example=EXAMPLE)
def convert(paths: list[Path], options: dict, skip_invalid: bool) -> Conversion:
    dropped = Counter()
    conversion = convert_records(paths, SCHEMA, lambda record: to_target(record, dropped), skip_invalid)
    conversion.dropped.update(+dropped)
    return conversion
