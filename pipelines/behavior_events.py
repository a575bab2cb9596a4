"""The Windows activity-log grammar, as data: which events exist, their fields, and their one-line rendering.

A raw event is a JSON object such as
    {"user": "u1", "ts": "2025-05-27 08:42:30", "event": "web_visit", "domain": "github.com", "title": "..."}
and renders as `"{ts} - " + template`, e.g. `2025-05-27 08:42:30 - 访问网站 github.com 的页面 '...'`.
Training samples, model predictions and plain-text logs all use the rendered form; `parse_line` reads it back.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jsonschema

from .converters import InvalidRecord, first_schema_error


@dataclass(frozen=True)
class EventType:
    fields: tuple[str, ...]  # required raw fields
    template: str  # rendered text after "{ts} - "
    target: str  # the field naming what the action is about (the app, site or file)
    detail: str | None  # the field that refines it; None when the target says everything


EVENTS = {
    "app_start": EventType(("app",), "启动应用: {app}", "app", None),
    "app_close": EventType(("app",), "关闭应用: {app}", "app", None),
    "window_switch": EventType(("app", "title"), "切换到窗口: {title} (应用: {app})", "app", "title"),
    "web_visit": EventType(("domain", "title"), "访问网站 {domain} 的页面 '{title}'", "domain", "title"),
    "file_access": EventType(("name", "dir"), "访问文件: {name} (位于 {dir})", "name", "dir"),
    "app_usage": EventType(("app", "duration_s"), "使用应用: {app} (时长: {duration_s:.2f}秒)", "app", "duration_s"),
}
TS_SEPARATOR = " - "
TS_PATTERN = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"  # sorts as text in time order, which the converter relies on
MAX_DURATION_S = 366 * 86400  # one usage period longer than a year is a broken logger, not a habit

# Rendered logs are line-based, so a text field may not hold a line break, and a blank one renders unparseable.
ONE_LINE = r"^[^\r\n]*\S[^\r\n]*$"
FIELD_SCHEMAS = {
    "user": {"type": "string", "pattern": ONE_LINE},
    "app": {"type": "string", "pattern": ONE_LINE},
    "title": {"type": "string", "pattern": ONE_LINE},
    "domain": {"type": "string", "pattern": r"^\S+$"},
    "name": {"type": "string", "pattern": ONE_LINE},
    "dir": {"type": "string", "pattern": ONE_LINE},
    "duration_s": {"type": "number", "minimum": 0, "maximum": MAX_DURATION_S},
}
EVENT_SCHEMA = {
    "type": "object",
    "required": ["user", "ts", "event"],
    "properties": {
        **FIELD_SCHEMAS,
        "ts": {"type": "string", "pattern": f"^{TS_PATTERN}$"},
        "event": {"enum": list(EVENTS)},
    },
    "allOf": [
        {"if": {"required": ["event"], "properties": {"event": {"const": name}}}, "then": {"required": list(spec.fields)}}
        for name, spec in EVENTS.items()
    ],
}
_VALIDATOR = jsonschema.Draft202012Validator(EVENT_SCHEMA)
_TS = re.compile(TS_PATTERN)
_ONE_LINE = re.compile(ONE_LINE)
_NO_SPACE = re.compile(r"\S+")


def _field_ok(name: str, value: Any) -> bool:
    """FIELD_SCHEMAS as code: jsonschema costs ~120 µs a record, two minutes per 10^6 events; this ~2 µs."""
    if name == "duration_s":
        return type(value) in (int, float) and 0 <= value <= MAX_DURATION_S
    if type(value) is not str:
        return False
    return bool(_NO_SPACE.fullmatch(value) if name == "domain" else _ONE_LINE.match(value))


def _looks_valid(record: Any) -> bool:
    if type(record) is not dict:
        return False
    event, ts = record.get("event"), record.get("ts")
    if type(event) is not str or event not in EVENTS or type(ts) is not str or not _TS.fullmatch(ts):
        return False
    if not all(name in record for name in EVENTS[event].fields) or "user" not in record:
        return False
    return all(_field_ok(name, record[name]) for name in FIELD_SCHEMAS if name in record)


def _unschemable_problem(record: dict) -> tuple[str, str]:
    # JSON Schema's `minimum`/`maximum` let NaN through; the fast check does not.
    name = next(name for name in FIELD_SCHEMAS if name in record and not _field_ok(name, record[name]))
    return name, f"{record[name]!r} is not a finite number"


def validate_event(record: Any) -> datetime:
    """The event's time; InvalidRecord(field, reason) when the record breaks the schema or names no real date."""
    if not _looks_valid(record):
        raise InvalidRecord(*(first_schema_error(record, _VALIDATOR) or _unschemable_problem(record)))
    try:
        return datetime.fromisoformat(record["ts"])
    except ValueError as exc:  # the pattern passed, so the date itself is impossible (month 13, Feb 30)
        raise InvalidRecord("ts", f"{record['ts']!r} is not a real date-time: {exc}") from None


def render(event: dict) -> str:
    return event["ts"] + TS_SEPARATOR + EVENTS[event["event"]].template.format_map(event)


@dataclass(frozen=True, slots=True)
class ParsedAction:
    ts: str
    time: datetime
    event: str
    fields: dict[str, str]  # field -> its text as rendered (durations stay "12.50")

    @property
    def target(self) -> str:
        return self.fields[EVENTS[self.event].target]

    @property
    def detail(self) -> str:
        detail = EVENTS[self.event].detail
        return self.fields[detail] if detail else ""

    @property
    def key(self) -> tuple[str, str]:
        return self.event, self.target


def _pattern(template: str) -> re.Pattern:
    """A template's regex: literals escaped, each `{field}` a lazy group; durations must look like `%.2f`."""
    parts, last = [], 0
    for match in re.finditer(r"\{(\w+)(?::[^}]*)?\}", template):
        parts.append(re.escape(template[last : match.start()]))
        parts.append(rf"(?P<{match[1]}>\d+\.\d\d)" if match[1] == "duration_s" else rf"(?P<{match[1]}>.+?)")
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts) + "$")


# The literal text before an event's first field tells a broken line of a known action from an unknown action.
_PREFIXES = {name: spec.template.split("{")[0].rstrip() for name, spec in EVENTS.items()}
_PATTERNS = {name: _pattern(spec.template) for name, spec in EVENTS.items()}
_LINE = re.compile(rf"({TS_PATTERN}){re.escape(TS_SEPARATOR)}(.*)")


def parse_action(text: str) -> ParsedAction:
    """A rendered line back into its parts; InvalidRecord(field, reason) says what is wrong with it."""
    line = _LINE.fullmatch(text.strip())
    if line is None:
        raise InvalidRecord("ts", "line does not start with a 'YYYY-MM-DD HH:MM:SS - ' timestamp")
    try:
        time = datetime.fromisoformat(line[1])
    except ValueError as exc:
        raise InvalidRecord("ts", f"{line[1]!r} is not a real date-time: {exc}") from None
    action = line[2]
    for name, pattern in _PATTERNS.items():
        match = pattern.match(action)
        if match:
            return ParsedAction(line[1], time, name, match.groupdict())
    for name, prefix in _PREFIXES.items():
        if action.startswith(prefix):
            raise InvalidRecord(name, f"broken fields, expected {EVENTS[name].template!r}: {action!r}")
    raise InvalidRecord("event", f"unknown action text: {action!r}")


def parse_line(text: str) -> ParsedAction | None:
    """The parsed action, or None for anything that is not one rendered event line."""
    try:
        return parse_action(text)
    except InvalidRecord:
        return None


def to_event(action: ParsedAction, user: str) -> dict:
    """The raw event a parsed line came from (durations back to numbers), for plain-text logs."""
    fields = dict(action.fields)
    if "duration_s" in fields:
        fields["duration_s"] = float(fields["duration_s"])
    return {"user": user, "ts": action.ts, "event": action.event, **fields}
