"""What training and the live dispatch demo must agree on: the instruction, the options, and how a JSON line is read."""

import json
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.behavior.events import ONE_LINE
from pipelines.core.errors import DomaintuneError, InvalidRecord
from pipelines.core.readers import (
    LONE_SURROGATE,
    SURROGATE_ESCAPE,
    TOO_DEEP,
    lone_surrogate,
)
from pipelines.core.schema import schema_problems

INSTRUCTION = "下面是一位用户最近在 Windows 电脑上的操作记录，每行一个操作，按时间先后排列。请预测该用户的下一个操作，只输出一行，格式与记录相同。"

DEFAULTS = {"context_events": 10, "session_gap_minutes": 30, "timezone": "Asia/Shanghai"}

OPTIONS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "context_events": {"type": "integer", "minimum": 1},
        "session_gap_minutes": {"type": "number", "exclusiveMinimum": 0},
        "user": {"type": "string", "pattern": ONE_LINE},
        "timezone": {"type": "string", "description": "IANA zone whose wall clock samples show (ISO 8601 with Z/offset and epoch times are converted)"},
    },
}


def _reject_constant(name: str):
    # Python's json reads NaN/Infinity, which are not JSON and would render as "nan秒".
    raise InvalidRecord("-", f"not valid JSON: {name} is not a JSON value")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)  # built once: json.loads builds one per call


def decode_json(text: str) -> Any:
    try:
        record = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise InvalidRecord("-", f"not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise InvalidRecord("-", TOO_DEEP) from None
    if SURROGATE_ESCAPE.search(text) and (field := lone_surrogate(record)) is not None:
        raise InvalidRecord(field, LONE_SURROGATE)
    return record


def resolve_options(options: dict) -> dict:
    problems = schema_problems(options, OPTIONS_SCHEMA)
    if problems:
        raise DomaintuneError("converter behavior_log: invalid options: " + "; ".join(problems))
    options = {**DEFAULTS, **options}
    try:
        options["zone"] = ZoneInfo(options["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise DomaintuneError(f"converter behavior_log: invalid options: timezone: unknown time zone {options['timezone']!r}; use an IANA name such as Asia/Shanghai") from None
    return options
