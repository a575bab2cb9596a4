"""The Windows activity-log grammar, as data: which events exist, their fields, and their one-line rendering.

A raw event is a JSON object such as
    {"user": "u1", "ts": "2025-05-27 08:42:30", "event": "web_visit", "domain": "github.com", "title": "..."}
and renders as `"{ts} - " + template`, e.g. `2025-05-27 08:42:30 - 访问网站 github.com 的页面 '...'`.
Training samples, model predictions and plain-text logs all use the rendered form; `parse_line` reads it back.
Raw events may carry `ts` as real systems write it (`wall_clock` turns each into the rendered form):
    "2025-05-27 08:42:30"              the wall clock already
    "2025-05-27T00:42:30.250Z"          ISO 8601: `T`, fractional seconds, `Z` or an offset such as +08:00
    1748335350 / 1748335350250          epoch seconds / milliseconds (numbers, or digits in a CSV cell)
"""

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, NamedTuple

import jsonschema

from pipelines.core.errors import InvalidRecord
from pipelines.core.schema import first_schema_error


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


def _whole(pattern: str) -> str:
    # jsonschema matches with Python's re, whose `$` also matches before a final "\n": (?!\n) closes that gap.
    return f"^{pattern}$(?!\\n)"


# Rendered logs are line-based: a text field may not hold a line break, and a blank one would not parse back.
ONE_LINE = _whole(r"[^\r\n]*\S[^\r\n]*")
FIELD_SCHEMAS = {
    "user": {"type": "string", "pattern": ONE_LINE},
    "app": {"type": "string", "pattern": ONE_LINE},
    "title": {"type": "string", "pattern": ONE_LINE},
    "domain": {"type": "string", "pattern": _whole(r"\S+")},
    "name": {"type": "string", "pattern": ONE_LINE},
    "dir": {"type": "string", "pattern": ONE_LINE},
    "duration_s": {"type": "number", "minimum": 0, "maximum": MAX_DURATION_S},
}
NUMBER_FIELDS = frozenset(name for name, schema in FIELD_SCHEMAS.items() if schema["type"] == "number")
EVENT_SCHEMA = {
    "type": "object",
    "required": ["user", "ts", "event"],
    "properties": {
        **FIELD_SCHEMAS,
        "ts": {"type": "string", "pattern": _whole(TS_PATTERN)},
        "event": {"enum": list(EVENTS)},
    },
    "allOf": [
        {"if": {"required": ["event"], "properties": {"event": {"const": name}}}, "then": {"required": list(spec.fields)}}
        for name, spec in EVENTS.items()
    ],
}
_VALIDATOR = jsonschema.Draft202012Validator(EVENT_SCHEMA)
# The fast check below is EVENT_SCHEMA as code, with the schema's own patterns searched the way jsonschema does.
_TS = re.compile(EVENT_SCHEMA["properties"]["ts"]["pattern"])
_TEXT = {name: re.compile(schema["pattern"]) for name, schema in FIELD_SCHEMAS.items() if name not in NUMBER_FIELDS}


def _field_ok(name: str, value: Any) -> bool:
    if name in NUMBER_FIELDS:
        schema = FIELD_SCHEMAS[name]
        return type(value) in (int, float) and schema["minimum"] <= value <= schema["maximum"]  # False for NaN
    return type(value) is str and _TEXT[name].search(value) is not None


def _looks_valid(record: Any) -> bool:
    """True exactly when EVENT_SCHEMA accepts the record (and its numbers are finite): ~2 µs where jsonschema
    takes ~120 µs, two minutes per 10^6 events. jsonschema runs only to explain a rejection."""
    if type(record) is not dict or "user" not in record:
        return False
    event, ts = record.get("event"), record.get("ts")
    if type(event) is not str or event not in EVENTS or type(ts) is not str or not _TS.search(ts):
        return False
    if not all(name in record for name in EVENTS[event].fields):
        return False
    return all(_field_ok(name, record[name]) for name in FIELD_SCHEMAS if name in record)


def _unschemable_problem(record: dict) -> tuple[str, str]:
    # The one thing the fast check rejects and the schema lets through: NaN passes `minimum` and `maximum`.
    name = next(name for name in NUMBER_FIELDS if name in record and not _field_ok(name, record[name]))
    return name, f"{record[name]!r} is not a finite number"


def _time(ts: str) -> datetime:
    try:
        return datetime.fromisoformat(ts)
    except ValueError as exc:  # the pattern passed, so the date itself is impossible (month 13, Feb 30)
        raise InvalidRecord("ts", f"{ts!r} is not a real date-time: {exc}") from None


EPOCH_MS_FROM = 10**11  # a larger epoch is in milliseconds: 10^11 s is the year 5138, 10^11 ms is 1973
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?")
_EPOCH = re.compile(r"\d+(\.\d+)?")
TS_FORMS = "'YYYY-MM-DD HH:MM:SS', ISO 8601 (2025-05-27T08:42:30.250+08:00) or epoch seconds / milliseconds"


def wall_clock(ts: Any, zone: tzinfo) -> Any:
    """`ts` in the rendered form, on the wall clock of `zone` (times without a zone already are); fractions of
    a second are cut, as the rendered form has none. Anything else comes back unchanged, for the schema to name."""
    if type(ts) is str and _TS.search(ts):
        return ts  # the common case, first: no parsing
    if type(ts) in (int, float) or (type(ts) is str and _EPOCH.fullmatch(ts)):
        seconds = float(ts)
        seconds = seconds / 1000 if seconds >= EPOCH_MS_FROM else seconds
        try:
            return datetime.fromtimestamp(seconds, zone).strftime("%Y-%m-%d %H:%M:%S")
        except (OverflowError, OSError, ValueError) as exc:
            raise InvalidRecord("ts", f"{ts!r} is not a time: {exc}") from None
    if type(ts) is str and _ISO.fullmatch(ts):
        time = _time(ts)
        return (time.astimezone(zone) if time.tzinfo else time).strftime("%Y-%m-%d %H:%M:%S")
    if type(ts) is str:
        raise InvalidRecord("ts", f"{ts!r} is not a timestamp: expected {TS_FORMS}")
    return ts


def validate_event(record: Any) -> datetime:
    """The event's time; InvalidRecord(field, reason) when the record breaks the schema or names no real date."""
    if not _looks_valid(record):
        raise InvalidRecord(*(first_schema_error(record, _VALIDATOR) or _unschemable_problem(record)))
    return _time(record["ts"])


def render(event: dict) -> str:
    return event["ts"] + TS_SEPARATOR + EVENTS[event["event"]].template.format_map(event)


class ParsedAction(NamedTuple):  # a tuple: scoring builds a million of them, a dataclass builds ~3x slower
    ts: str
    time: datetime
    event: str
    fields: dict[str, str]  # field -> its text as rendered (durations stay "12.50")
    target: str  # the text of EVENTS[event].target
    detail: str  # the text of EVENTS[event].detail, "" when it has none

    @classmethod
    def of(cls, ts: str, time: datetime, event: str, fields: dict[str, str]) -> "ParsedAction":
        spec = EVENTS[event]
        return cls(ts, time, event, fields, fields[spec.target], fields[spec.detail] if spec.detail else "")

    @property
    def key(self) -> tuple[str, str]:
        return self.event, self.target


def _pattern(template: str) -> re.Pattern:
    """A template's regex: literals escaped, each `{field}` a lazy group; numbers must look like `%.2f`."""
    parts, last = [], 0
    for match in re.finditer(r"\{(\w+)(?::[^}]*)?\}", template):
        parts.append(re.escape(template[last : match.start()]))
        parts.append(rf"(?P<{match[1]}>\d+\.\d\d)" if match[1] in NUMBER_FIELDS else rf"(?P<{match[1]}>.+?)")
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts) + "$")


# The literal text before an event's first field tells a broken line of a known action from an unknown action.
_PREFIXES = {name: spec.template.split("{")[0].rstrip() for name, spec in EVENTS.items()}
_PATTERNS = {name: _pattern(spec.template) for name, spec in EVENTS.items()}
_LINE = re.compile(rf"({TS_PATTERN}){re.escape(TS_SEPARATOR)}(.*)")


def _parse(text: str) -> ParsedAction | tuple[str, str]:
    """The parsed line, or (field, reason) of what is wrong: scoring reads many non-lines, exceptions cost."""
    line = _LINE.fullmatch(text.strip())
    if line is None:
        return "ts", "line does not start with a 'YYYY-MM-DD HH:MM:SS - ' timestamp"
    action = line[2]
    for name, pattern in _PATTERNS.items():
        match = pattern.match(action)
        if match:
            return ParsedAction.of(line[1], _time(line[1]), name, match.groupdict())
    for name, prefix in _PREFIXES.items():
        if action.startswith(prefix):
            return name, f"broken fields, expected {EVENTS[name].template!r}: {action!r}"
    return "event", f"unknown action text: {action!r}"


def parse_action(text: str) -> ParsedAction:
    """A rendered line back into its parts; InvalidRecord(field, reason) says what is wrong with it."""
    parsed = _parse(text)
    if not isinstance(parsed, ParsedAction):
        raise InvalidRecord(*parsed)
    return parsed


def parse_line(text: str) -> ParsedAction | None:
    """The parsed action, or None for anything that is not one rendered event line."""
    try:
        parsed = _parse(text)
    except InvalidRecord:  # a real-looking timestamp of an impossible date
        return None
    return parsed if isinstance(parsed, ParsedAction) else None


def to_event(action: ParsedAction, user: str) -> dict:
    """The raw event a parsed line came from (durations back to numbers), for plain-text logs."""
    fields = {name: float(text) if name in NUMBER_FIELDS else text for name, text in action.fields.items()}
    return {"user": user, "ts": action.ts, "event": action.event, **fields}
