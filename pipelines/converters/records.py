"""Example, Conversion and the record-wise conversion loop shared by the converters (target schema: see __init__)."""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from pipelines.core.errors import InvalidRecord, RecordError
from pipelines.core.progress import progress
from pipelines.core.readers import iter_json_records
from pipelines.core.schema import first_schema_error


@dataclass
class Example:
    record: dict
    group: str = ""  # split strategies keep a group's samples together (chronological: the user)
    order: Any = None
    meta: dict | None = None  # what evaluators need but the model must not see; written to the split's sidecar


@dataclass
class Conversion:
    examples: list[Example]
    skipped: Counter = field(default_factory=Counter)  # reason -> count, filled only with skip_invalid



def convert_records(
    paths: Iterable[Path],
    schema: dict,
    to_target: Callable[[dict], dict],
    skip_invalid: bool,
) -> Conversion:
    """Validate each record of JSON/JSONL files against `schema` and map it with `to_target`."""
    validator = jsonschema.Draft202012Validator(schema)
    conversion = Conversion(examples=[])
    for path in paths:
        for location, record in progress(iter_json_records(path), desc=Path(path).name):
            problem = first_schema_error(record, validator)
            if problem is None:
                try:
                    conversion.examples.append(Example(record=to_target(record)))
                    continue
                except InvalidRecord as exc:
                    problem = (exc.field, exc.reason)
            if not skip_invalid:
                raise RecordError(str(path), location, *problem)
            conversion.skipped[f"{problem[0]}: {problem[1]}"] += 1
    return conversion
