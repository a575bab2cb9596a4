"""Example, Conversion and the record-wise conversion loop shared by the converters (target schema: see __init__)."""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from pipelines.core.errors import InvalidRecord, RecordError
from pipelines.core.progress import progress
from pipelines.core.record_files import iter_records
from pipelines.core.schema import first_schema_error

# LLaMA-Factory's media columns: refused, since the tasks' models read text only.
MULTIMODAL = ("images", "videos", "audios")
MULTIMODAL_REASON = "multimodal columns are not supported by this task's model"


# A string with something besides whitespace: the JSON Schema every converter uses for a required text field.
NON_EMPTY = {"type": "string", "pattern": r"\S"}


@dataclass(slots=True)
class Example:
    record: dict
    group: str = ""  # split strategies keep a group's samples together (chronological: the user)
    order: Any = None
    meta: dict | None = None  # what evaluators need but the model must not see; written to the split's sidecar
    origin: tuple[str, str] | None = None  # (file, "record 3" / "line 7" / "row 2") it was read from, to name it if dropped
    near_key: str | None = None  # records sharing a key are near duplicates: the build keeps the first


@dataclass
class Conversion:
    examples: list[Example]
    # reason -> count: invalid records (only with skip_invalid) and records a converter drops itself
    skipped: Counter = field(default_factory=Counter)
    invalid: int = 0  # records skipped as invalid (skip_invalid)
    skipped_at: list[tuple[str, str, str]] = field(default_factory=list)  # (file, location, reason) of each of them
    dropped: Counter = field(default_factory=Counter)  # input field not carried over -> records that had it

    def skip(self, path: str, location: str, reason: str) -> None:
        """Count an invalid record under its reason and keep where it was, so the build can name it."""
        self.skipped[reason] += 1
        self.invalid += 1
        self.skipped_at.append((path, location, reason))


def unschemed_fields(value: Any, schema: dict, path: str = "") -> set[str]:
    """Paths of the keys `schema` names nowhere ("note", "conversations[].weight"): what a converter does not
    carry over, so the build can say so. Only `properties` and `items` are followed; that is all converters use."""
    found = set()
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key in schema["properties"]:
                found |= unschemed_fields(item, schema["properties"][key], where)
            elif key not in MULTIMODAL:  # refused above when not empty
                found.add(where)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            found |= unschemed_fields(item, schema["items"], f"{path}[]")
    return found


def convert_records(
    paths: Iterable[Path],
    schema: dict,
    to_target: Callable[[dict], dict | Example],
    skip_invalid: bool,
) -> Conversion:
    """Validate each record of the files (any type record_files reads) against `schema` and map it with
    `to_target`, which returns the target record, or an Example when the record also brings meta for the sidecar."""
    validator = jsonschema.Draft202012Validator(schema)
    conversion = Conversion(examples=[])
    for path in paths:
        for location, record in progress(iter_records(path), desc=Path(path).name):
            problem = first_schema_error(record, validator)
            if problem is None and isinstance(record, dict):
                problem = next(((key, MULTIMODAL_REASON) for key in MULTIMODAL if record.get(key)), None)
            if problem is None:
                try:
                    target = to_target(record)
                    example = target if isinstance(target, Example) else Example(record=target)
                    example.origin = (str(path), location)
                    conversion.examples.append(example)
                    conversion.dropped.update(unschemed_fields(record, schema))
                    continue
                except InvalidRecord as exc:
                    problem = (exc.field, exc.reason)
            if not skip_invalid:
                raise RecordError(str(path), location, *problem)
            conversion.skip(str(path), location, f"{problem[0]}: {problem[1]}")
    return conversion
