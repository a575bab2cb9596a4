"""Windows activity logs (JSON Lines, CSV or rendered text) -> next-action samples.

Per user, events are put in time order (input order breaks ties, so records may arrive shuffled and spread
over files) and cut into sessions at pauses longer than `session_gap_minutes`. Inside a session every event
after the first `context_events` becomes one sample: input = the K rendered lines before it, output = its own
rendered line. Samples carry group = user and order = (ts, input position) for the chronological split.

Options (the task's `source.options`):
    context_events: 10        # K, the lines of history the model sees
    session_gap_minutes: 30   # a longer pause starts a new session; history never crosses it
    user: u1                  # plain-text logs only: whose events they are (default: the file's stem)
    timezone: Asia/Shanghai   # the wall clock samples show; ISO 8601 times with Z/offset and epoch times convert to it
Timestamps may come as real systems write them (pipelines/behavior/events.py: wall_clock). Exact duplicate
events (same user, time, event and fields: collectors that log twice) are removed and counted.
"""

import csv
import io
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import count
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pipelines.behavior.events import (
    EVENT_SCHEMA,
    NUMBER_FIELDS,
    TS_SEPARATOR,
    parse_action,
    render,
    to_event,
    validate_event,
    wall_clock,
)
from pipelines.behavior.samples import (
    DEFAULTS,
    INSTRUCTION,
    OPTIONS_SCHEMA,
    decode_json,
    resolve_options,
)
from pipelines.converters.records import Conversion
from pipelines.core.errors import DomaintuneError, InvalidRecord, RecordError
from pipelines.core.progress import progress
from pipelines.core.readers import iter_lines, read_text
from pipelines.core.registry import register_converter

CSV_REQUIRED = EVENT_SCHEMA["required"]
DEFAULT_ZONE = ZoneInfo(DEFAULTS["timezone"])
LINE_SEPARATOR = TS_SEPARATOR.encode()  # between a rendered line's timestamp and its action
DUPLICATE = "duplicate event: same user, time, event and fields as one before it (logged twice)"


class LoggedEvent:
    """One event: its rendered line, its position in the input and its user, in 56 bytes plus the line.

    The line (UTF-8: ~40% smaller than a str of these mostly-ASCII lines) starts with the timestamp, so the time is
    read from it instead of being a second string and a tuple around both (~840 MB per 10^7 events). Events order
    by (time, seq), equal times in the order they were logged, so a sample's order can be its event itself.
    """

    __slots__ = ("line", "seq", "user")

    def __init__(self, seq: int, user: str, line: bytes):
        self.seq, self.user, self.line = seq, user, line

    @property
    def stamp(self) -> bytes:
        return self.line.partition(LINE_SEPARATOR)[0]  # "YYYY-MM-DD HH:MM:SS" sorts as text in time order

    @property
    def ts(self) -> str:
        return self.stamp.decode()

    def __lt__(self, other: "LoggedEvent") -> bool:
        return (self.stamp, self.seq) < (other.stamp, other.seq)


Rows = Iterable[tuple[int, Any]]  # (line number, what `decode` turns into a raw event)


def _lines(path: Path) -> Rows:
    return iter_lines(path)


def _jsonl(path: Path, options: dict) -> tuple[Rows, Callable[[Any], Any]]:
    return _lines(path), decode_json


def _txt(path: Path, options: dict) -> tuple[Rows, Callable[[Any], Any]]:
    user = options.get("user") or path.stem
    return _lines(path), lambda line: to_event(parse_action(line), user)


def _csv(path: Path, options: dict) -> tuple[Rows, Callable[[Any], Any]]:
    reader = csv.reader(io.StringIO(read_text(path), newline=""), strict=True)
    header = _csv_row(path, reader)
    missing = [name for name in CSV_REQUIRED if name not in header]
    if missing:
        raise RecordError(str(path), "line 1", "header", f"missing column(s) {', '.join(missing)}; columns: {', '.join(header)}")

    def rows() -> Rows:
        while (row := _csv_row(path, reader)) is not None:
            if any(cell.strip() for cell in row):
                yield reader.line_num, row

    return rows(), lambda row: _csv_record(header, row)


def _csv_row(path: Path, reader) -> list[str] | None:
    try:
        return next(reader, None)
    except csv.Error as exc:
        raise RecordError(str(path), f"line {reader.line_num}", "-", f"not valid CSV: {exc}") from None


def _csv_record(header: list[str], row: list[str]) -> dict:
    if len(row) != len(header):
        raise InvalidRecord("-", f"expected {len(header)} columns as in the header, got {len(row)}")
    # An empty cell is an absent field; numbers are typed so the schema checks them as JSON would.
    record = {name: cell for name, cell in zip(header, row) if cell != ""}
    for name in NUMBER_FIELDS & record.keys():
        try:
            record[name] = float(record[name])
        except ValueError:
            pass  # left as text, so the schema reports "is not of type 'number'"
    return record


FORMATS = {".jsonl": _jsonl, ".csv": _csv, ".txt": _txt}


def read_events(paths: Iterable[Path], options: dict, skip_invalid: bool) -> tuple[list[LoggedEvent], Conversion]:
    """Every valid event of every file, rendered; bad records stop the run or, with skip_invalid, are counted
    in the (still sample-less) Conversion returned beside them."""
    events, skipped, seq = [], Conversion(examples=[]), count()
    zone = options.get("zone", DEFAULT_ZONE)
    for path in map(Path, paths):
        if path.suffix not in FORMATS:
            raise DomaintuneError(f"{path}: unsupported log format {path.suffix!r}; use one of {', '.join(FORMATS)}")
        rows, decode = FORMATS[path.suffix](path, options)
        for number, raw in progress(rows, desc=path.name, unit="event"):
            try:
                record = decode(raw)
                if type(record) is dict and "ts" in record:
                    record["ts"] = wall_clock(record["ts"], zone)
                validate_event(record)
            except InvalidRecord as exc:
                if not skip_invalid:
                    raise RecordError(str(path), f"line {number}", exc.field, exc.reason) from None
                skipped.skip(str(path), f"line {number}", f"{exc.field}: {exc.reason}")
                continue
            # One string per user, not per event: 55 MB per 10^6 events.
            events.append(LoggedEvent(next(seq), sys.intern(record["user"]), render(record).encode()))
    return events, skipped


def without_duplicates(timeline: list[LoggedEvent]) -> list[LoggedEvent]:
    """A user's time-ordered events less exact repeats (the rendered line holds time, event and fields).
    Repeats share a timestamp, so only the lines of the current second are remembered, not the whole log."""
    kept, second, lines = [], None, set()
    for event in timeline:
        if event.stamp != second:
            second, lines = event.stamp, set()
        if event.line not in lines:
            lines.add(event.line)
            kept.append(event)
    return kept


def sessions(events: Iterable[LoggedEvent], gap_minutes: float) -> Iterator[list[LoggedEvent]]:
    """Per user (sorted), the time-ordered runs of distinct events with no pause longer than `gap_minutes`."""
    timelines: dict[str, list[LoggedEvent]] = defaultdict(list)
    for event in events:
        timelines[event.user].append(event)
    for user in sorted(timelines):
        timeline = without_duplicates(sorted(timelines[user]))
        # Times are parsed again rather than kept: a datetime per event is 56 MB per 10^6 events held to the end.
        times = map(datetime.fromisoformat, (event.ts for event in timeline))
        start, previous = 0, next(times)
        for i, current in enumerate(times, start=1):
            if (current - previous).total_seconds() > gap_minutes * 60:
                yield timeline[start:i]
                start = i
            previous = current
        yield timeline[start:]


class Session(list):
    """One session's events, with what its samples share: K, and the records placeholders replaced (rare)."""

    __slots__ = ("context_events", "replaced")

    def __init__(self, events: list[LoggedEvent], context_events: int):
        super().__init__(events)
        self.context_events = context_events
        self.replaced: dict[int, dict] = {}


class SessionSample:
    """An Example (pipelines/converters/records.py) read through its session: the record is built each time it is
    read, so a sample holds no text of its own (its K lines of input would be ~1.5 kB, 1.5 GB per 10^6 samples).
    Two slots, 48 bytes: 8.5 million of them for 10^7 events."""

    __slots__ = ("index", "session")
    meta = origin = near_key = None  # no sidecar; built from a stream, not read from one record; exact dedup only

    def __init__(self, session: Session, index: int):
        self.session, self.index = session, index

    @property
    def record(self) -> dict:
        session, index = self.session, self.index
        if index in session.replaced:
            return session.replaced[index]
        history = session[index - session.context_events : index]
        return {"instruction": INSTRUCTION, "input": b"\n".join(event.line for event in history).decode(), "output": session[index].line.decode()}

    @record.setter
    def record(self, value: dict) -> None:  # a record with its {{placeholders}} filled (pipelines/data/placeholders.py)
        self.session.replaced[self.index] = value

    @property
    def group(self) -> str:
        return self.session[self.index].user

    @property
    def order(self) -> LoggedEvent:
        return self.session[self.index]  # compares as (ts, seq)


def samples(events: list[LoggedEvent], context_events: int) -> Iterator[SessionSample]:
    session = Session(events, context_events)
    return (SessionSample(session, i) for i in range(context_events, len(session)))


EXAMPLE = {"user": "u1", "ts": "2025-05-27T08:42:30.250+08:00", "event": "web_visit", "domain": "github.com", "title": "Pull requests"}


@register_converter("behavior_log", options_schema=OPTIONS_SCHEMA, example=EXAMPLE)
def convert(paths: list[Path], options: dict, skip_invalid: bool) -> Conversion:
    options = resolve_options(options)
    events, conversion = read_events(paths, options, skip_invalid)
    distinct = 0
    for session in sessions(events, options["session_gap_minutes"]):
        distinct += len(session)
        conversion.examples.extend(samples(session, options["context_events"]))
    if len(events) > distinct:
        conversion.skipped[DUPLICATE] = len(events) - distinct
    return conversion
