"""Trajectory days: Alpaca JSON / JSONL records whose `output` must be one day in the trajectory grammar
(pipelines/trajectory/grammar.py). A bad day is reported by file, record and the offending line of its output:

    data/raw/trajectory/days.json: record 7: output: line 9: expected an activity line '[HH:MM-HH:MM] 活动 @ 地点 (经度, 纬度)': '...'
"""

from pathlib import Path

from pipelines.converters.alpaca import SCHEMA, to_target
from pipelines.converters.records import Conversion, convert_records
from pipelines.core.errors import InvalidRecord
from pipelines.core.registry import register_converter
from pipelines.trajectory.grammar import DayFormatError, parse


def day_target(record: dict) -> dict:
    try:
        parse(record["output"])
    except DayFormatError as exc:
        raise InvalidRecord("output", str(exc)) from None
    return to_target(record)


@register_converter("trajectory", options_schema={"type": "object", "additionalProperties": False})
def convert(paths: list[Path], options: dict, skip_invalid: bool) -> Conversion:
    return convert_records(paths, SCHEMA, day_target, skip_invalid)
