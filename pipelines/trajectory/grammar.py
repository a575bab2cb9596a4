"""The trajectory task's day format: parse a generated day into a `Day`, and render a `Day` back to text.

    # 此人个体基本信息
    	[陆家嘴活动人群画像]: 商务人群
    	[年龄]: 30岁
    	[性别]: 男
    	[职业]: 基金经理
    # 活动轨迹
    	[08:10-08:40] 通勤 @ 陆家嘴站 (121.5027, 31.2381)
    	[08:45-12:00] 工作 @ 上海中心大厦 (121.5055, 31.2335)
    # 主观评价
    	free text, any number of lines

Structural lines accept full-width colons, brackets, parentheses, commas and @, and any spacing; `render`
writes the form above. Persona fields other than the four are kept in `Day.extra_fields` (a model or a data
source may add [居住地]); `labels` maps other spellings of the four labels to them ([人群画像] -> the first).

A day is ordered, not bounded by 24:00: clock readings are laid on one timeline in order, and a reading more
than 12 hours before the one before it is the next day ([23:40-00:10] lasts 30 minutes); GTFS-style readings
such as 25:10 are taken as written. The grammar checks shape only: a smaller step back stays a step back, so
the evaluator's `temporal_ok`, not the format check, reports it.
"""

import re
from dataclasses import dataclass, field

from pipelines.core.errors import DomaintuneError

SECTIONS = ("此人个体基本信息", "活动轨迹", "主观评价")
DAY_MINUTES = 24 * 60
HALF_DAY = 12 * 60
FIELDS = {"persona": "陆家嘴活动人群画像", "age": "年龄", "gender": "性别", "occupation": "职业"}

# Full-width forms a model (or a Chinese keyboard) writes for the structural characters.
HALF_WIDTH = str.maketrans({"：": ":", "［": "[", "］": "]", "【": "[", "】": "]", "（": "(", "）": ")", "，": ",", "＠": "@", "－": "-", "–": "-", "—": "-", "～": "-", "~": "-"})
FIELD_LINE = re.compile(r"\[\s*(?P<label>[^\]]+?)\s*\]\s*:\s*(?P<value>.*)")
AGE = re.compile(r"(?P<years>\d{1,3})\s*岁?")
NUMBER = r"-?\d+(?:\.\d+)?"
ACTIVITY_LINE = re.compile(
    r"\[\s*(?P<start>\d{1,2}\s*:\s*\d{2})\s*-\s*(?P<end>\d{1,2}\s*:\s*\d{2})\s*\]"
    r"\s*(?P<activity>[^@\[\]\s][^@\[\]]*?)\s*@\s*(?P<place>\S.*?)"
    rf"\s*\(\s*(?P<lon>{NUMBER})\s*,\s*(?P<lat>{NUMBER})\s*\)"
)


@dataclass(frozen=True)
class Activity:
    start: int  # minutes after midnight
    end: int
    activity: str
    place: str
    lon: float
    lat: float
    line: int = field(default=0, compare=False)  # of the day's text (1-based), for messages; 0 when built in code


@dataclass(frozen=True)
class Day:
    persona: str
    age: int
    gender: str
    occupation: str
    activities: tuple[Activity, ...]
    comment: str
    extra_fields: tuple[tuple[str, str], ...] = ()  # persona fields beyond the four, (label, value) in order


class DayFormatError(DomaintuneError):
    """A day that does not follow the grammar, located by line (1-based, in the text given to `parse`)."""

    def __init__(self, line_number: int, line: str, reason: str):
        self.line_number, self.line, self.reason = line_number, line, reason
        super().__init__(f"line {line_number}: {reason}: {line.strip()!r}")


def half_width(text: str) -> str:
    return text.translate(HALF_WIDTH)


def name_key(name: str) -> str:
    """Names and labels compare without spacing, case or full-width punctuation: 星巴克（上海中心店） is 星巴克(上海中心店)."""
    return "".join(half_width(name).split()).casefold()


def parse_clock(text: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if minutes >= 60:
        raise ValueError(f"minute {minutes} is not below 60")
    return hours * 60 + minutes


def clock(minutes: int) -> str:
    """The wall clock of a point on the day's timeline: 1450 (after midnight) reads 00:10."""
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def label(a: Activity) -> str:
    """How messages name an activity: `[08:10-08:40] 通勤 @ 陆家嘴站`."""
    return f"[{clock(a.start)}-{clock(a.end)}] {a.activity} @ {a.place}"


def unroll(readings: list[int]) -> list[int]:
    """Clock readings in order -> minutes on one timeline: a reading under 24:00 more than 12 hours before the
    previous point is the next day; a smaller step back is kept as written for temporal_ok to report."""
    points: list[int] = []
    offset = 0
    for reading in readings:
        if reading >= DAY_MINUTES:
            points.append(reading)
            continue
        if points and reading + offset <= points[-1] - HALF_DAY:
            offset += DAY_MINUTES
        points.append(reading + offset)
    return points


def parse(text: str, labels: dict[str, str] | None = None) -> Day:
    """The day in `text`; a DayFormatError names the first line that breaks the grammar. `labels` maps other
    spellings of the persona field labels to the grammar's (data/trajectory/synonyms.yaml `fields`)."""
    lines = text.splitlines()
    sections: list[tuple[tuple[int, str], list[tuple[int, str]]]] = []  # (header, body), lines as (number, text)
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            expected = SECTIONS[len(sections)] if len(sections) < len(SECTIONS) else None
            name = stripped.lstrip("#").strip()
            if name != expected:
                reason = f"expected section '# {expected}'" if expected else "a fourth section"
                raise DayFormatError(number, line, reason)
            sections.append(((number, line), []))
        elif not sections:
            raise DayFormatError(number, line, f"text before the first section '# {SECTIONS[0]}'")
        else:
            sections[-1][1].append((number, line))
    if len(sections) < len(SECTIONS):
        raise DayFormatError(max(1, len(lines)), lines[-1] if lines else "", f"missing section '# {SECTIONS[len(sections)]}' (end of text)")
    fields = parse_fields(*sections[0], labels or {})
    activities = parse_activities(*sections[1])
    comment = "\n".join(line.strip() for _, line in sections[2][1])
    return Day(**fields, activities=activities, comment=comment)


def parse_fields(header: tuple[int, str], body: list[tuple[int, str]], synonyms: dict[str, str]) -> dict:
    labels = {label: key for key, label in FIELDS.items()}
    values: dict = {}
    extra = []
    for number, line in body:
        match = FIELD_LINE.fullmatch(half_width(line.strip()))
        if not match:
            raise DayFormatError(number, line, "expected a field line '[名称]: 值'")
        label, value = match["label"], match["value"].strip()
        label = synonyms.get(name_key(label), label)
        if label not in labels:
            extra.append((label, value))
            continue
        if labels[label] in values:
            raise DayFormatError(number, line, f"field [{label}] given twice")
        if not value:
            raise DayFormatError(number, line, f"field [{label}] is empty")
        if labels[label] == "age":
            age = AGE.fullmatch(value)
            if not age:
                raise DayFormatError(number, line, "age must be a number of years, e.g. '30岁'")
            value = int(age["years"])
        values[labels[label]] = value
    missing = [f"[{label}]" for key, label in FIELDS.items() if key not in values]
    if missing:
        raise DayFormatError(*header, "section lacks " + ", ".join(missing))
    return {**values, "extra_fields": tuple(extra)}


def parse_activities(header: tuple[int, str], body: list[tuple[int, str]]) -> tuple[Activity, ...]:
    lines = []
    for number, line in body:
        match = ACTIVITY_LINE.fullmatch(half_width(line.strip()))
        if not match:
            raise DayFormatError(number, line, "expected an activity line '[HH:MM-HH:MM] 活动 @ 地点 (经度, 纬度)'")
        try:
            lines.append((number, match, parse_clock(match["start"]), parse_clock(match["end"])))
        except ValueError as exc:
            raise DayFormatError(number, line, str(exc)) from None
    if not lines:
        raise DayFormatError(*header, "section has no activity line")
    points = unroll([reading for _, _, start, end in lines for reading in (start, end)])
    return tuple(
        Activity(points[2 * i], points[2 * i + 1], match["activity"].strip(), match["place"].strip(), float(match["lon"]), float(match["lat"]), number)
        for i, (number, match, _, _) in enumerate(lines)
    )


def render(day: Day) -> str:
    lines = [f"# {SECTIONS[0]}"]
    values = {"persona": day.persona, "age": f"{day.age}岁", "gender": day.gender, "occupation": day.occupation}
    lines += [f"\t[{label}]: {values[key]}" for key, label in FIELDS.items()]
    lines += [f"\t[{label}]: {value}" for label, value in day.extra_fields]
    lines.append(f"# {SECTIONS[1]}")
    lines += [f"\t{label(a)} ({a.lon:.4f}, {a.lat:.4f})" for a in day.activities]
    lines.append(f"# {SECTIONS[2]}")
    lines += [f"\t{line}" for line in day.comment.splitlines()]
    return "\n".join(lines)
