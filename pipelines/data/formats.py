"""`domaintune formats`: every accepted input format, read from the converters themselves so it cannot drift.

Each entry is a registered converter: its name, the first line of its module's docstring, the options its
schema allows, and the one-record example it declares (a test converts every declared example).
"""

import json
import sys
from dataclasses import dataclass

from pipelines.core.registry import CONVERTERS


@dataclass(frozen=True)
class InputFormat:
    name: str
    summary: str
    options: list[str]
    example: str | None  # one input record as JSON, None when the converter declares none


def input_formats() -> list[InputFormat]:
    formats = []
    for name in CONVERTERS.names():
        entry = CONVERTERS.get(name)
        doc = sys.modules[entry.fn.__module__].__doc__ or ""
        example = None if entry.example is None else json.dumps(entry.example, ensure_ascii=False)
        options = sorted(entry.options_schema.get("properties", {}))
        formats.append(InputFormat(name, doc.strip().splitlines()[0] if doc.strip() else "", options, example))
    return formats
